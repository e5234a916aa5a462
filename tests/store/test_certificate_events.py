"""A certificate's life as append-only events, on SQLite and PostgreSQL: notices and UDI records write them, a
correction keeps the original approval date and shows on the timeline with before and after, a re-read writes
nothing, and the database refuses to rewrite history."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from scrapers import nmpa_approvals
from tracker.read import certificates
from tracker.records import ApprovalEvent, DeviceRecord, FieldCorrection
from tracker.store.devices import upsert_approval_events, upsert_devices
from tracker.store.events import approval_kind
from tracker.store.models import CertificateEvent, Device
from tracker.store.write import WriteContext, record_document

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "nmpa_approvals"
NOTICE_18 = "20261118090511678.html"
CORRECTION_19 = "20261119161520456.html"
CERT = "国械注准20213219904"
NOTICE_URL = "https://www.nmpa.gov.cn/zwfw/sdxx/sdxxylqx/qxpjfb/"


def ingest_notice(sessions, clock, name: str, source: str = "nmpa_approvals") -> None:
    raw = (SAMPLES / name).read_bytes()
    events = nmpa_approvals.parse(raw.decode("utf-8"), NOTICE_URL + name)
    with sessions.begin() as session:
        document = record_document(session, source=source, url=NOTICE_URL + name, fetched_at=clock(),
                                   sha256=f"{abs(hash(raw)):064d}"[-64:], size=len(raw))
        upsert_approval_events(session, events, WriteContext(source=source, now=clock(), document_id=document))


def timeline(sessions, cert: str = CERT) -> list[CertificateEvent]:
    with sessions() as session:
        device_id = session.execute(select(Device.id).where(Device.cert_no == cert)).scalar_one()
        return list(session.execute(certificates.timeline(device_id)).scalars())


def test_a_correction_keeps_the_approval_date_and_shows_on_the_timeline(sessions, clock):
    ingest_notice(sessions, clock, NOTICE_18)
    clock.advance(days=1)
    ingest_notice(sessions, clock, CORRECTION_19)
    with sessions() as session:
        device = session.execute(select(Device).where(Device.cert_no == CERT)).scalar_one()
        assert device.issued_on == date(2026, 11, 14)  # the registration's date, not the correction's
        assert device.acceptance_no == "CSZ2600117"
    events = timeline(sessions)
    assert [(e.kind, e.event_date) for e in events] == [
        ("registration", date(2026, 11, 14)), ("correction", date(2026, 11, 19))]
    assert events[1].changes == [{"field": "注册人住所", "before": "上海市样例区样例路1号",
                                  "after": "上海市样例区样例路11号"}]
    assert events[1].source_url.endswith(CORRECTION_19) and events[1].document_id is not None

    clock.advance(days=1)  # reading both notices again, in any order, adds nothing and moves nothing
    ingest_notice(sessions, clock, CORRECTION_19)
    ingest_notice(sessions, clock, NOTICE_18)
    assert [(e.kind, e.event_date) for e in timeline(sessions)] == [
        ("registration", date(2026, 11, 14)), ("correction", date(2026, 11, 19))]
    with sessions() as session:
        assert session.execute(select(Device.issued_on).where(Device.cert_no == CERT)).scalar_one() == \
            date(2026, 11, 14)


def test_a_correction_of_a_device_field_changes_only_that_field(sessions, clock):
    first = ApprovalEvent(cert_no="国械注准20263219991", product_name="样例软件", registrant="样例甲有限公司",
                          acceptance_no="CSZ2609991", issued_on=date(2026, 10, 1), notice_date=date(2026, 10, 2),
                          is_correction=False, raw_row="row", source_url="https://example.org/n1")
    fix = replace(first, product_name="样例软件", issued_on=date(2026, 10, 9), notice_date=date(2026, 10, 9),
                  is_correction=True, source_url="https://example.org/n2", raw_row="fix",
                  corrections=(FieldCorrection("注册人名称", "样例甲有限公司", "样例乙有限公司"),))
    for events in ([first], [fix]):
        with sessions.begin() as session:
            upsert_approval_events(session, events, WriteContext(source="nmpa_approvals", now=clock()))
        clock.advance(hours=1)
    with sessions() as session:
        device = session.execute(select(Device).where(Device.cert_no == first.cert_no)).scalar_one()
        assert (device.registrant, device.issued_on, device.acceptance_no) == (
            "样例乙有限公司", date(2026, 10, 1), "CSZ2609991")


def test_renewal_and_change_notices_by_acceptance_number(sessions, clock):
    assert [approval_kind(a, False) for a in ("CSZ2600117", "JYZ2600001", "CBZ2600002", "X", None)] == [
        "registration", "renewal", "change", "registration", "registration"]
    assert approval_kind("CSZ2600117", True) == "correction"
    base = ApprovalEvent(cert_no="国械注准20263219992", product_name="样例", registrant="样例有限公司",
                         acceptance_no="CSZ2609992", issued_on=date(2021, 5, 1), notice_date=date(2021, 5, 2),
                         is_correction=False, raw_row="r", source_url="https://example.org/a")
    renewal = replace(base, acceptance_no="CYZ2609992", issued_on=date(2026, 4, 30), notice_date=date(2026, 5, 1),
                      source_url="https://example.org/b")
    with sessions.begin() as session:
        upsert_approval_events(session, [base, renewal], WriteContext(source="nmpa_approvals", now=clock()))
    assert [e.kind for e in timeline(sessions, base.cert_no)] == ["registration", "renewal"]
    with sessions() as session:
        since = session.execute(certificates.events_since(date(2026, 1, 1), kinds=["renewal"])).scalars().all()
        assert [(e.cert_no, e.event_date) for e in since] == [(base.cert_no, date(2026, 4, 30))]
        with_renewal = session.execute(select(Device.cert_no).where(
            certificates.has_event(Device.id, "renewal", date(2026, 4, 1), date(2026, 4, 30)))).scalars().all()
        assert with_renewal == [base.cert_no]
        assert session.execute(select(Device.cert_no).where(
            certificates.has_event(Device.id, "renewal", date(2026, 5, 1), None))).scalars().all() == []


def test_udi_records_write_cancellations_and_changes(sessions, clock):
    record = DeviceRecord(cert_no="国械注准20263219993", product_name="样例分析软件", registrant="样例有限公司",
                          model_spec="V1")
    renamed = replace(record, registrant="样例新有限公司", model_spec="V1；V2")  # a new DI's model is no change
    for step in ([record], [renamed], [replace(renamed, withdrawn_on=date(2026, 11, 30))]):
        with sessions.begin() as session:
            upsert_devices(session, step, WriteContext(source="udi", now=clock(), run_id=None))
        clock.advance(days=1)
    events = timeline(sessions, record.cert_no)
    assert [e.kind for e in events] == ["change", "cancellation"]
    assert events[0].changes == [{"field": "registrant", "before": "样例有限公司", "after": "样例新有限公司"}]
    assert events[1].event_date == date(2026, 11, 30)
    with sessions.begin() as session:  # the same record again: nothing new
        upsert_devices(session, [replace(renamed, withdrawn_on=date(2026, 11, 30))],
                       WriteContext(source="udi", now=clock()))
    assert len(timeline(sessions, record.cert_no)) == 2


def test_events_cannot_be_rewritten_or_deleted(sessions, clock):
    ingest_notice(sessions, clock, NOTICE_18)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CertificateEvent)) > 0
    for statement in ("UPDATE certificate_event SET kind = 'renewal'", "DELETE FROM certificate_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with sessions.begin() as session:
                session.execute(text(statement))
