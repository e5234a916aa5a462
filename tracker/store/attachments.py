"""Writes for attachments and full text: one `attachment` row per distinct file with its extraction state, the
policy ↔ attachment links, and the `passage` rows search reads (attachment pages, and each policy's body as page 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tracker.extract import states
from tracker.store.models import AttachmentFile, Passage, Policy, PolicyAttachment
from tracker.store.write import insert_for


@dataclass(frozen=True)
class FileResult:
    """What fetching and reading one attachment gave, as the store keeps it."""

    url: str
    name: str
    declared_type: str | None
    state: str
    detail: str
    detected_type: str | None = None
    pages: Sequence[str] = ()
    sha256: str | None = None
    size: int | None = None
    document_id: int | None = None
    fetched_at: datetime | None = None


def find_attachment(session: Session, url: str) -> AttachmentFile | None:
    """The stored attachment at `url`, if any."""
    return session.execute(select(AttachmentFile).where(AttachmentFile.url == url)).scalar_one_or_none()


def store_attachment(session: Session, result: FileResult, *, source: str, now: datetime, is_sample: bool) -> int:
    """Insert or replace the attachment at `result.url` and its passages; returns its id."""
    row = find_attachment(session, result.url)
    if row is None:
        row = AttachmentFile(url=result.url, source=source, is_sample=is_sample)
        session.add(row)
    row.name = result.name[:500]
    row.declared_type, row.detected_type = result.declared_type, result.detected_type
    row.state, row.state_detail = result.state, result.detail
    row.sha256, row.size, row.document_id, row.fetched_at = (result.sha256, result.size, result.document_id,
                                                              result.fetched_at)
    row.pages = len(result.pages)
    row.chars = sum(len(p) for p in result.pages)
    row.extracted_at = now
    session.flush()
    session.execute(delete(Passage).where(Passage.attachment_id == row.id))
    session.add_all(Passage(attachment_id=row.id, page_no=number, text=text)
                    for number, text in enumerate(result.pages, start=1) if text)
    session.flush()
    return row.id


def failed_downloads(session: Session, source: str) -> list[tuple[str, str, str | None]]:
    """(url, name, declared type) of a source's attachments whose download failed (to try again)."""
    return [tuple(row) for row in session.execute(
        select(AttachmentFile.url, AttachmentFile.name, AttachmentFile.declared_type)
        .where(AttachmentFile.source == source, AttachmentFile.state.in_(states.RETRY))
        .order_by(AttachmentFile.id)).all()]


def link_attachment(session: Session, policy_id: int, attachment_id: int, position: int, name: str) -> None:
    """Link a policy to one of its attachments (once; a later listing changes nothing)."""
    stmt = insert_for(session, PolicyAttachment.__table__).values(
        policy_id=policy_id, attachment_id=attachment_id, position=position, name=name[:500])
    session.execute(stmt.on_conflict_do_nothing(index_elements=["policy_id", "attachment_id"]))


def sync_body_passages(session: Session, policy_ids: Iterable[int]) -> None:
    """Make each policy's body passage (page 0) match its body: written, replaced, or removed when empty."""
    ids = sorted(set(policy_ids))
    if not ids:
        return
    bodies = dict(session.execute(select(Policy.id, Policy.body).where(Policy.id.in_(ids))).all())
    current = {pid: passage for pid, passage in session.execute(
        select(Passage.policy_id, Passage).where(Passage.policy_id.in_(ids), Passage.page_no == 0)).all()}
    for pid in ids:
        body = (bodies.get(pid) or "").strip()
        passage = current.get(pid)
        if passage is not None and not body:
            session.delete(passage)
        elif passage is not None and passage.text != body:
            passage.text = body
        elif passage is None and body:
            session.add(Passage(policy_id=pid, page_no=0, text=body))
    session.flush()
