"""Tag storage on SQLite and PostgreSQL: rule tags follow the classifier, reviewer decisions always win, every change
of the standing tags is one revision, and the AI flag follows the standing tags."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from tracker.classify.classifier import classify_device
from tracker.records import DeviceRecord
from tracker.store.devices import upsert_devices
from tracker.store.models import Device, Revision, Tag
from tracker.store.tags import apply_classification, effective_codes
from tracker.store.write import WriteContext


def new_device(sessions, clock, name="肺结节CT影像辅助检测软件") -> int:
    with sessions.begin() as session:
        upsert_devices(session, [DeviceRecord(cert_no="国械注准20263219960", product_name=name)],
                       WriteContext(source="test", now=clock()))
        return session.execute(select(Device.id)).scalar_one()


def test_tags_carry_evidence_and_set_the_ai_flag(sessions, clock):
    device_id = new_device(sessions, clock)
    result = classify_device(name="肺结节CT影像辅助检测软件")
    with sessions.begin() as session:
        assert apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
    with sessions() as session:
        tags = {(t.facet, t.code): t for t in session.execute(select(Tag)).scalars()}
        device = session.get(Device, device_id)
    assert device.is_ai and device.ai_confidence == result.ai_confidence
    ct = tags[("area", "medical_imaging.ct")]
    assert ct.method == "rule" and ct.rule_version == result.rules_version and ct.taxonomy_version
    assert ct.evidence[0]["field"] == "name" and ct.evidence[0]["words"] == ["CT"]


def test_same_result_twice_writes_nothing(sessions, clock):
    device_id = new_device(sessions, clock)
    result = classify_device(name="肺结节CT影像辅助检测软件")
    with sessions.begin() as session:
        apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
    with sessions() as session:
        before = session.execute(select(Tag.id, Tag.updated_at)).all(), session.execute(select(Revision.id)).all()
    clock.advance(days=1)
    with sessions.begin() as session:
        assert not apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
    with sessions() as session:
        after = session.execute(select(Tag.id, Tag.updated_at)).all(), session.execute(select(Revision.id)).all()
    assert after == before


def test_dropped_rule_tag_is_deactivated_not_deleted_and_history_says_so(sessions, clock):
    device_id = new_device(sessions, clock)
    result = classify_device(name="肺结节CT影像辅助检测软件")
    with sessions.begin() as session:
        apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
    narrower = replace(result, tags=tuple(t for t in result.tags if t.facet != "disease"), rules_version="2")
    clock.advance(days=1)
    with sessions.begin() as session:
        assert apply_classification(session, "device", device_id, narrower.rule_tags(), WriteContext(source="t", now=clock()))
    with sessions() as session:
        disease = session.execute(select(Tag).where(Tag.facet == "disease")).scalar_one()
        rev = session.execute(select(Revision).where(Revision.field == "tags", Revision.changed_at == clock())
                              ).scalar_one()
        versions = set(session.execute(select(Tag.rule_version).where(Tag.active.is_(True))).scalars())
    assert not disease.active
    assert "disease:lung_nodule" in rev.old_value and "disease:lung_nodule" not in rev.new_value
    assert versions == {"2"}


def test_reviewer_decisions_are_never_overwritten_by_the_classifier(sessions, clock):
    device_id = new_device(sessions, clock)
    result = classify_device(name="肺结节CT影像辅助检测软件")
    with sessions.begin() as session:
        apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
        for code, facet, decision in (("ai", "ai", "remove"), ("medical_imaging.xray", "area", "add")):
            session.add(Tag(entity_type="device", entity_id=device_id, facet=facet, code=code, method="reviewer",
                            decision=decision, taxonomy_version="2026.1", active=True, decided_by="reviewer1",
                            reason="checked the certificate", created_at=clock(), updated_at=clock()))
    clock.advance(days=1)
    with sessions.begin() as session:  # a later run with the same rules, then one with new rules
        apply_classification(session, "device", device_id, result.rule_tags(), WriteContext(source="t", now=clock()))
        apply_classification(session, "device", device_id, replace(result, rules_version="9").rule_tags(),
                             WriteContext(source="t", now=clock()))
    with sessions() as session:
        codes = effective_codes(session, "device", device_id)
        reviewer = session.execute(select(Tag).where(Tag.method == "reviewer")).scalars().all()
        device = session.get(Device, device_id)
    assert "ai:ai" not in codes and "area:medical_imaging.xray" in codes
    assert not device.is_ai
    assert all(t.active and t.decided_by == "reviewer1" for t in reviewer)
