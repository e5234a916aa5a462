"""Policies on SQLite and PostgreSQL: one row per document across gov.cn, NMPA and CMDE, drafts linked to their
final versions, guidance linked to the devices it concerns (with the reason), and re-ingests that write nothing."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

import scrapers
from tracker.classify import reasons
from tracker.ingest.run import ingest_path
from tracker.ingest.write import write_records
from tracker.read.links import devices_of_policy, policies_of_device, reason_of
from tracker.records import DeviceRecord, PolicyRecord
from tracker.store.models import Device, Policy, PolicyDevice, RecordSource, Revision, SourceDocument
from tracker.store.policies import title_key, upsert_policies
from tracker.store.write import WriteContext

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
POLICY_SOURCES = ("nmpa_notices", "cmde_guidance", "govcn_policy")


def ingest_all(settings, sessions, clock, slugs=POLICY_SOURCES):
    for slug in slugs:
        result = ingest_path(settings, sessions, scrapers.source(slug), SAMPLES / slug, now=clock)
        assert result.outcome == "ok", (slug, result.error)
        clock.advance(minutes=5)


def test_one_document_listed_by_three_sources_is_one_policy_with_all_sources(settings, sessions, clock):
    ingest_all(settings, sessions, clock)
    with sessions() as session:
        rows = session.execute(select(Policy).where(Policy.title.contains("人工智能医疗器械注册审查指导原则"),
                                                    Policy.stage != "draft")).scalars().all()
        assert len(rows) == 1
        [policy] = rows
        assert policy.doc_no and "2022" in policy.doc_no and policy.published_on == date(2022, 3, 9)
        sources = set(session.execute(
            select(SourceDocument.source).join(RecordSource, RecordSource.document_id == SourceDocument.id)
            .where(RecordSource.entity_type == "policy", RecordSource.entity_id == policy.id)).scalars())
    assert sources == set(POLICY_SOURCES)


def test_draft_is_linked_to_its_final_version(settings, sessions, clock):
    ingest_all(settings, sessions, clock)
    with sessions() as session:
        draft = session.execute(select(Policy).where(Policy.stage == "draft")).scalars().first()
        final = session.get(Policy, draft.final_version_id)
    assert "征求意见稿" in draft.title
    assert final.stage != "draft" and title_key(final.title) == title_key(draft.title)
    assert final.published_on > draft.published_on


def test_second_ingest_of_every_policy_source_writes_nothing(settings, sessions, clock):
    ingest_all(settings, sessions, clock)
    with sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Policy, Revision, PolicyDevice)]
    ingest_all(settings, sessions, clock)
    with sessions() as session:
        assert [session.scalar(select(func.count()).select_from(m)) for m in (Policy, Revision, PolicyDevice)] == counts


def test_policies_are_typed_and_tagged_with_evidence(settings, sessions, clock):
    ingest_all(settings, sessions, clock)
    with sessions() as session:
        types = dict(session.execute(select(Policy.title, Policy.doc_type)).all())
        ai = session.execute(select(Policy).where(Policy.doc_no == "国发〔2017〕35号")).scalar_one()
    assert types["肺炎CT影像辅助分诊与评估软件审评要点（试行）"] == "审评要点"
    assert ai.is_ai and ai.doc_type == "发展规划"


def _device(session, ctx, name, cert):
    write_records(session, [DeviceRecord(cert_no=cert, product_name=name, registrant="示例医疗科技有限公司")], ctx)
    return session.execute(select(Device.id).where(Device.cert_no == cert)).scalar_one()


def test_guidance_links_to_the_devices_it_concerns_both_ways(sessions, clock):
    with sessions.begin() as session:
        ctx = WriteContext(source="test", now=clock())
        nodule = _device(session, ctx, "肺结节CT影像辅助检测软件", "国械注准20263219951")
        fundus = _device(session, ctx, "糖尿病视网膜病变眼底图像辅助诊断软件", "国械注准20263219952")
        stent = _device(session, ctx, "冠状动脉药物洗脱支架系统", "国械注准20263139953")
        write_records(session, [
            PolicyRecord(title="肺结节CT图像辅助检测软件注册审查指导原则", url="https://example.org/p1",
                         issuer="国家药监局", doc_type="指导原则", stage="issued", published_on=date(2022, 5, 1)),
            PolicyRecord(title="人工智能医疗器械注册审查指导原则", url="https://example.org/p2", issuer="国家药监局",
                         doc_no="国家药监局通告2022年第8号", doc_type="指导原则", stage="issued",
                         published_on=date(2022, 3, 9)),
        ], ctx)
    with sessions() as session:
        specific = session.execute(select(Policy.id).where(Policy.url == "https://example.org/p1")).scalar_one()
        general = session.execute(select(Policy.id).where(Policy.url == "https://example.org/p2")).scalar_one()
        specific_devices = {d.id: reason_of(link) for d, link in session.execute(devices_of_policy(specific)).all()}
        general_devices = {d.id for d, _ in session.execute(devices_of_policy(general)).all()}
        nodule_policies = {p.id for p, _ in session.execute(policies_of_device(nodule)).all()}
    assert set(specific_devices) == {nodule}
    why = specific_devices[nodule]
    assert why.code == reasons.LINK_SOFTWARE
    assert {"disease:lung_nodule", "area:medical_imaging.ct"} <= set(why.params["tags"])
    assert why.text("zh").startswith("器械标签 ") and "肺结节" in why.text("zh") and "CT" in why.text("zh")
    assert general_devices == {nodule, fundus}  # every AI device, not the stent
    assert stent not in general_devices
    assert nodule_policies == {specific, general}


def _guidance(session, ctx, title, url):
    write_records(session, [PolicyRecord(title=title, url=url, issuer="国家药监局", doc_type="指导原则", stage="issued",
                                         published_on=date(2024, 5, 1))], ctx)
    policy_id = session.execute(select(Policy.id).where(Policy.url == url)).scalar_one()
    return {d.id: reason_of(link) for d, link in session.execute(devices_of_policy(policy_id)).all()}


def test_equipment_guidance_is_not_linked_to_software_sharing_its_modality(sessions, clock):
    with sessions.begin() as session:
        ctx = WriteContext(source="test", now=clock())
        nodule = _device(session, ctx, "肺结节CT影像辅助检测软件", "国械注准20263219961")
        scanner = _device(session, ctx, "X射线计算机体层摄影设备", "国械注准20263069962")
        equipment = _guidance(session, ctx, "X射线计算机体层摄影设备注册审查指导原则", "https://example.org/ct")
        software = _guidance(session, ctx, "肺结节CT图像辅助检测软件注册审查指导原则", "https://example.org/nodule")
    assert set(equipment) == {scanner}  # both carry CT, only the scanner is equipment
    assert equipment[scanner].code == reasons.LINK_EQUIPMENT
    assert "area:medical_imaging.ct" in equipment[scanner].params["tags"] and equipment[scanner].params["words"] == ["设备"]
    assert "equipment (设备), device not software" in equipment[scanner].text("en")
    assert "该文件针对设备（设备），本器械不是软件" in equipment[scanner].text("zh")
    assert set(software) == {nodule}
    assert software[nodule].code == reasons.LINK_SOFTWARE and ["name", "软件"] in software[nodule].params["software"]
    assert "device is software (name: 软件" in software[nodule].text("en")
    assert "本器械是软件（产品名称: 软件" in software[nodule].text("zh")


def test_implant_guidance_naming_mr_compatibility_is_not_about_mr_imaging(sessions, clock):
    with sessions.begin() as session:
        ctx = WriteContext(source="test", now=clock())
        mr_software = _device(session, ctx, "颅内肿瘤磁共振影像辅助诊断软件", "国械注准20263219971")
        mr_scanner = _device(session, ctx, "超导磁共振成像系统", "国械注准20263069972")
        pacemaker_links = _guidance(session, ctx, "磁共振兼容植入式心脏起搏器注册审查指导原则", "https://example.org/pm")
        scanner_links = _guidance(session, ctx, "医用磁共振成像系统注册审查指导原则", "https://example.org/mr")
    assert mr_software not in pacemaker_links and mr_scanner not in pacemaker_links
    assert set(scanner_links) == {mr_scanner}  # MR equipment guidance: the scanner, not the MR software


def test_same_title_weeks_apart_is_two_documents(sessions, clock):
    records = [PolicyRecord(title="关于开展医疗器械监督抽检工作的通知", url=f"https://example.org/{m}",
                            published_on=date(2025, m, 1)) for m in (3, 9)]
    with sessions.begin() as session:
        result = upsert_policies(session, records, WriteContext(source="test", now=clock()))
    assert result.new == 2
