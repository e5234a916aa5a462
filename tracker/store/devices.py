"""Writes for the device side: certificates, their UDI-DIs, registrants, approval events and approval news.

What the sources say happened to a certificate is also written as events (tracker.store.events): a notice row is
a registration, change, renewal or correction; a UDI record can bring a cancellation or a change.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracker.ids import certno
from tracker.records import ApprovalEvent, DeviceRecord, NewsRecord
from tracker.store import events as cert_events
from tracker.store.models import ApprovalEventRow, Company, Device, DeviceIdentifier, NewsDevice, NewsItem
from tracker.store.write import Counts, WriteContext, add_revisions, chunks, insert_for, link_sources, merge_fields

# Fields a source may set on a device; everything else is derived (status, category, company link, AI flag).
DEVICE_FIELDS = (
    "product_name", "brand", "registrant", "registrant_en", "credit_code", "mgmt_class", "origin", "first_reg_year",
    "catalogue_code", "model_spec", "description", "device_kind", "issued_on", "acceptance_no", "di_published_on",
    "withdrawn_on",
)
BATCH_SIZE = 500


@dataclass
class DeviceWrite(Counts):
    """Counts of a device write plus the ids it touched (to classify) and saw (for missing-marking)."""

    touched_ids: set[int] = field(default_factory=set)
    seen_ids: set[int] = field(default_factory=set)

    def merge(self, other: "DeviceWrite") -> None:
        """Accumulate another batch."""
        self.add(other)
        self.touched_ids |= other.touched_ids
        self.seen_ids |= other.seen_ids


def upsert_devices(session: Session, records: Iterable[DeviceRecord], ctx: WriteContext, *,
                   events: bool = True) -> DeviceWrite:
    """Insert or update devices (and their DIs and registrants) in batches; idempotent for unchanged records.

    With `events` (records from a register such as UDI), a new withdrawal date is a cancellation event and a changed
    registration field of a stored certificate a change event; notices write their own events instead.
    """
    total = DeviceWrite()
    batch: list[DeviceRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            total.merge(_upsert_batch(session, batch, ctx, events))
            batch = []
    if batch:
        total.merge(_upsert_batch(session, batch, ctx, events))
    return total


def _merge_duplicates(records: list[DeviceRecord]) -> dict[str, DeviceRecord]:
    merged: dict[str, DeviceRecord] = {}
    for record in records:
        prior = merged.get(record.cert_no)
        if prior is not None:
            dis = tuple(sorted(set(prior.udi_di) | set(record.udi_di)))
            record = replace(record, udi_di=dis)
        merged[record.cert_no] = record
    return merged


def _incoming_values(record: DeviceRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in DEVICE_FIELDS}
    values["product_name"] = record.product_name or None
    parsed = certno.try_parse(record.cert_no)
    if parsed is not None:
        values["mgmt_class"] = values["mgmt_class"] or parsed.mgmt_class
        values["origin"] = values["origin"] or parsed.origin
        values["first_reg_year"] = values["first_reg_year"] or parsed.year
        values["category_code"] = parsed.category
    return values


def _status(values: dict[str, Any]) -> str:
    return "cancelled" if values.get("withdrawn_on") else "active"


def _upsert_batch(session: Session, records: list[DeviceRecord], ctx: WriteContext, events: bool) -> DeviceWrite:
    out = DeviceWrite()
    event_rows: list[dict] = []
    merged = _merge_duplicates(records)
    company_ids = ensure_companies(session, merged.values(), ctx)
    table = Device.__table__
    existing = {
        row["cert_no"]: dict(row)
        for row in session.execute(select(table).where(table.c.cert_no.in_(list(merged)))).mappings()
    }
    new_rows, revisions = [], []
    for cert, record in merged.items():
        incoming = _incoming_values(record)
        old = existing.get(cert)
        if old is None:
            changes, owners = merge_fields(None, incoming, {}, ctx.source, ctx.document_id)
            new_rows.append({
                **{name: None for name in (*DEVICE_FIELDS, "category_code")}, **changes,
                "cert_no": cert, "status": _status(changes), "company_id": company_ids.get(record.registrant or ""),
                "is_sample": ctx.is_sample, "field_sources": owners, "first_seen": ctx.now, "updated_at": ctx.now,
                "is_ai": False, "ai_confidence": 0.0,
            })
            continue
        if old.get("di_published_on") and incoming.get("di_published_on"):
            incoming["di_published_on"] = min(old["di_published_on"], incoming["di_published_on"])
        changes, owners = merge_fields(old, incoming, old.get("field_sources") or {}, ctx.source,
                                       ctx.document_id)
        status = "cancelled" if (changes.get("withdrawn_on") or old.get("withdrawn_on")) else "active"
        if status != old["status"]:
            changes["status"] = status
        if old["is_sample"] and not ctx.is_sample:
            changes["is_sample"] = False
        revisions += [(old["id"], name, old.get(name), value) for name, value in changes.items()]
        if events:
            event_rows += cert_events.udi_event_rows(old["id"], cert, old, changes, ctx, record.source_url)
        company_id = company_ids.get(record.registrant or "")
        extra = {"company_id": company_id} if company_id and company_id != old["company_id"] else {}
        if changes or owners != (old.get("field_sources") or {}) or extra:
            session.execute(
                update(table).where(table.c.id == old["id"]).values(
                    **changes, **extra, field_sources=owners, updated_at=ctx.now
                )
            )
        if changes:
            out.changed += 1
            out.touched_ids.add(old["id"])
    if new_rows:
        session.execute(insert_for(session, table).on_conflict_do_nothing(index_elements=["cert_no"]), new_rows)
        ids = dict(session.execute(
            select(table.c.cert_no, table.c.id).where(table.c.cert_no.in_([r["cert_no"] for r in new_rows]))
        ).all())
        for row in new_rows:
            device_id = ids[row["cert_no"]]
            out.new += 1
            out.touched_ids.add(device_id)
            existing[row["cert_no"]] = {"id": device_id}
            revisions += [
                (device_id, name, None, row[name])
                for name in (*DEVICE_FIELDS, "category_code", "status") if row.get(name) is not None
            ]
            if events:
                event_rows += cert_events.udi_event_rows(device_id, row["cert_no"], None, row, ctx,
                                                         merged[row["cert_no"]].source_url)
    id_by_cert = {cert: existing[cert]["id"] for cert in merged}
    di_changed = _add_identifiers(session, merged, id_by_cert, ctx, revisions)
    for device_id in di_changed - out.touched_ids:
        out.changed += 1
        out.touched_ids.add(device_id)
    add_revisions(session, "device", revisions, ctx)
    cert_events.record_events(session, event_rows)
    out.seen_ids = set(id_by_cert.values())
    out.unchanged = len(merged) - out.new - out.changed
    link_sources(session, "device", out.seen_ids, ctx)
    return out


def _add_identifiers(
    session: Session, merged: dict[str, DeviceRecord], id_by_cert: dict[str, int], ctx: WriteContext,
    revisions: list,
) -> set[int]:
    """Store DIs not seen before; returns the ids of devices that gained one."""
    wanted = {di: id_by_cert[cert] for cert, record in merged.items() for di in record.udi_di}
    if not wanted:
        return set()
    known: set[str] = set()
    for chunk in chunks(sorted(wanted), 900):
        known |= set(session.execute(
            select(DeviceIdentifier.udi_di).where(DeviceIdentifier.udi_di.in_(chunk))
        ).scalars())
    fresh = [{"device_id": wanted[di], "udi_di": di, "first_seen": ctx.now} for di in sorted(wanted) if di not in known]
    if fresh:
        stmt = insert_for(session, DeviceIdentifier.__table__).on_conflict_do_nothing(index_elements=["udi_di"])
        session.execute(stmt, fresh)
        revisions += [(row["device_id"], "udi_di", None, row["udi_di"]) for row in fresh]
    return {row["device_id"] for row in fresh}


def ensure_companies(session: Session, records: Iterable[DeviceRecord], ctx: WriteContext) -> dict[str, int]:
    """Registrant name → company id, creating companies seen for the first time."""
    info = {r.registrant: r for r in records if r.registrant}
    if not info:
        return {}
    payload = [
        {"name": name, "name_en": r.registrant_en, "credit_code": r.credit_code, "first_seen": ctx.now}
        for name, r in sorted(info.items())
    ]
    session.execute(insert_for(session, Company.__table__).on_conflict_do_nothing(index_elements=["name"]), payload)
    return dict(session.execute(select(Company.name, Company.id).where(Company.name.in_(list(info)))).all())


def upsert_approval_events(session: Session, events: Iterable[ApprovalEvent], ctx: WriteContext) -> DeviceWrite:
    """Store approval-notice rows, merge what they say into the device of their certificate, and write each row as a
    certificate event.

    Only the newest registration notice of a certificate (by notice date) speaks for the device: re-reading an older
    notice must not undo a newer one. A correction is not a registration: it never sets the approval date or the
    acceptance number, and changes only the device fields it names (product name, registrant); what else it
    corrects (an address, …) is on the certificate's timeline with its before and after values.
    """
    events = list(events)
    issued = [e for e in events if not e.is_correction]
    newest_stored = _newest_event_keys(session, {e.cert_no for e in issued})
    newest: dict[str, ApprovalEvent] = {}
    for e in issued:
        if _event_key(e) >= newest_stored.get(e.cert_no, _event_key(e)) and (
                e.cert_no not in newest or _event_key(e) >= _event_key(newest[e.cert_no])):
            newest[e.cert_no] = e
    device_records = [
        DeviceRecord(
            cert_no=e.cert_no, product_name=e.product_name, registrant=e.registrant,
            issued_on=e.issued_on, acceptance_no=e.acceptance_no, source_url=e.source_url,
        )
        for e in newest.values()
    ]
    out = upsert_devices(session, device_records, ctx, events=False)
    # Corrections after the registrations (one record per certificate and call: a batch keeps the last one).
    corrections = sorted((e for e in events if e.is_correction), key=_event_key)
    for e in corrections:
        stored = session.execute(select(Device.id).where(Device.cert_no == e.cert_no)).first() is not None
        fixed = upsert_devices(session, [_corrected_record(e, stored)], ctx, events=False)
        out.new += fixed.new
        out.changed += fixed.changed
        out.touched_ids |= fixed.touched_ids
        out.seen_ids |= fixed.seen_ids
    stale = {e.cert_no for e in issued} - set(newest)
    out.unchanged += len(stale)
    ids = dict(session.execute(
        select(Device.cert_no, Device.id).where(Device.cert_no.in_({e.cert_no for e in events}))
    ).all()) if events else {}
    rows = [
        {
            "device_id": ids[e.cert_no], "cert_no": e.cert_no, "notice_url": e.source_url or "",
            "acceptance_no": e.acceptance_no or "", "product_name": e.product_name, "registrant": e.registrant,
            "issued_on": e.issued_on, "notice_date": e.notice_date, "is_correction": e.is_correction,
            "raw_row": e.raw_row, "first_seen": ctx.now,
        }
        for e in events
    ]
    link_sources(session, "device", [ids[cert] for cert in stale], ctx)  # older notices are provenance too
    if rows:
        stmt = insert_for(session, ApprovalEventRow.__table__).on_conflict_do_nothing(
            index_elements=["cert_no", "notice_url", "acceptance_no"]
        )
        session.execute(stmt, rows)
    cert_events.record_events(session, cert_events.approval_event_rows(events, ids, ctx))
    return out


def _corrected_record(event: ApprovalEvent, stored: bool) -> DeviceRecord:
    """What a correction row may say of a device: the fields it corrects that are device columns; for a certificate
    not stored yet, also the product and registrant as the row names them. Empty values change nothing."""
    corrected = {cert_events.CORRECTABLE[c.field]: c.after for c in event.corrections
                 if c.field in cert_events.CORRECTABLE and c.after}
    if not stored:
        corrected = {"product_name": event.product_name, "registrant": event.registrant, **corrected}
    return DeviceRecord(cert_no=event.cert_no, product_name=corrected.get("product_name") or "",
                        registrant=corrected.get("registrant"), source_url=event.source_url)


def _event_key(event: ApprovalEvent) -> tuple:
    return (event.notice_date or date.min,)


def _newest_event_keys(session: Session, certs: set[str]) -> dict[str, tuple]:
    rows = session.execute(
        select(ApprovalEventRow.cert_no, ApprovalEventRow.notice_date)
        .where(ApprovalEventRow.cert_no.in_(certs), ApprovalEventRow.is_correction.is_(False))
    ).all() if certs else []
    newest: dict[str, tuple] = {}
    for cert, notice_date in rows:
        key = (notice_date or date.min,)
        newest[cert] = max(newest.get(cert, key), key)
    return newest


def upsert_news(session: Session, items: Iterable[NewsRecord], ctx: WriteContext) -> Counts:
    """Store approval news (new by URL; a changed title or summary writes revisions) and link it to devices."""
    out = Counts()
    fields = ("title", "published_on", "summary", "products", "companies", "cert_nos")
    for item in items:
        values = {
            "title": item.title, "published_on": item.published_on, "summary": item.summary,
            "products": list(item.products), "companies": list(item.companies), "cert_nos": list(item.cert_nos),
        }
        row = session.execute(select(NewsItem).where(NewsItem.url == item.url)).scalar_one_or_none()
        if row is None:
            row = NewsItem(url=item.url, is_sample=ctx.is_sample, first_seen=ctx.now, **values)
            session.add(row)
            session.flush()
            add_revisions(session, "news", [(row.id, f, None, values[f]) for f in fields if values[f]], ctx)
            out.new += 1
        else:
            changed = [(row.id, f, getattr(row, f), values[f]) for f in fields if getattr(row, f) != values[f]]
            for _id, name, _old, new in changed:
                setattr(row, name, new)
            add_revisions(session, "news", changed, ctx)
            out.changed += bool(changed)
            out.unchanged += not changed
        link_sources(session, "news", [row.id], ctx)
    link_news_to_devices(session)
    return out


# Why a news item is linked to a device, as reason codes (their texts: tracker.classify.reasons).
NEWS_BY_CERTIFICATE = "news.certificate"
NEWS_BY_PRODUCT = "news.product_registrant"


def link_news_to_devices(session: Session) -> int:
    """Link every news item to the devices it names (by certificate, else product + registrant); returns new links.

    Run after device and news writes alike, since a news item can arrive before the certificate it announces.
    """
    known = set(session.execute(select(NewsDevice.news_id, NewsDevice.device_id)).tuples())
    added = 0
    for news in session.execute(select(NewsItem)).scalars():
        candidates: dict[int, tuple[str, dict[str, str]]] = {}
        if news.cert_nos:
            for device_id, cert in session.execute(
                select(Device.id, Device.cert_no).where(Device.cert_no.in_(news.cert_nos))
            ).all():
                candidates[device_id] = (NEWS_BY_CERTIFICATE, {"cert": cert})
        for product in news.products or []:
            query = select(Device.id, Device.registrant).where(Device.product_name == product)
            for device_id, registrant in session.execute(query).all():
                if registrant and registrant in (news.companies or []):
                    candidates.setdefault(device_id, (NEWS_BY_PRODUCT, {"product": product, "registrant": registrant}))
        for device_id, (code, params) in candidates.items():
            if (news.id, device_id) not in known:
                session.add(NewsDevice(news_id=news.id, device_id=device_id, reason_code=code, reason_params=params))
                added += 1
    session.flush()
    return added
