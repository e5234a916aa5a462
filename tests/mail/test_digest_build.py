"""Digest building: subscription filters through the shared query builders, windows that chain, period keys."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from mailkit import T0, add_device, add_policy, add_subscriber

from tracker.mail.digest import build_due, period_key
from tracker.mail.filters import normalize_filters
from tracker.mail.outbox import enqueue_digests

TZ = "Asia/Shanghai"


def titles(digest) -> set[str]:
    return {e.item.title for e in digest.entries}


def digests_by_email(sessions, now, frequency="daily"):
    with sessions() as session:
        return {d.email: d for d in build_due(session, frequency, now, tz=TZ, base_url="https://t.example.org")}


@pytest.fixture
def catalogue(sessions):
    """Devices and policies first seen an hour after T0, plus one older device."""
    seen = T0 + timedelta(hours=1)
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=seen, registrant="推想医疗科技股份有限公司",
                   areas=["medical_imaging", "medical_imaging.ct"], functions=["detection"], diseases=["lung_nodule"])
        add_device(s, "糖尿病视网膜病变眼底图像辅助诊断软件", seen=seen, registrant="上海鹰瞳医疗科技有限公司",
                   areas=["medical_imaging", "medical_imaging.fundus"], functions=["diagnosis"],
                   diseases=["diabetic_retinopathy"])
        add_device(s, "心电图自动分析软件", seen=seen, registrant="乐普（北京）医疗器械股份有限公司",
                   areas=["clinical_decision_support"], functions=["diagnosis"], diseases=["arrhythmia"])
        add_device(s, "一次性使用无菌注射器", seen=seen, registrant="某医疗器械有限公司", is_ai=False)
        add_device(s, "颅内出血CT影像辅助分诊软件", seen=T0 - timedelta(days=3),
                   areas=["medical_imaging", "medical_imaging.ct"], functions=["triage"], diseases=["stroke_ich"])
        add_policy(s, "人工智能医疗器械注册审查指导原则", seen=seen, doc_type="指导原则", areas=["medical_imaging"])
        add_policy(s, "关于促进“互联网+医疗健康”发展的意见", seen=seen, doc_type="规范性文件",
                   areas=["internet_hospital"])


def test_filters_follow_the_query_builders(sessions, catalogue):
    now = T0 + timedelta(days=1)
    with sessions.begin() as s:
        add_subscriber(s, "all@example.org", created=T0)
        add_subscriber(s, "ct@example.org", created=T0, filters={"areas": ["medical_imaging.ct"]})
        add_subscriber(s, "imaging-dx@example.org", created=T0,
                       filters={"areas": ["medical_imaging"], "functions": ["diagnosis"]}, policies=False)
        add_subscriber(s, "either@example.org", created=T0, devices=True, policies=False,
                       filters={"diseases": ["lung_nodule", "arrhythmia"]})
        add_subscriber(s, "company@example.org", created=T0, filters={"companies": ["鹰瞳"]}, policies=False)
        add_subscriber(s, "kw@example.org", created=T0, filters={"keywords": ["心电"]})
        add_subscriber(s, "guidance@example.org", created=T0, devices=False, filters={"policy_types": ["guidance"]})
        add_subscriber(s, "everything@example.org", created=T0, filters={"ai_only": False}, policies=False)
    got = digests_by_email(sessions, now)

    assert titles(got["all@example.org"]) == {
        "肺结节CT图像辅助检测软件", "糖尿病视网膜病变眼底图像辅助诊断软件", "心电图自动分析软件",
        "人工智能医疗器械注册审查指导原则", "关于促进“互联网+医疗健康”发展的意见"}
    # A sub-area matches only what is tagged with it (the imaging policy carries the parent area only).
    assert titles(got["ct@example.org"]) == {"肺结节CT图像辅助检测软件"}
    # AND across facets: imaging AND diagnosis.
    assert titles(got["imaging-dx@example.org"]) == {"糖尿病视网膜病变眼底图像辅助诊断软件"}
    # OR within a facet.
    assert titles(got["either@example.org"]) == {"肺结节CT图像辅助检测软件", "心电图自动分析软件"}
    assert titles(got["company@example.org"]) == {"糖尿病视网膜病变眼底图像辅助诊断软件"}
    assert titles(got["kw@example.org"]) == {"心电图自动分析软件"}
    assert titles(got["guidance@example.org"]) == {"人工智能医疗器械注册审查指导原则"}
    # Without the AI restriction the syringe comes too; the device seen before the window never does.
    assert "一次性使用无菌注射器" in titles(got["everything@example.org"])
    assert all("颅内出血CT影像辅助分诊软件" not in titles(d) for d in got.values())


def test_batch_matching_equals_one_query_per_subscription(sessions, catalogue):
    """The builder combines one query per filter value; the same filters as a single SQL query agree with it."""
    from sqlalchemy import select

    from tracker.mail.digest import _window
    from tracker.mail.filters import subscription_clauses
    from tracker.store.models import Device, Policy

    shapes = [{}, {"areas": ["medical_imaging"], "functions": ["diagnosis", "detection"]},
              {"diseases": ["lung_nodule", "arrhythmia"], "keywords": ["软件"]}, {"companies": ["鹰瞳", "乐普"]},
              {"policy_types": ["guidance", "normative"], "areas": ["internet_hospital", "medical_imaging"]},
              {"ai_only": False, "keywords": ["注射器 无菌"]}]
    with sessions() as s:
        # A certificate facet matches its device and no policy (a policy holds no certificate).
        lung = s.execute(select(Device.cert_no).where(Device.product_name.startswith("肺结节"))).scalar_one()
    shapes.append({"certificates": [lung]})
    with sessions.begin() as s:
        for n, filters in enumerate(shapes):
            add_subscriber(s, f"s{n}@example.org", created=T0, filters=filters)
    now = T0 + timedelta(days=1)
    got = digests_by_email(sessions, now)
    with sessions() as s:
        for n, filters in enumerate(shapes):
            expected = set()
            for kind, model in (("device", Device), ("policy", Policy)):
                expected |= {(kind, i) for i in s.execute(select(model.id).where(
                    _window(model, T0, now), *subscription_clauses(kind, filters))).scalars()}
            assert {(e.item.kind, e.item.id) for e in got[f"s{n}@example.org"].entries} == expected, filters
    assert titles(got["s5@example.org"]) == {"一次性使用无菌注射器"}
    assert titles(got["s6@example.org"]) == {"肺结节CT图像辅助检测软件"}


def test_items_link_to_their_pages_and_carry_their_areas(sessions, catalogue):
    with sessions.begin() as s:
        add_subscriber(s, "ct@example.org", created=T0, filters={"areas": ["medical_imaging.ct"]})
    digest = digests_by_email(sessions, T0 + timedelta(days=1))["ct@example.org"]
    (entry,) = digest.entries
    assert entry.item.url == f"https://t.example.org/devices/{entry.item.id}"
    assert entry.item.areas == ("medical_imaging",)
    assert entry.change == "new"


def test_windows_chain_from_the_last_digest_and_report_changes(sessions, settings, catalogue):
    with sessions.begin() as s:
        add_subscriber(s, "ct@example.org", created=T0, filters={"areas": ["medical_imaging.ct"]})
    day1 = T0 + timedelta(days=1)
    first = enqueue_digests(sessions, settings, "daily", day1)
    assert first.queued == 1
    # The same period again stores nothing new.
    assert enqueue_digests(sessions, settings, "daily", day1 + timedelta(hours=2)).queued == 0

    # Next day: one brand-new CT device, and the old one changed after the first digest.
    day2 = day1 + timedelta(days=1)
    from sqlalchemy import update

    from tracker.store.models import Device
    with sessions.begin() as s:
        add_device(s, "冠脉CT血流储备分数计算软件", seen=day1 + timedelta(hours=3),
                   areas=["medical_imaging.ct"], functions=["assessment"])
        s.execute(update(Device).where(Device.product_name == "肺结节CT图像辅助检测软件")
                  .values(updated_at=day1 + timedelta(hours=4)))
    digest = digests_by_email(sessions, day2)["ct@example.org"]
    changes = {e.item.title: e.change for e in digest.entries}
    assert changes == {"冠脉CT血流储备分数计算软件": "new", "肺结节CT图像辅助检测软件": "changed"}
    assert digest.window_start == day1


def test_only_confirmed_subscribers_of_that_frequency_are_due(sessions, catalogue):
    with sessions.begin() as s:
        add_subscriber(s, "pending@example.org", created=T0, status="pending")
        add_subscriber(s, "gone@example.org", created=T0, status="unsubscribed")
        add_subscriber(s, "weekly@example.org", created=T0, frequency="weekly")
        add_subscriber(s, "daily@example.org", created=T0)
    assert set(digests_by_email(sessions, T0 + timedelta(days=1))) == {"daily@example.org"}
    assert set(digests_by_email(sessions, T0 + timedelta(days=1), "weekly")) == {"weekly@example.org"}


def test_period_keys_are_in_beijing_time():
    late_utc = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 23rd in Beijing
    assert period_key("daily", late_utc, TZ) == "daily:2026-11-23"
    assert period_key("weekly", late_utc, TZ) == "weekly:2026-W48"
    assert period_key("immediate", late_utc + timedelta(minutes=7), TZ) == "immediate:2026-11-23T00:35"
    with pytest.raises(ValueError):
        period_key("hourly", late_utc, TZ)


def test_normalize_filters_drops_unknown_codes_and_splits_texts():
    f = normalize_filters({"areas": ["medical_imaging", "not_a_code", "detection"], "functions": "detection",
                           "companies": "推想， 鹰瞳,推想", "keywords": "", "policy_types": ["guidance", "ct"],
                           "issuers": ["cmde", "fda"], "stages": ["draft", "final", "draft"], "bogus": 1,
                           "certificates": "国械注准 2021３２１９９０４，国械注准20213219904, 国械备20150001"})
    assert f == {"areas": ["medical_imaging"], "functions": ["detection"], "diseases": [],
                 "companies": ["推想", "鹰瞳"], "certificates": ["国械注准20213219904"], "keywords": [],
                 "policy_types": ["guidance"], "issuers": ["cmde"], "stages": ["draft"], "ai_only": True}


def test_a_device_entry_says_why_ai_in_both_languages(sessions, catalogue):
    from sqlalchemy import select

    from tracker.mail.render import render_digest
    from tracker.store.models import Device, Tag

    with sessions.begin() as s:
        lung = s.execute(select(Device.id).where(Device.product_name == "肺结节CT图像辅助检测软件")).scalar_one()
        s.add(Tag(entity_type="device", entity_id=lung, facet="ai", code="ai", method="rule", taxonomy_version="test",
                  confidence=0.9, active=True, created_at=T0, updated_at=T0, evidence=[
                      {"field": "name", "words": ["辅助检测", "软件"], "rule_id": "ai.name.assist_software",
                       "rule_version": "2"}]))
        add_subscriber(s, "ct@example.org", created=T0, filters={"areas": ["medical_imaging.ct"]})
    digest = digests_by_email(sessions, T0 + timedelta(days=1))["ct@example.org"]
    (entry,) = digest.entries
    assert entry.item.why_ai == (("产品名称中有“辅助检测、软件”", "name says “辅助检测, 软件”"),)
    mail = render_digest(digest, site_url="https://t.example.org", manage_url="https://t.example.org/m",
                         unsubscribe_url="https://t.example.org/u")
    for body in (mail.text, mail.html):
        assert "AI 依据：产品名称中有“辅助检测、软件”" in body and "Why AI: name says “辅助检测, 软件”" in body


def test_a_final_version_of_a_draft_carries_the_first_changes(sessions, catalogue):
    from sqlalchemy import select

    from tracker.mail.render import render_digest
    from tracker.store.models import Policy

    with sessions.begin() as s:
        final = s.execute(select(Policy).where(Policy.title == "人工智能医疗器械注册审查指导原则")).scalar_one()
        final.stage, final.body = "issued", "第一条 总则不变。\n第二条 上市后应当开展数据漂移监测。"
        draft = add_policy(s, "人工智能医疗器械注册审查指导原则（征求意见稿）", seen=T0 - timedelta(days=300))
        draft.stage, draft.final_version_id, draft.body = "draft", final.id, "第一条 总则不变。"
        add_subscriber(s, "guidance@example.org", created=T0, filters={"areas": ["medical_imaging"]})
    digest = digests_by_email(sessions, T0 + timedelta(days=1))["guidance@example.org"]
    [item] = [e.item for e in digest.entries if e.item.kind == "policy"]
    assert item.draft_changes == (("第二条 新增 上市后应当开展数据漂移监测。", "第二条 added 上市后应当开展数据漂移监测。"),)
    mail = render_digest(digest, site_url="https://t.example.org", manage_url="https://t.example.org/m",
                         unsubscribe_url="https://t.example.org/u")
    for body in (mail.text, mail.html):
        assert "与征求意见稿相比：第二条 新增 上市后应当开展数据漂移监测。" in body
        assert "Changes from the draft: 第二条 added" in body


def test_a_certificate_event_is_announced_even_when_no_field_changed(sessions, settings, catalogue):
    """A correction of a field the device does not store (an address) changes no row, yet the next digest lists the
    device with the event, in both languages."""
    from datetime import date

    from sqlalchemy import select

    from tracker.mail.render import render_digest
    from tracker.records import ApprovalEvent, FieldCorrection
    from tracker.store import events as cert_events
    from tracker.store.models import Device
    from tracker.store.write import WriteContext

    old = "颅内出血CT影像辅助分诊软件"  # first seen three days before T0 and not changed since
    with sessions.begin() as s:
        add_subscriber(s, "ct@example.org", created=T0, filters={"areas": ["medical_imaging.ct"]})
    day1 = T0 + timedelta(days=1)
    assert enqueue_digests(sessions, settings, "daily", day1).queued == 1
    assert old not in titles(digests_by_email(sessions, day1 + timedelta(days=1))["ct@example.org"])  # not yet
    with sessions.begin() as s:
        device = s.execute(select(Device).where(Device.product_name == old)).scalar_one()
        fix = ApprovalEvent(cert_no=device.cert_no, product_name=old, registrant=device.registrant,
                            acceptance_no="CSZ2609999", issued_on=date(2026, 11, 19), notice_date=date(2026, 11, 19),
                            is_correction=True, raw_row="row", source_url="https://example.org/fix",
                            corrections=(FieldCorrection("注册人住所", "1号", "11号"),))
        ctx = WriteContext(source="nmpa_approvals", now=day1 + timedelta(hours=2))
        cert_events.record_events(s, cert_events.approval_event_rows([fix], {device.cert_no: device.id}, ctx))
    digest = digests_by_email(sessions, day1 + timedelta(days=1))["ct@example.org"]
    [entry] = [e for e in digest.entries if e.item.title == old]
    assert (entry.change, entry.events) == ("changed", (("correction", date(2026, 11, 19)),))
    mail = render_digest(digest, site_url="https://t.example.org", manage_url="https://t.example.org/m",
                         unsubscribe_url="https://t.example.org/u")
    for body in (mail.text, mail.html):
        assert "证书事件 / Certificate events: 纠错 / Correction 2026-11-19" in body
