"""Test data for the web tests, written through the real write path (store, writer, runs, archive).

Certificate numbers are synthetic (serial 99xx); one product name and one policy title are hostile markup, one
policy URL is a javascript: URL, and one device is sample data. `seed()` returns the ids the tests look up.
"""
from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from flask import Flask
from sqlalchemy import select, text

from tracker.config import Settings
from tracker.fetch.archive import Archive
from tracker.fetch.base import Response
from tracker.ingest.run import RunResult, finish_run, start_run
from tracker.ingest.write import write_records
from tracker.records import ApprovalEvent, Attachment, DeviceRecord, FieldCorrection, NewsRecord, PolicyRecord
from tracker.store.attachments import FileResult, link_attachment, store_attachment
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.models import Device, Policy
from tracker.store.write import WriteContext, record_document
from web import create_app

T0 = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 15, 2, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
XSS_NAME = "<script>alert('xss')</script>骨折X射线影像辅助检测软件"
XSS_POLICY = '<img src=x onerror="alert(1)">关于人工智能医疗器械的通知'
RAW_HTML = (b"<html><head><title>UDI</title></head><body><script>alert('raw')</script>"
            b"\xe5\x99\xa8\xe6\xa2\xb0</body></html>")

LUNG = DeviceRecord(
    cert_no="国械注准20203219901", product_name="肺结节CT影像辅助检测软件", registrant="示例医疗科技有限公司",
    catalogue_code="21-04-02", description="基于深度学习的肺结节检测与标注", model_spec="V1.0",
    udi_di=("06970000099011", "06970000099012"),
)
EYE = DeviceRecord(
    cert_no="国械注准20213219902", product_name="糖尿病视网膜病变眼底图像辅助诊断软件", registrant="样例智能科技有限公司",
    catalogue_code="21-04-01", description="眼底照片分析", udi_di=("06970000099021",),
)
FFR = DeviceRecord(
    cert_no="国械注进20223219903", product_name="冠脉血流储备分数计算软件", registrant="Example Imaging GmbH",
    catalogue_code="21-04-03", description="卷积神经网络冠脉分割与血流储备分数计算", udi_di=("04050000099031",),
)
XSS = DeviceRecord(
    cert_no="国械注准20193219904", product_name=XSS_NAME, registrant="示例医疗科技有限公司",
    catalogue_code="21-04-02", description="深度学习", udi_di=("06970000099041",),
)
ECG = DeviceRecord(
    cert_no="国械注许20233219905", product_name="心电图机", registrant="樣例醫療儀器股份有限公司", catalogue_code="07-03",
)
PCT = DeviceRecord(
    cert_no="国械注准20183219907", product_name="结构_化报告软件 100%版", registrant="样例智能科技有限公司",
    catalogue_code="21-02",
)
POLYP = DeviceRecord(
    cert_no="国械注准20243219906", product_name="肠息肉内窥镜图像辅助检测软件", registrant="样例智能科技有限公司",
    catalogue_code="21-04-02", description="人工智能辅助检测", udi_di=("06970000099061",),
)


@dataclass
class Seeded:
    """Ids of the seeded rows, by a short name."""

    devices: dict[str, int] = field(default_factory=dict)
    policies: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    attachments: dict[str, int] = field(default_factory=dict)


def _run(sessions, source: str, outcome: str, at: datetime, error: str | None = None, **counts) -> int:
    run_id = start_run(sessions, source, trigger="test", is_sample=False, now=at)
    finish_run(sessions, RunResult(run_id=run_id, source=source, outcome=outcome, error=error, **counts),
               at + timedelta(minutes=3))
    return run_id


def seed(settings, sessions) -> Seeded:
    """Store devices, notices, news, policies, runs and one archived raw document."""
    out = Seeded()
    out.runs["udi"] = _run(sessions, "udi", "ok", T0, fetched=1, new=6)
    archive = Archive(settings.archive_dir)
    with archive.writer("udi-test", now=T0) as warc:
        raw = Response(url="https://udi.nmpa.gov.cn/download.html", status=200,
                       headers={"content-type": "text/html; charset=utf-8"}, content=RAW_HTML, fetched_at=T0)
        ref = warc.write_response(raw)
    with sessions.begin() as session:
        doc = record_document(session, source="udi", url=raw.url, fetched_at=T0, sha256=ref.sha256,
                              size=len(RAW_HTML), http_status=200, content_type="text/html; charset=utf-8",
                              warc_path=ref.warc_path, warc_offset=ref.offset, warc_length=ref.length,
                              run_id=out.runs["udi"])
        out.documents["udi"] = doc
        ctx = WriteContext(source="udi", now=T0, run_id=out.runs["udi"], document_id=doc)
        write_records(session, [LUNG, EYE, FFR, XSS, ECG, PCT], ctx)
    with sessions.begin() as session:
        doc = record_document(session, source="udi", url="file:///samples/udi/sample.zip", fetched_at=T0,
                              sha256="ab" * 32, size=10, is_sample=True)
        write_records(session, [POLYP], WriteContext(source="udi", now=T0, document_id=doc, is_sample=True))

    # Five days later: an approval notice for the lung-nodule software and a changed description of the eye software.
    out.runs["nmpa_approvals"] = _run(sessions, "nmpa_approvals", "ok", T1, fetched=1, new=1)
    with sessions.begin() as session:
        doc = record_document(session, source="nmpa_approvals", url="https://www.nmpa.gov.cn/zwfw/sdxx/x/1.html",
                              fetched_at=T1, sha256="cd" * 32, size=100, http_status=200)
        out.documents["notice"] = doc
        ctx = WriteContext(source="nmpa_approvals", now=T1, run_id=out.runs["nmpa_approvals"], document_id=doc)
        write_records(session, [
            ApprovalEvent(cert_no=LUNG.cert_no, product_name=LUNG.product_name, registrant=LUNG.registrant,
                          acceptance_no="CSZ2600123", issued_on=date(2026, 11, 12), notice_date=date(2026, 11, 14),
                          is_correction=False, raw_row="1 CSZ2600123 肺结节CT影像辅助检测软件 示例医疗科技有限公司",
                          source_url="https://www.nmpa.gov.cn/zwfw/sdxx/x/1.html"),
            ApprovalEvent(cert_no=LUNG.cert_no, product_name=LUNG.product_name, registrant=LUNG.registrant,
                          acceptance_no="CSZ2600123", issued_on=date(2026, 11, 19), notice_date=date(2026, 11, 19),
                          is_correction=True, raw_row="1 CSZ2600123 注册人住所由“样例路1号”更正为“样例路11号”",
                          source_url="https://www.nmpa.gov.cn/zwfw/sdxx/x/2.html",
                          corrections=(FieldCorrection("注册人住所", "样例路1号", "样例路11号"),)),
            NewsRecord(title="国家药监局批准肺结节CT影像辅助检测软件注册", url="https://www.nmpa.gov.cn/yaowen/1.html",
                       published_on=date(2026, 11, 15), cert_nos=(LUNG.cert_no,)),
        ], ctx)
    with sessions.begin() as session:
        doc = record_document(session, source="udi", url="https://udi.example/day2.zip", fetched_at=T1,
                              sha256="ef" * 32, size=10)
        write_records(session, [DeviceRecord(cert_no=EYE.cert_no, product_name=EYE.product_name,
                                             description="基于深度学习的眼底照片分析")],
                      WriteContext(source="udi", now=T1, document_id=doc))

    out.runs["govcn_policy"] = _run(sessions, "govcn_policy", "failed", NOW - timedelta(hours=5),
                                    error="LayoutChanged: searchVO not found")
    _run(sessions, "govcn_policy", "ok", T1, fetched=2, new=4)
    _run(sessions, "nmpa_notices", "blocked", NOW - timedelta(hours=2), error="blocked by an anti-bot challenge")
    _run(sessions, "cmde_guidance", "empty", NOW - timedelta(hours=1))
    with sessions.begin() as session:
        doc = record_document(session, source="govcn_policy", url="https://sousuo.www.gov.cn/search-gov/data?q=1",
                              fetched_at=T1, sha256="01" * 32, size=100, http_status=200)
        ctx = WriteContext(source="govcn_policy", now=T1, document_id=doc)
        write_records(session, [
            PolicyRecord(title="人工智能医疗器械注册审查指导原则", url="https://www.nmpa.gov.cn/ylqx/ylqxggtg/20220309111021184.html",
                         issuer="国家药监局", doc_no="2022年第8号", issuer_printed="国家药品监督管理局",
                         doc_no_printed="2022年第8号", doc_type="指导原则", stage="issued",
                         published_on=date(2022, 3, 9), summary="人工智能医疗器械注册申报资料要求",
                         body="为指导人工智能医疗器械注册申报……\n第一章 适用范围",
                         attachments=(Attachment(name="指导原则全文.pdf", url="https://www.nmpa.gov.cn/a.pdf",
                                                 file_type="pdf"),)),
            PolicyRecord(title="深度学习辅助决策医疗器械软件审评要点", url="https://www.cmde.org.cn/flfg/zdyz/1.html",
                         issuer="器审中心", issuer_printed="国家药品监督管理局医疗器械技术审评中心", doc_type="审评要点",
                         stage="issued", published_on=date(2019, 7, 3)),
            PolicyRecord(title="肺结节CT图像辅助检测软件注册审查指导原则（征求意见稿）", url="https://www.cmde.org.cn/zqyj/2.html",
                         issuer="器审中心", doc_type="征求意见稿", stage="draft", published_on=date(2026, 11, 18),
                         body="肺结节 CT 人工智能 辅助检测"),
            PolicyRecord(title=XSS_POLICY, url="javascript:alert(1)", issuer="国家卫健委", doc_type="规范性文件",
                         stage="issued", published_on=date(2026, 10, 1)),
        ], ctx)
    # The text of the AI guidance's PDF, and the seeded draft made the guidance's draft: the attachment page, full-text
    # search and the draft ↔ final comparison have something to show.
    with sessions.begin() as session:
        final_id = session.execute(select(Policy.id).where(Policy.doc_no.contains("2022年第8号"))).scalar_one()
        draft = session.execute(select(Policy).where(Policy.stage == "draft")).scalar_one()
        draft.final_version_id = final_id
        out.attachments["pdf"] = store_attachment(session, FileResult(
            url="https://www.nmpa.gov.cn/a.pdf", name="指导原则全文.pdf", declared_type="pdf", state="ok",
            detail="2 pages", detected_type="pdf", pages=("第一章 适用范围\n第一条 本原则适用于人工智能医疗器械。",
                                                      "第二条 上市后应当开展数据漂移监测。")),
            source="govcn_policy", now=T1, is_sample=False)
        link_attachment(session, final_id, out.attachments["pdf"], 0, "指导原则全文.pdf")
    with sessions() as session:
        out.devices = {name: session.execute(select(Device.id).where(Device.cert_no == rec.cert_no)).scalar_one()
                       for name, rec in (("lung", LUNG), ("eye", EYE), ("ffr", FFR), ("xss", XSS), ("ecg", ECG),
                                         ("pct", PCT), ("polyp", POLYP))}
        titles = {p.title: p.id for p in session.execute(select(Policy)).scalars()}
        out.policies = {"ai_guidance": titles["人工智能医疗器械注册审查指导原则"],
                        "review_points": titles["深度学习辅助决策医疗器械软件审评要点"],
                        "draft": titles["肺结节CT图像辅助检测软件注册审查指导原则（征求意见稿）"],
                        "xss": titles[XSS_POLICY]}
    return out


@dataclass
class WebEnv:
    """A seeded database and an app on it, shared by the read-only tests of one module."""

    app: Flask
    settings: Settings
    sessions: object
    ids: Seeded


_names = itertools.count()


def _database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "web.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"web{os.getpid()}_{next(_names)}"
    engine = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE tracker_template'))
    engine.dispose()
    return cluster.url(name)


def build_env(request, tmp_path) -> WebEnv:
    """Create a migrated database (SQLite or PostgreSQL, after request.param), seed it and build the app."""
    url = _database_url(request, tmp_path)
    settings = Settings(var_dir=tmp_path / "var", database_url=url, secret_key="test-secret")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    ids = seed(settings, sessions)
    engine.dispose()
    return WebEnv(create_app(settings, clock=lambda: NOW), settings, make_session_factory(make_engine(url)), ids)
