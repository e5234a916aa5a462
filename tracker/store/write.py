"""The one write path: idempotent upserts that record field-level revisions and link rows to source documents.

Every writer here follows the same pattern so a re-run of unchanged data writes nothing:
load the existing rows for a batch of keys, compare field by field, INSERT … ON CONFLICT DO NOTHING the new ones,
UPDATE only changed fields, and append one `revision` row per changed field.

Which source may overwrite a field: the first source that fills a field owns it (`field_sources`, see `merge_fields`);
another source only fills gaps. Without that, two sources that spell a product name differently would flip it on every alternate run and
flood the history with revisions that mean nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from psycopg import sql
from sqlalchemy import Integer, String, Table, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker.store.models import Device, RecordSource, Revision, SourceDocument


@dataclass(frozen=True)
class WriteContext:
    """Who is writing and when: the run, the source document the records came from, the time, sample or live."""

    source: str
    now: datetime
    run_id: int | None = None
    document_id: int | None = None
    is_sample: bool = False
    actor: str | None = None


@dataclass
class Counts:
    """What a write did; `touched_ids` are rows new or changed (to classify)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing: int = 0

    def add(self, other: "Counts") -> None:
        """Accumulate another batch's counts."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.missing += other.missing


def insert_for(session: Session, table: Table):
    """A dialect-specific INSERT (SQLite or PostgreSQL) that supports ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")


def as_text(value: Any) -> str | None:
    """How a field value is written into a revision row (stable text: ISO dates, 'true'/'false', one line per list item,
    JSON for structured items)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "\n".join(v if isinstance(v, str) else _json(v) for v in value)
    if isinstance(value, dict):
        return _json(value)
    return str(value)


def _json(value: Any) -> str:
    # Attachments are dicts: JSON reads back and shows as data, where str() would give a Python repr.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def add_revisions(session: Session, entity_type: str, rows: Iterable[tuple[int, str, Any, Any]], ctx: WriteContext) -> int:
    """Append revision rows (entity id, field, old, new) in one statement; returns how many were written."""
    payload = [
        {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "field": field,
            "old_value": as_text(old),
            "new_value": as_text(new),
            "run_id": ctx.run_id,
            "actor": ctx.actor,
            "changed_at": ctx.now,
        }
        for entity_id, field, old, new in rows
    ]
    append_rows(session, Revision.__table__, payload)
    return len(payload)


def append_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain INSERT of many rows with the same keys (no conflict handling: for append-only tables such as revisions).

    PostgreSQL gets one COPY: an executemany sends every row as its own statement (a full release's first ingest
    writes some 300,000 revisions, which took most of the store's time on PostgreSQL). SQLite runs in process, where
    an executemany is already cheap.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name),
                                                   sql.SQL(", ").join(map(sql.Identifier, columns)))
    # The session's own connection, so the rows are part of its transaction.
    driver_connection = session.connection().connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(copy) as out:
        for row in rows:
            out.write_row([row[column] for column in columns])


def merge_fields(
    existing: dict[str, Any] | None, incoming: dict[str, Any], field_sources: dict[str, Any], source: str,
    document_id: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The field changes an incoming record may make to an existing row, and the updated field ownership.

    `field_sources` maps a field to {"source": slug, "document": id} of what last set it. A None incoming value
    never blanks a field (a source that does not know a field says nothing about it). Another source only fills
    gaps; the owning source overwrites, except from a document stored before the one that set the value: sources
    are read oldest first, so an older document read again must not undo a newer one.
    """
    changes: dict[str, Any] = {}
    owners = dict(field_sources)
    for field, value in incoming.items():
        if value is None or value == "" or value == ():
            continue
        old = None if existing is None else existing.get(field)
        owner = owners.get(field) or {}
        if old is not None and owner:
            if owner.get("source") != source:
                continue
            if document_id is not None and owner.get("document") is not None and document_id < owner["document"]:
                continue
        if old != value or not owner:
            if old != value:
                changes[field] = value
            owners[field] = {"source": source, "document": document_id}
    return changes, owners


def link_sources(session: Session, entity_type: str, entity_ids: Iterable[int], ctx: WriteContext) -> None:
    """Link rows to the source document they came from (a link that exists already is left alone)."""
    if ctx.document_id is None:
        return
    payload = [
        {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "document_id": ctx.document_id,
            "run_id": ctx.run_id,
            "linked_at": ctx.now,
        }
        for entity_id in sorted(set(entity_ids))
    ]
    if payload:
        stmt = insert_for(session, RecordSource.__table__).on_conflict_do_nothing(
            index_elements=["entity_type", "entity_id", "document_id"]
        )
        session.execute(stmt, payload)


def record_document(
    session: Session,
    *,
    source: str,
    url: str,
    fetched_at: datetime,
    sha256: str,
    size: int,
    http_status: int | None = None,
    content_type: str | None = None,
    warc_path: str | None = None,
    warc_offset: int | None = None,
    warc_length: int | None = None,
    key: str | None = None,
    run_id: int | None = None,
    is_sample: bool = False,
) -> int:
    """The id of the source document with this URL and content hash, stored on first sight.

    The same bytes fetched again from the same URL are the same document: provenance keeps the first fetch
    (and the run record counts the fetch), so a re-run of unchanged data adds no document row.
    """
    values = dict(
        source=source, url=url, key=key, fetched_at=fetched_at, http_status=http_status, content_type=content_type,
        sha256=sha256, size=size, warc_path=warc_path, warc_offset=warc_offset, warc_length=warc_length,
        is_sample=is_sample, run_id=run_id,
    )
    stmt = insert_for(session, SourceDocument.__table__).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["url", "sha256"]))
    return session.execute(
        select(SourceDocument.id).where(SourceDocument.url == url, SourceDocument.sha256 == sha256)
    ).scalar_one()


def mark_missing(session: Session, ctx: WriteContext) -> int:
    """Mark devices of `ctx.source` absent from a complete listing as missing (never deleted); returns the count.

    The listing is the source document `ctx.document_id`, stored in full before this call: the devices it holds are
    those its writes linked to it (`record_source`), so the question is one statement in the database, whatever the
    size of the release, and nothing of the listing is held in memory. Only call this after a complete listing was
    stored in full: an empty or failed run must mark nothing.
    """
    of_source = (select(RecordSource.id).join(SourceDocument, SourceDocument.id == RecordSource.document_id)
                 .where(RecordSource.entity_type == "device", RecordSource.entity_id == Device.id,
                        SourceDocument.source == ctx.source))
    in_listing = select(RecordSource.id).where(
        RecordSource.entity_type == "device", RecordSource.entity_id == Device.id,
        RecordSource.document_id == ctx.document_id)
    if session.get_bind().dialect.name == "postgresql":
        # This run's rows may be most of these tables, and statistics are only as fresh as the last ANALYZE
        # (autovacuum's comes a minute or more after the commit). Without them PostgreSQL read record_source once
        # per device, quadratic in the release: 1.2 s at 3,334 devices, 2 ms after an ANALYZE (which counts the
        # transaction's own rows).
        session.execute(text("ANALYZE device, record_source, source_document"))
    conditions = [Device.status == "active", of_source.exists(), ~in_listing.exists()]
    if ctx.document_id is not None:
        # Documents stored after this listing hold newer knowledge (sources are read oldest first): a device they
        # vouch for is not missing just because an older complete listing (read again) lacks it.
        conditions.append(~of_source.where(SourceDocument.id > ctx.document_id).exists())
    # The revisions first, while the rows still say "active"; then the rows. Both are INSERT … SELECT / UPDATE … WHERE
    # on the same condition inside the caller's transaction, so they name the same devices.
    revisions = select(
        literal("device"), Device.id, literal("status"), literal("active"), literal("missing"),
        literal(ctx.run_id, Integer), literal(ctx.actor, String), literal(ctx.now, Revision.changed_at.type),
    ).where(*conditions)
    session.execute(insert(Revision).from_select(
        ["entity_type", "entity_id", "field", "old_value", "new_value", "run_id", "actor", "changed_at"], revisions))
    marked = session.execute(update(Device).where(*conditions).values(status="missing", updated_at=ctx.now)
                             .execution_options(synchronize_session=False))
    return marked.rowcount


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
