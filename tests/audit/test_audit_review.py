"""Reviewer decisions: stored as reviewer tags, kept in the history, never overturned by a later classifier run; and
the review queue's selection."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from tracker.audit import log as auditlog
from tracker.audit import review
from tracker.classify.rules import RULES_VERSION
from tracker.ingest.write import classify_devices, write_records
from tracker.records import DeviceRecord
from tracker.store.models import AuditLog, Device, Revision, Tag
from tracker.store.tags import effective_codes
from tracker.store.write import WriteContext

LUNG = ("肺结节CT影像辅助检测软件", "基于深度学习的肺结节检测")
ECG = ("心电分析软件", None)
CT_MR = ("CT/MR影像辅助诊断软件", None)
HIP = ("髋关节假体", None)


def decide(sessions, clock, device_id, facet, code, decision, reason="checked the labelling", reviewer="rita"):
    with sessions.begin() as session:
        return review.decide(session, entity_type="device", entity_id=device_id, facet=facet, code=code,
                             decision=decision, reason=reason, reviewer=reviewer, now=clock())


def history(session, device_id, field):
    return session.execute(select(Revision.old_value, Revision.new_value, Revision.actor).where(
        Revision.entity_type == "device", Revision.entity_id == device_id, Revision.field == field,
    ).order_by(Revision.id)).all()


def test_removing_the_ai_tag_clears_the_flag_and_is_recorded_three_ways(sessions, clock, store):
    [lung] = store(LUNG)
    clock.advance(hours=1)
    decide(sessions, clock, lung, "ai", "ai", "remove", reason="a CAD viewer, no learned model")
    with sessions() as session:
        device = session.get(Device, lung)
        assert device.is_ai is False
        assert "ai:ai" not in effective_codes(session, "device", lung)
        assert history(session, lung, "review:ai:ai") == [(None, "remove", "rita")]
        assert history(session, lung, "is_ai")[-1] == ("true", "false", "rita")
        old_tags, new_tags, _ = history(session, lung, "tags")[-1]
        assert "ai:ai" in old_tags.split("\n") and "ai:ai" not in new_tags.split("\n")
        entry = session.execute(select(AuditLog).where(AuditLog.action == "tag.decision")).scalar_one()
        assert (entry.actor, entry.target_type, entry.target_id, entry.reason, entry.at) == (
            "rita", "device", str(lung), "a CAD viewer, no learned model", clock())
        assert entry.detail == {"facet": "ai", "code": "ai", "decision": "remove", "previous": None,
                                "rules_version": RULES_VERSION}
        tag = session.execute(select(Tag).where(Tag.entity_id == lung, Tag.method == "reviewer")).scalar_one()
        assert (tag.decision, tag.decided_by, tag.rule_version) == ("remove", "rita", RULES_VERSION)
        assert tag.evidence[0]["reviewed_rule_tag"]["confidence"] == 0.9  # what the reviewer overruled


def test_a_later_classifier_run_keeps_removals_and_additions(sessions, clock, store):
    [lung, hip] = store(LUNG, HIP)
    decide(sessions, clock, lung, "ai", "ai", "remove")
    decide(sessions, clock, hip, "area", "medical_robotics", "add", reason="sold with a navigation robot")
    decide(sessions, clock, hip, "ai", "ai", "add", reason="the robot plans with a learned model")
    clock.advance(days=1)
    # A later run through the real write path with changed data re-classifies both devices.
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock())
        write_records(session, [
            DeviceRecord(cert_no="国械注准20263219900", product_name=LUNG[0], description="深度学习 人工智能 肺结节",
                         registrant="示例医疗科技有限公司", catalogue_code="21-04"),
            DeviceRecord(cert_no="国械注准20263219901", product_name=HIP[0], description="陶瓷股骨头",
                         registrant="示例医疗科技有限公司", catalogue_code="21-04"),
        ], ctx)
        assert classify_devices(session, [lung, hip], ctx) == 0  # and once more directly: nothing to change
    with sessions() as session:
        assert session.get(Device, lung).is_ai is False
        assert session.get(Device, hip).is_ai is True
        assert "ai:ai" not in effective_codes(session, "device", lung)
        assert {"ai:ai", "area:medical_robotics"} <= set(effective_codes(session, "device", hip))
        # The data change itself was stored: the run happened, it just did not overturn the reviewer.
        assert history(session, lung, "description")[-1][1] == "深度学习 人工智能 肺结节"


def test_a_second_decision_updates_the_tag_but_both_stay_in_history(sessions, clock, store):
    [lung] = store(LUNG)
    decide(sessions, clock, lung, "ai", "ai", "remove", reason="first look")
    clock.advance(hours=2)
    decide(sessions, clock, lung, "ai", "ai", "confirm", reason="the description names deep learning", reviewer="sam")
    with sessions() as session:
        tags = session.execute(select(Tag).where(Tag.entity_id == lung, Tag.method == "reviewer")).scalars().all()
        assert [(t.decision, t.decided_by) for t in tags] == [("confirm", "sam")]
        assert history(session, lung, "review:ai:ai") == [(None, "remove", "rita"), ("remove", "confirm", "sam")]
        assert [e.reason for e in auditlog.query(session, auditlog.AuditFilter(action="tag.decision"))] == [
            "the description names deep learning", "first look"]
        assert session.get(Device, lung).is_ai is True
        assert [v[1] for v in history(session, lung, "is_ai")] == ["true", "false", "true"]


@pytest.mark.parametrize("facet,code,decision,reason,message", [
    ("ai", "ai", "remove", "   ", "reason"),
    ("ai", "ai", "delete", "why", "decision"),
    ("ai", "robot", "add", "why", "single code"),
    ("area", "no_such_area", "add", "why", "not a code"),
    ("disease", "medical_imaging.ct", "add", "why", "not a code"),  # a real code, in another facet
    ("area", "medical_robotics", "confirm", "why", "no rule gave"),
])
def test_invalid_decisions_are_refused_and_write_nothing(sessions, clock, store, facet, code, decision, reason,
                                                         message):
    [lung] = store(LUNG)
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Revision))
    with pytest.raises(ValueError, match=message):
        decide(sessions, clock, lung, facet, code, decision, reason=reason)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == before
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_decision_on_a_missing_entity_is_refused(sessions, clock):
    with pytest.raises(ValueError, match="no device"):
        decide(sessions, clock, 12345, "ai", "ai", "add")


def test_queue_lists_uncertain_devices_with_reasons(sessions, clock, store):
    lung, ecg, ct_mr, hip, stale = store(LUNG, ECG, CT_MR, HIP, ("乳腺X射线图像计算机辅助检测软件", "深度学习"))
    with sessions.begin() as session:
        session.execute(update(Tag).where(Tag.entity_id == stale, Tag.method == "rule").values(rule_version="0"))
    with sessions() as session:
        items, total = review.review_queue(session)
    reasons = {item.device_id: " | ".join(r.text("en") for r in item.reasons) for item in items}
    assert set(reasons) == {ecg, ct_mr, stale} and total == 3
    [ecg_item] = [i for i in items if i.device_id == ecg]
    assert 0.3 <= ecg_item.ai_confidence <= 0.8 and f"AI confidence {ecg_item.ai_confidence:.2f}" in reasons[ecg]
    assert "CT, MR" in reasons[ct_mr]
    assert f"rules version 0 (now {RULES_VERSION})" in reasons[stale]
    assert f"AI 置信度 {ecg_item.ai_confidence:.2f}" in [r.text("zh") for r in ecg_item.reasons]

    decide(sessions, clock, ecg, "ai", "ai", "add", reason="ECG analysis with a trained model")
    with sessions() as session:
        items, total = review.review_queue(session, limit=1)
    assert total == 2 and [i.device_id for i in items] == [ct_mr]
    # A decision made under an older rules version does not count any more.
    with sessions.begin() as session:
        session.execute(update(Tag).where(Tag.entity_id == ecg, Tag.method == "reviewer").values(rule_version="0"))
        assert ecg in [i.device_id for i in review.review_queue(session)[0]]


@pytest.mark.parametrize("codes,conflict", [
    ({"medical_imaging.ct"}, None),
    ({"medical_imaging", "medical_imaging.ct"}, None),
    ({"medical_imaging.ct", "medical_imaging.mr"}, "several imaging modalities"),
    ({"medical_imaging", "medical_robotics"}, "several areas"),
])
def test_area_conflict(codes, conflict):
    found = review.area_conflict(codes)
    assert (found is None) if conflict is None else found.text("en").startswith(conflict)
