"""UDI files through `ingest_path` on SQLite and PostgreSQL: oldest file first, DIs grouped under their certificate,
approval notices merged on the certificate number, and reading the same files again changes nothing."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from scrapers import nmpa_approvals, udi
from tracker.ingest.run import ingest_path
from tracker.store.models import Device, DeviceIdentifier, Revision

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def table_counts(session):
    return [session.scalar(select(func.count()).select_from(m)) for m in (Device, DeviceIdentifier, Revision)]


def test_udi_samples_in_date_order_mark_nothing_missing_and_reprocessing_changes_nothing(settings, sessions, clock):
    first = ingest_path(settings, sessions, udi, SAMPLES / "udi", now=clock)
    assert first.outcome == "ok" and first.new > 0 and first.missing == 0
    assert first.skipped > 0 and first.out_of_scope > 0  # malformed rows counted, class II and filings left out
    with sessions() as session:
        before = table_counts(session)
        classes = set(session.execute(select(Device.mgmt_class)).scalars())
        assert classes == {3}
        assert session.scalar(select(func.count()).select_from(Device).where(Device.is_ai.is_(True))) >= 5

    clock.advance(days=1)
    again = ingest_path(settings, sessions, udi, SAMPLES / "udi", now=clock)
    assert (again.new, again.changed, again.unchanged_documents) == (0, 0, again.fetched)
    clock.advance(days=1)
    reparsed = ingest_path(settings, sessions, udi, SAMPLES / "udi", now=clock, reprocess=True)
    assert (reparsed.new, reparsed.changed, reparsed.missing) == (0, 0, 0)
    with sessions() as session:
        assert table_counts(session) == before


def test_approval_notices_merge_with_udi_on_the_certificate(settings, sessions, clock):
    assert ingest_path(settings, sessions, udi, SAMPLES / "udi", now=clock).outcome == "ok"
    assert ingest_path(settings, sessions, nmpa_approvals, SAMPLES / "nmpa_approvals", now=clock).outcome == "ok"
    with sessions() as session:
        merged = session.execute(select(Device).where(Device.issued_on.is_not(None),
                                                      Device.di_published_on.is_not(None))).scalars().all()
        assert merged, "a certificate in both sources shows its issue date and its DIs together"
        for device in merged:
            dis = session.scalar(select(func.count()).select_from(DeviceIdentifier).where(
                DeviceIdentifier.device_id == device.id))
            assert dis > 0
            assert device.field_sources["issued_on"]["source"] == "nmpa_approvals"
