"""A certificate's life as events: first registration, change (变更注册), renewal (延续注册), correction (纠错),
cancellation (注销) and expiry, each with its date, the document that says so and what it changed.

Events are append-only (`certificate_event`; database triggers refuse UPDATE and DELETE): a later notice adds an
event and never rewrites an earlier one, which is what keeps a certificate's approval date its registration's date
when a correction follows. Every event has a `key` built from what identifies it in its source, so reading the same
document again writes nothing (INSERT … ON CONFLICT DO NOTHING).

Who writes what:
- an approval-delivery notice row → registration, change or renewal, by the acceptance number's second letter
  (C/J + S 首次 / B 变更 / Y 延续 + Z 注册, e.g. CSZ2600117); a letter this table does not know counts as a
  registration, the notice's own subject. A correction notice row → correction, with the fields it corrects;
- a UDI record → cancellation when it brings a withdrawal date (退市日期), change when it changes a registration
  field of a certificate already stored (dated the day the tracker saw it: UDI does not date the change).
Migration 0008 built the events of rows stored before this module existed with the same keys.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from sqlalchemy.orm import Session

from tracker.records import ApprovalEvent
from tracker.store.models import CertificateEvent
from tracker.store.write import WriteContext, chunks, insert_for

EVENT_KINDS = ("registration", "change", "renewal", "correction", "cancellation", "expiry")
_KIND_BY_LETTER = {"S": "registration", "B": "change", "Y": "renewal"}
# Certificate fields only a 变更注册 changes; a UDI record that changes one of them on a stored certificate is a
# change event. Model, description and brand are left out: UDI gives them per DI, and the certificate's value is
# assembled from whichever DIs a file holds, so it moves between files without any change of the registration.
CHANGE_FIELDS = ("product_name", "registrant", "registrant_en", "catalogue_code")
# Fields a correction notice names (as NMPA prints them) that are device columns; others (注册人住所, …) are only
# shown on the timeline.
CORRECTABLE = {"产品名称": "product_name", "注册人名称": "registrant", "注册人": "registrant"}


def approval_kind(acceptance_no: str | None, is_correction: bool) -> str:
    """The event kind of an approval-notice row (see the module docstring)."""
    if is_correction:
        return "correction"
    return _KIND_BY_LETTER.get((acceptance_no or "")[1:2].upper(), "registration")


def approval_event_rows(events: Iterable[ApprovalEvent], ids: dict[str, int], ctx: WriteContext) -> list[dict]:
    """The certificate_event rows of approval-notice rows (`ids`: certificate number → device id)."""
    rows = []
    for e in events:
        kind = approval_kind(e.acceptance_no, e.is_correction)
        rows.append(_row(
            key=f"{ctx.source}|{kind}|{e.cert_no}|{e.source_url or ''}|{e.acceptance_no or ''}",
            device_id=ids[e.cert_no], cert_no=e.cert_no, kind=kind, event_date=e.issued_on or e.notice_date,
            source_url=e.source_url, ctx=ctx,
            changes=[{"field": c.field, "before": c.before, "after": c.after} for c in e.corrections],
            detail={"acceptance_no": e.acceptance_no, "row": e.raw_row}))
    return rows


def udi_event_rows(device_id: int, cert_no: str, old: dict[str, Any] | None, changes: dict[str, Any],
                   ctx: WriteContext, source_url: str | None = None) -> list[dict]:
    """Events a device record's changes say: cancellation (a new withdrawal date), change (registration fields of a
    stored certificate); `old` is None for a certificate seen for the first time."""
    rows = []
    withdrawn = changes.get("withdrawn_on")
    if withdrawn:
        rows.append(_row(key=f"{ctx.source}|cancellation|{cert_no}|{withdrawn}", device_id=device_id,
                         cert_no=cert_no, kind="cancellation", event_date=withdrawn, source_url=source_url, ctx=ctx))
    if old is not None:
        changed = [{"field": name, "before": _text(old.get(name)), "after": _text(changes[name])}
                   for name in CHANGE_FIELDS if name in changes and old.get(name) is not None]
        if changed:
            rows.append(_row(key=f"{ctx.source}|change|{cert_no}|{ctx.run_id}|{ctx.document_id}|{ctx.now.isoformat()}",
                             device_id=device_id, cert_no=cert_no, kind="change", event_date=ctx.now.date(),
                             source_url=source_url, ctx=ctx, changes=changed, detail={"dated": "recorded"}))
    return rows


def record_events(session: Session, rows: list[dict]) -> int:
    """Append events not stored yet (by key); returns how many were new."""
    added = 0
    for chunk in chunks(rows, 500):
        stmt = insert_for(session, CertificateEvent.__table__).on_conflict_do_nothing(index_elements=["key"])
        added += max(session.execute(stmt, list(chunk)).rowcount or 0, 0)
    return added


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _row(*, key: str, device_id: int, cert_no: str, kind: str, event_date: date | None, source_url: str | None,
         ctx: WriteContext, changes: list | None = None, detail: dict | None = None) -> dict:
    return {"key": key, "device_id": device_id, "cert_no": cert_no, "kind": kind, "event_date": event_date,
            "source": ctx.source, "source_url": source_url or None, "document_id": ctx.document_id,
            "run_id": ctx.run_id, "changes": changes or [], "detail": detail or {}, "recorded_at": ctx.now}
