"""Writes for the policy side: one policy per document across sources, and drafts linked to their final versions
(guidance is linked to the devices it concerns in `tracker.classify.links`).

How one document is recognised when several sources list it (gov.cn and NMPA often both do): the de-duplication key
(`docno.policy_key`: the document number, else title + issuer + date), else the same URL, else the same core title
(`docno.core_title`, draft markers and "关于发布…的通告" wrapper removed) at dates no more than a week apart. A draft and
its final version share a core title, so drafts only match drafts; they are linked instead (`final_version_id`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tracker.ids import docno, policytype
from tracker.records import PolicyRecord
from tracker.store.attachments import sync_body_passages
from tracker.store.models import Policy
from tracker.store.write import Counts, WriteContext, add_revisions, link_sources, merge_fields

POLICY_FIELDS = ("title", "issuer", "doc_no", "issuer_printed", "doc_no_printed", "doc_type", "stage", "published_on",
                 "written_on", "url", "summary", "body", "subject", "attachments")
SAME_DOCUMENT_WINDOW = timedelta(days=7)


@dataclass
class PolicyWrite(Counts):
    """Counts of a policy write plus the ids of new or changed policies (to classify)."""

    touched_ids: set[int] = field(default_factory=set)


def title_key(title: str) -> str:
    """The comparable core of a title (see module docstring)."""
    return docno.policy_key(None, docno.core_title(title), None, None).removeprefix("t:").rstrip("|")


def not_draft(stage: Any) -> Any:
    """SQL twin of `not policytype.is_draft(stage)` (a policy with no stage is not a draft)."""
    return or_(stage.is_(None), stage != policytype.DRAFT)


def _values(record: PolicyRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in POLICY_FIELDS}
    values["attachments"] = [dataclasses.asdict(a) for a in record.attachments] or None
    return values


def _find_existing(session: Session, record: PolicyRecord, key: str, tkey: str) -> Policy | None:
    found = session.execute(select(Policy).where(or_(Policy.key == key, Policy.url == record.url))).scalars().first()
    if found is not None:
        return found
    for candidate in session.execute(select(Policy).where(Policy.title_key == tkey)).scalars():
        if policytype.is_draft(candidate.stage) != policytype.is_draft(record.stage):
            continue
        if candidate.published_on and record.published_on and \
                abs(candidate.published_on - record.published_on) > SAME_DOCUMENT_WINDOW:
            continue
        return candidate
    return None


def upsert_policies(session: Session, records: Iterable[PolicyRecord], ctx: WriteContext) -> PolicyWrite:
    """Insert or update policies, one row per document whichever source lists it; revisions for every change."""
    out = PolicyWrite()
    for record in records:
        key = docno.policy_key(record.doc_no, record.title, record.issuer, record.published_on)
        tkey = title_key(record.title)
        incoming = _values(record)
        row = _find_existing(session, record, key, tkey)
        if row is None:
            changes, owners = merge_fields(None, incoming, {}, ctx.source, ctx.document_id)
            row = Policy(
                key=key, title_key=tkey, **{name: None for name in POLICY_FIELDS}, is_sample=ctx.is_sample,
                field_sources=owners, first_seen=ctx.now, updated_at=ctx.now, status="active", is_ai=False,
            )
            for name, value in changes.items():
                setattr(row, name, value)
            row.attachments = row.attachments or []
            session.add(row)
            session.flush()
            add_revisions(session, "policy", [(row.id, n, None, v) for n, v in changes.items()], ctx)
            out.new += 1
            out.touched_ids.add(row.id)
        else:
            current = {name: getattr(row, name) for name in POLICY_FIELDS}
            changes, owners = merge_fields(current, incoming, row.field_sources or {}, ctx.source,
                                          ctx.document_id)
            if changes or owners != (row.field_sources or {}):
                for name, value in changes.items():
                    setattr(row, name, value)
                row.field_sources = owners
                if changes:
                    row.updated_at = ctx.now
                    if "title" in changes:
                        row.title_key = title_key(row.title)
            add_revisions(session, "policy", [(row.id, n, current[n], v) for n, v in changes.items()], ctx)
            if changes:
                out.changed += 1
                out.touched_ids.add(row.id)
            else:
                out.unchanged += 1
        link_sources(session, "policy", [row.id], ctx)
    session.flush()
    sync_body_passages(session, out.touched_ids)
    link_drafts(session, ctx)
    return out


def find_policy(session: Session, record: PolicyRecord) -> Policy | None:
    """The stored policy a record is (the same rules as the upsert: key, URL, else core title and date)."""
    key = docno.policy_key(record.doc_no, record.title, record.issuer, record.published_on)
    return _find_existing(session, record, key, title_key(record.title))


def link_drafts(session: Session, ctx: WriteContext) -> int:
    """Point each draft at its final version (same core title, published on or after the draft); returns new links."""
    linked = 0
    drafts = session.execute(
        select(Policy).where(Policy.stage == policytype.DRAFT, Policy.final_version_id.is_(None))).scalars().all()
    for draft in drafts:
        finals = session.execute(
            select(Policy).where(Policy.title_key == draft.title_key, Policy.id != draft.id,
                                 not_draft(Policy.stage))
            .order_by(Policy.published_on)
        ).scalars().all()
        final = next((p for p in finals if not (p.published_on and draft.published_on)
                      or p.published_on >= draft.published_on), None)
        if final is not None:
            draft.final_version_id = final.id
            add_revisions(session, "policy", [(draft.id, "final_version_id", None, final.id)], ctx)
            linked += 1
    session.flush()
    return linked
