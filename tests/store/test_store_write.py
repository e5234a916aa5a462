"""Store behaviour on SQLite and PostgreSQL: idempotent upserts, one revision per changed field, missing-marking,
append-only history, field ownership between sources."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tracker.records import DeviceRecord
from tracker.store.devices import upsert_devices
from tracker.store.models import Company, Device, DeviceIdentifier, RecordSource, Revision, SourceDocument
from tracker.store.write import WriteContext, mark_missing, record_document


def make_records(n: int) -> list[DeviceRecord]:
    return [
        DeviceRecord(
            cert_no=f"国械注准2023321{i:04d}",
            product_name=f"测试软件{i}",
            registrant=f"测试医疗科技有限公司{i % 37}",
            catalogue_code="21-04",
            model_spec="V1.0",
            description="基于深度学习的影像辅助检测" if i % 2 else "常规影像处理",
            udi_di=(f"0697{i:010d}",),
        )
        for i in range(n)
    ]


def doc(session, clock, n=0) -> int:
    return record_document(session, source="udi", url=f"https://udi.example/file{n}.zip", fetched_at=clock(),
                           sha256=f"{n:064d}", size=1)


def snapshot(session) -> dict:
    """Every row of the tables a re-ingest must not touch, as plain tuples."""
    tables = ("device", "device_identifier", "company", "revision", "record_source")
    return {t: session.execute(text(f"SELECT * FROM {t} ORDER BY id")).all() for t in tables}


def test_same_1000_records_twice_write_nothing(sessions, clock):
    records = make_records(1000)
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock(), document_id=doc(session, clock))
        first = upsert_devices(session, records, ctx)
    assert (first.new, first.changed, first.unchanged) == (1000, 0, 0)
    with sessions() as session:
        before = snapshot(session)
        assert len(before["device"]) == 1000 and len(before["device_identifier"]) == 1000
        assert len(before["company"]) == 37

    clock.advance(days=1)
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock(), document_id=doc(session, clock))
        second = upsert_devices(session, records, ctx)
    assert (second.new, second.changed, second.unchanged) == (0, 0, 1000)
    with sessions() as session:
        after = snapshot(session)
    assert after["device"] == before["device"]
    assert after["revision"] == before["revision"]
    assert after["company"] == before["company"]
    # The same bytes from the same URL are the same document, so not even a provenance link is added.
    assert after["record_source"] == before["record_source"]


def test_one_changed_field_writes_exactly_one_revision(sessions, clock):
    records = make_records(20)
    with sessions.begin() as session:
        upsert_devices(session, records, WriteContext(source="udi", now=clock()))
        revisions_before = session.scalar(select(func.count()).select_from(Revision))

    clock.advance(hours=6)
    changed = list(records)
    changed[7] = replace(changed[7], model_spec="V2.0")
    with sessions.begin() as session:
        result = upsert_devices(session, changed, WriteContext(source="udi", now=clock(), run_id=None))
    assert (result.new, result.changed, result.unchanged) == (0, 1, 19)
    with sessions() as session:
        new_revisions = session.execute(
            select(Revision).where(Revision.changed_at == clock()).order_by(Revision.id)).scalars().all()
        assert session.scalar(select(func.count()).select_from(Revision)) == revisions_before + 1
        device = session.execute(select(Device).where(Device.cert_no == records[7].cert_no)).scalar_one()
    [rev] = new_revisions
    assert (rev.entity_type, rev.entity_id, rev.field, rev.old_value, rev.new_value) == (
        "device", device.id, "model_spec", "V1.0", "V2.0")
    assert device.model_spec == "V2.0" and device.updated_at == clock()


def test_new_device_history_starts_with_its_initial_values(sessions, clock):
    [record] = make_records(1)
    with sessions.begin() as session:
        upsert_devices(session, [record], WriteContext(source="udi", now=clock()))
    with sessions() as session:
        rows = session.execute(select(Revision.field, Revision.old_value, Revision.new_value)).all()
    values = {field: new for field, old, new in rows if old is None}
    assert values["product_name"] == "测试软件0"
    assert values["mgmt_class"] == "3" and values["origin"] == "domestic" and values["first_reg_year"] == "2023"
    assert values["category_code"] == "21"
    assert values["udi_di"] == "06970000000000"


def test_new_identifier_on_known_device_is_a_change(sessions, clock):
    [record] = make_records(1)
    with sessions.begin() as session:
        upsert_devices(session, [record], WriteContext(source="udi", now=clock()))
    clock.advance(days=1)
    with sessions.begin() as session:
        result = upsert_devices(session, [replace(record, udi_di=record.udi_di + ("06971111111111",))],
                                WriteContext(source="udi", now=clock()))
    assert result.changed == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeviceIdentifier)) == 2
        rev = session.execute(select(Revision).where(Revision.changed_at == clock())).scalar_one()
    assert (rev.field, rev.old_value, rev.new_value) == ("udi_di", None, "06971111111111")


def test_complete_listing_marks_absent_devices_missing_never_deleting(sessions, clock):
    records = make_records(5)
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock(), document_id=doc(session, clock, 1))
        upsert_devices(session, records, ctx)
    clock.advance(days=7)
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock(), document_id=doc(session, clock, 2))
        upsert_devices(session, records[:3], ctx)
        assert mark_missing(session, ctx) == 2
    with sessions() as session:
        statuses = dict(session.execute(select(Device.cert_no, Device.status)).all())
        assert session.scalar(select(func.count()).select_from(Device)) == 5
    assert [statuses[r.cert_no] for r in records] == ["active"] * 3 + ["missing"] * 2
    with sessions() as session:
        gone = session.execute(select(Device.cert_no, Revision.old_value, Revision.new_value, Revision.changed_at)
                               .join(Device, Device.id == Revision.entity_id)
                               .where(Revision.entity_type == "device", Revision.field == "status",
                                      Revision.new_value == "missing")).all()
    assert sorted(gone) == sorted((r.cert_no, "active", "missing", clock()) for r in records[3:])

    # Seen again later: back to active, with the history saying so.
    clock.advance(days=1)
    with sessions.begin() as session:
        ctx = WriteContext(source="udi", now=clock(), document_id=doc(session, clock, 3))
        upsert_devices(session, records, ctx)
    with sessions() as session:
        assert set(session.execute(select(Device.status)).scalars()) == {"active"}
        back = session.execute(select(Revision.old_value, Revision.new_value).where(
            Revision.field == "status", Revision.changed_at == clock())).all()
    assert back == [("missing", "active")] * 2


def test_missing_marking_only_touches_devices_of_that_source(sessions, clock):
    records = make_records(2)
    with sessions.begin() as session:
        udi_doc = doc(session, clock, 1)
        other = record_document(session, source="nmpa_approvals", url="https://nmpa.example/1.html",
                                fetched_at=clock(), sha256="f" * 64, size=1)
        upsert_devices(session, records[:1], WriteContext(source="udi", now=clock(), document_id=udi_doc))
        upsert_devices(session, records[1:], WriteContext(source="nmpa_approvals", now=clock(), document_id=other))
        assert mark_missing(session, WriteContext(source="udi", now=clock())) == 1
        assert session.scalar(select(Device.status).where(Device.cert_no == records[1].cert_no)) == "active"


def test_revision_rows_cannot_be_updated_or_deleted(sessions, clock):
    with sessions.begin() as session:
        upsert_devices(session, make_records(1), WriteContext(source="udi", now=clock()))
    for statement in ("UPDATE revision SET new_value = 'forged'", "DELETE FROM revision"):
        with sessions() as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
            session.commit()


def test_another_source_fills_gaps_but_does_not_overwrite(sessions, clock):
    [record] = make_records(1)
    with sessions.begin() as session:
        upsert_devices(session, [record], WriteContext(source="udi", now=clock()))
    notice = DeviceRecord(cert_no=record.cert_no, product_name="测试软件0（通知写法）", registrant=record.registrant,
                          issued_on=date(2023, 5, 6), acceptance_no="CSZ2300001")
    with sessions.begin() as session:
        result = upsert_devices(session, [notice], WriteContext(source="nmpa_approvals", now=clock()))
    assert result.changed == 1
    with sessions() as session:
        device = session.execute(select(Device)).scalar_one()
    assert device.product_name == "测试软件0"  # owned by udi, which saw it first
    assert device.issued_on == date(2023, 5, 6) and device.acceptance_no == "CSZ2300001"
    assert device.field_sources["issued_on"]["source"] == "nmpa_approvals"
    assert device.field_sources["product_name"]["source"] == "udi"


def test_links_every_row_to_its_source_documents(sessions, clock):
    records = make_records(3)
    with sessions.begin() as session:
        d1 = doc(session, clock, 1)
        upsert_devices(session, records, WriteContext(source="udi", now=clock(), document_id=d1))
        d2 = doc(session, clock, 2)
        upsert_devices(session, records[:1], WriteContext(source="udi", now=clock(), document_id=d2))
    with sessions() as session:
        first = session.execute(select(Device.id).where(Device.cert_no == records[0].cert_no)).scalar_one()
        docs = session.execute(select(SourceDocument.url).join(
            RecordSource, RecordSource.document_id == SourceDocument.id).where(
            RecordSource.entity_type == "device", RecordSource.entity_id == first).order_by(SourceDocument.id)
        ).scalars().all()
    assert docs == ["https://udi.example/file1.zip", "https://udi.example/file2.zip"]


def test_same_document_twice_is_one_row(sessions, clock):
    with sessions.begin() as session:
        a = doc(session, clock, 5)
        clock.advance(hours=1)
        b = doc(session, clock, 5)
        assert a == b
        assert session.scalar(select(func.count()).select_from(SourceDocument)) == 1


def test_companies_keep_their_first_seen(sessions, clock):
    with sessions.begin() as session:
        upsert_devices(session, make_records(3), WriteContext(source="udi", now=clock()))
    with sessions() as session:
        names = session.execute(select(Company.name).order_by(Company.name)).scalars().all()
    assert names == [f"测试医疗科技有限公司{i}" for i in range(3)]


def test_revision_text_of_structured_values_is_json_that_reads_back():
    from json import loads

    from tracker.store.write import as_text

    attachments = [{"name": "附件1.docx", "url": "https://x.example/a.docx", "type": "docx"}, {"name": "表", "url": "u"}]
    lines = as_text(attachments).split("\n")
    assert [loads(line) for line in lines] == attachments and "附件1" in lines[0]  # not a Python repr, not \u-escaped
    assert as_text(("06970000099011", "06970000099012")) == "06970000099011\n06970000099012"
    assert as_text({"b": 1, "a": date(2026, 1, 2)}) == '{"a": "2026-01-02", "b": 1}'
    assert (as_text(True), as_text(date(2026, 1, 2)), as_text(None), as_text(3)) == ("true", "2026-01-02", None, "3")
