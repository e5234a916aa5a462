"""Incremental guidance ↔ device linking, on SQLite and PostgreSQL: after every write the stored links are exactly
what recomputing all of them gives, through renames that remove links, policies that become (or stop being)
guidance, and reviewer decisions on device tags."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select, update

from tracker.audit import review
from tracker.classify.links import link_policies_to_devices, refresh_links
from tracker.classify.reasons import Reason
from tracker.ingest.write import write_records
from tracker.records import DeviceRecord, PolicyRecord
from tracker.store.models import Device, Policy, PolicyDevice
from tracker.store.write import WriteContext

NODULE_GUIDANCE = "肺结节CT图像辅助检测软件注册审查指导原则"
AI_GUIDANCE = "人工智能医疗器械注册审查指导原则"
CT_EQUIPMENT = "X射线计算机体层摄影设备注册审查指导原则"
FUNDUS_GUIDANCE = "糖尿病视网膜病变眼底图像辅助诊断软件注册审查指导原则"


def device(cert, name, description=None):
    return DeviceRecord(cert_no=cert, product_name=name, registrant="示例医疗科技有限公司", description=description)


def policy(slug, title, doc_type="指导原则", stage="issued"):
    return PolicyRecord(title=title, url=f"https://example.org/{slug}", issuer="国家药监局", doc_type=doc_type,
                        stage=stage, published_on=date(2024, 3, 1))


NODULE = device("国械注准20263219981", "肺结节CT影像辅助检测软件")
SCANNER = device("国械注准20263069982", "X射线计算机体层摄影设备")
FUNDUS = device("国械注准20263219983", "糖尿病视网膜病变眼底图像辅助诊断软件")
STENT = device("国械注准20263139984", "冠状动脉药物洗脱支架系统")
PNEUMONIA = device("国械注准20263219985", "肺炎CT影像辅助诊断软件")


def links(session) -> set[tuple[str, str, str, str]]:
    """Every stored link as (policy url, certificate, rule id, reason as code + JSON parameters): comparable across
    recomputes."""
    return {(url, cert, rule, code + " " + json.dumps(params, ensure_ascii=False, sort_keys=True))
            for url, cert, rule, code, params in session.execute(
                select(Policy.url, Device.cert_no, PolicyDevice.rule_id, PolicyDevice.reason_code,
                       PolicyDevice.reason_params)
                .join(Policy, Policy.id == PolicyDevice.policy_id).join(Device, Device.id == PolicyDevice.device_id))}


def full_recompute(sessions, clock) -> set[tuple[str, str, str, str]]:
    """The links recomputing everything would store now (rolled back: the store is left as it was)."""
    with sessions() as session:
        link_policies_to_devices(session, WriteContext(source="test", now=clock()))
        result = links(session)
        session.rollback()
    return result


def linked(stored, slug, cert) -> bool:
    return any(url.endswith("/" + slug) and c == cert.cert_no for url, c, _, _ in stored)


def test_incremental_links_equal_a_full_recompute_after_every_write(sessions, clock):
    def write(*records):
        clock.advance(hours=1)
        with sessions.begin() as session:
            write_records(session, records, WriteContext(source="test", now=clock()))
        with sessions() as session:
            stored = links(session)
        assert stored == full_recompute(sessions, clock)
        return stored

    def decide(cert, facet, code, decision):
        with sessions.begin() as session:
            device_id = session.execute(select(Device.id).where(Device.cert_no == cert.cert_no)).scalar_one()
            review.decide(session, entity_type="device", entity_id=device_id, facet=facet, code=code,
                          decision=decision, reason="checked the labelling", reviewer="rita", now=clock())

    write(NODULE, SCANNER, FUNDUS, STENT)  # devices before any guidance: nothing to link
    stored = write(policy("nodule", NODULE_GUIDANCE), policy("ai", AI_GUIDANCE), policy("ct", CT_EQUIPMENT),
                   policy("fundus", FUNDUS_GUIDANCE, stage="draft"), policy("plan", AI_GUIDANCE + "实施规划", "发展规划"))
    assert linked(stored, "nodule", NODULE) and linked(stored, "ct", SCANNER) and not linked(stored, "fundus", FUNDUS)
    stored = write(PNEUMONIA)  # a new device only
    assert linked(stored, "ai", PNEUMONIA) and not linked(stored, "nodule", PNEUMONIA)
    # A rename changes the device's tags: its nodule and AI links must go.
    stored = write(device(NODULE.cert_no, "肺部CT影像三维重建软件"))
    assert not linked(stored, "nodule", NODULE) and not linked(stored, "ai", NODULE)
    # The draft is issued (same URL, same document): now it is guidance and links; a new guidance in the same write.
    stored = write(policy("fundus", FUNDUS_GUIDANCE), device("国械注准20263219986", "肺结节CT影像辅助检测软件"),
                   policy("pneumonia", "肺炎CT影像辅助诊断软件审评要点", doc_type="审评要点"))
    assert linked(stored, "fundus", FUNDUS) and linked(stored, "pneumonia", PNEUMONIA)
    # Reviewer decisions change effective tags; the device's next write re-links it.
    decide(PNEUMONIA, "ai", "ai", "remove")
    decide(NODULE, "disease", "lung_nodule", "add")
    decide(NODULE, "function", "detection", "add")
    stored = write(device(PNEUMONIA.cert_no, PNEUMONIA.product_name, "用于肺炎的辅助诊断"),
                   device(NODULE.cert_no, "肺部CT影像三维重建软件", "可标注肺结节"))
    assert not linked(stored, "ai", PNEUMONIA) and linked(stored, "pneumonia", PNEUMONIA)
    assert linked(stored, "nodule", NODULE)
    # A guidance that stops being guidance loses its links.
    stored = write(policy("ct", CT_EQUIPMENT, doc_type="发展规划"))
    assert not linked(stored, "ct", SCANNER)


def test_refresh_recomputes_only_what_it_is_given(sessions, clock):
    ctx = WriteContext(source="test", now=clock())
    with sessions.begin() as session:
        write_records(session, [NODULE, FUNDUS, policy("ai", AI_GUIDANCE)], ctx)
        session.execute(update(PolicyDevice).values(reason_code="stale"))
        fundus = session.execute(select(Device.id).where(Device.cert_no == FUNDUS.cert_no)).scalar_one()
        assert refresh_links(session, ctx, device_ids=[fundus]) == 0
        reasons = {cert: Reason(code, params) for cert, code, params in session.execute(
            select(Device.cert_no, PolicyDevice.reason_code, PolicyDevice.reason_params).join(
                Device, Device.id == PolicyDevice.device_id))}
    assert reasons[NODULE.cert_no].code == "stale"  # untouched: not even read
    assert reasons[FUNDUS.cert_no].params["tags"] == ["ai:ai"]
    assert reasons[FUNDUS.cert_no].text("en").startswith("device tags AI match the scope of 《人工智能医疗器械")
    assert reasons[FUNDUS.cert_no].text("zh").startswith("器械标签 AI 符合《人工智能医疗器械")


def test_a_reviewer_decision_on_a_policy_tag_corrects_its_scope(sessions, clock):
    ctx = WriteContext(source="test", now=clock())
    with sessions.begin() as session:
        write_records(session, [NODULE, PNEUMONIA, FUNDUS, policy("ai", AI_GUIDANCE)], ctx)
        ai_guidance = session.execute(select(Policy.id).where(Policy.url.endswith("/ai"))).scalar_one()
        review.decide(session, entity_type="policy", entity_id=ai_guidance, facet="disease", code="pneumonia",
                      decision="add", reason="covers pneumonia software only", reviewer="rita", now=clock())
        refresh_links(session, ctx, policy_ids=[ai_guidance])  # review.decide does not refresh links itself
        stored = links(session)
    assert {(c, rule) for _, c, rule, _ in stored} == {(PNEUMONIA.cert_no, "policy_link.specific")}
    assert stored == full_recompute(sessions, clock)


def test_a_reviewer_decision_relinks_at_once(sessions, clock):
    """A decision changes effective tags outside any write; the links follow without waiting for the next ingest."""
    with sessions.begin() as session:
        write_records(session, [NODULE, policy("nodule", NODULE_GUIDANCE)], WriteContext(source="test", now=clock()))
    with sessions() as session:
        assert linked(links(session), "nodule", NODULE)
    clock.advance(hours=1)
    with sessions.begin() as session:
        device_id = session.execute(select(Device.id).where(Device.cert_no == NODULE.cert_no)).scalar_one()
        review.decide(session, entity_type="device", entity_id=device_id, facet="disease", code="lung_nodule",
                      decision="remove", reason="not a nodule product", reviewer="rita", now=clock())
    with sessions() as session:
        assert not linked(links(session), "nodule", NODULE)
        assert links(session) == full_recompute(sessions, clock)


def test_general_ai_policy_links_all_ai_devices_only_when_it_is_about_devices(sessions, clock):
    hospitals = policy("hospitals", "关于推进人工智能在智慧医院建设中应用的通知", doc_type="规范性文件")
    with sessions.begin() as session:
        write_records(session, [NODULE, FUNDUS, policy("ai", AI_GUIDANCE), hospitals],
                      WriteContext(source="test", now=clock()))
    with sessions() as session:
        stored = links(session)
        ai_tagged = session.execute(select(Policy.is_ai).where(Policy.url.endswith("/hospitals"))).scalar_one()
    assert ai_tagged  # the policy is about AI ...
    assert not any(linked(stored, "hospitals", d) for d in (NODULE, FUNDUS))  # ... but concerns no certificate
    assert linked(stored, "ai", NODULE) and linked(stored, "ai", FUNDUS)
