"""Writes for the policy side: one policy per document across sources, drafts linked to their final versions,
and guidance linked to the devices it concerns.

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

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from tracker import classify, docno
from tracker.models import Device, Policy, PolicyDevice, Tag
from tracker.records import PolicyRecord
from tracker.store import Counts, WriteContext, add_revisions, insert_for, link_sources, merge_fields

POLICY_FIELDS = ("title", "issuer", "doc_no", "doc_type", "stage", "published_on", "written_on", "url", "summary",
                 "body", "subject", "attachments")
SAME_DOCUMENT_WINDOW = timedelta(days=7)


@dataclass
class PolicyWrite(Counts):
    """Counts of a policy write plus the ids of new or changed policies (to classify)."""

    touched_ids: set[int] = field(default_factory=set)


def title_key(title: str) -> str:
    """The comparable core of a title (see module docstring)."""
    return docno.policy_key(None, docno.core_title(title), None, None).removeprefix("t:").rstrip("|")


def _is_draft(stage: str | None) -> bool:
    return stage == "draft"


def _values(record: PolicyRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in POLICY_FIELDS}
    values["attachments"] = [dataclasses.asdict(a) for a in record.attachments] or None
    return values


def _find_existing(session: Session, record: PolicyRecord, key: str, tkey: str) -> Policy | None:
    found = session.execute(select(Policy).where(or_(Policy.key == key, Policy.url == record.url))).scalars().first()
    if found is not None:
        return found
    for candidate in session.execute(select(Policy).where(Policy.title_key == tkey)).scalars():
        if _is_draft(candidate.stage) != _is_draft(record.stage):
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
    link_drafts(session, ctx)
    return out


def link_drafts(session: Session, ctx: WriteContext) -> int:
    """Point each draft at its final version (same core title, published on or after the draft); returns new links."""
    linked = 0
    drafts = session.execute(
        select(Policy).where(Policy.stage == "draft", Policy.final_version_id.is_(None))).scalars().all()
    for draft in drafts:
        finals = session.execute(
            select(Policy).where(Policy.title_key == draft.title_key, Policy.id != draft.id,
                                 or_(Policy.stage.is_(None), Policy.stage != "draft"))
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


# --- policies ↔ devices -------------------------------------------------------------------------------------------

GUIDANCE_TYPES = ("指导原则", "审评要点", "规范性文件", "公告通告", "部门规章")
SPECIFIC_FACETS = ("disease", "area", "function")


def _rule_codes(session: Session, entity_type: str, entity_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
    query = select(Tag.entity_id, Tag.facet, Tag.code).where(
        Tag.entity_type == entity_type, Tag.active.is_(True),
        or_(Tag.method == "rule", Tag.decision.in_(("add", "confirm"))))
    if entity_ids is not None:
        query = query.where(Tag.entity_id.in_(list(entity_ids)))
    out: dict[int, set[str]] = {}
    for entity_id, facet, code in session.execute(query):
        out.setdefault(entity_id, set()).add(f"{facet}:{code}")
    removed = select(Tag.entity_id, Tag.facet, Tag.code).where(
        Tag.entity_type == entity_type, Tag.method == "reviewer", Tag.decision == "remove", Tag.active.is_(True))
    for entity_id, facet, code in session.execute(removed):
        out.get(entity_id, set()).discard(f"{facet}:{code}")
    return out


def scope_codes(title: str) -> set[str]:
    """The device tags a guidance title names, read the way a product name is read.

    A guidance is named after the products it covers (肺结节CT图像辅助检测软件注册审查指导原则 covers CT, detection,
    肺结节), so the device classifier reads its core title; the policy's own tags say nothing about diseases.
    """
    result = classify.classify_device(name=docno.core_title(title))
    return {f"{t.facet}:{t.code}" for t in result.tags if t.facet in SPECIFIC_FACETS}


def policy_device_rule(policy_codes: set[str]) -> tuple[str, set[str]] | None:
    """Which link rule a policy's tags call for: ("specific", the device tags required) or ("ai_general", {"ai:ai"}).

    A guidance naming a disease, modality or function concerns devices carrying all of the diseases it names, one of
    its imaging areas (if any) and one of its functions (if any); an AI guidance naming none concerns every AI device.
    """
    specific = {c for c in policy_codes if c.split(":")[0] in SPECIFIC_FACETS}
    if specific - {c for c in specific if c.startswith("area:") and "." not in c}:
        return "specific", specific
    if "ai:ai" in policy_codes:
        return "ai_general", {"ai:ai"}
    return None


def _matches(required: set[str], device: set[str]) -> list[str]:
    groups: dict[str, set[str]] = {}
    for code in required:
        groups.setdefault(code.split(":")[0], set()).add(code)
    matched: list[str] = []
    for facet, codes in groups.items():
        if facet == "area":
            codes = {c for c in codes if "." in c} or codes  # a sub-area is the precise statement
        hits = codes & device if facet != "disease" else (codes if codes <= device else set())
        if not hits:
            return []
        matched += sorted(hits)
    return matched


def link_policies_to_devices(session: Session, ctx: WriteContext) -> int:
    """Recompute the guidance ↔ device links from current tags; returns the number of links added.

    Links are derived data (their reason is stored with them), so a link whose reason no longer holds is removed.
    """
    guidance = session.execute(
        select(Policy.id, Policy.title).where(Policy.doc_type.in_(GUIDANCE_TYPES), Policy.stage != "draft")
    ).all()
    if not guidance:
        return 0
    policy_codes = _rule_codes(session, "policy", [pid for pid, _ in guidance])
    device_codes = _rule_codes(session, "device")
    added = 0
    for policy_id, title in guidance:
        rule = policy_device_rule(policy_codes.get(policy_id, set()) | scope_codes(title))
        wanted: dict[int, tuple[str, str]] = {}
        if rule is not None:
            rule_id, required = rule
            for device_id, codes in device_codes.items():
                matched = _matches(required, codes)
                if matched:
                    wanted[device_id] = (f"policy_link.{rule_id}", "device tags " + ", ".join(matched)
                                         + f" match the scope of 《{title}》")
        existing = dict(session.execute(
            select(PolicyDevice.device_id, PolicyDevice.reason).where(PolicyDevice.policy_id == policy_id)).all())
        stale = [d for d in existing if d not in wanted]
        if stale:
            session.execute(delete(PolicyDevice).where(PolicyDevice.policy_id == policy_id,
                                                       PolicyDevice.device_id.in_(stale)))
        fresh = [{"policy_id": policy_id, "device_id": d, "rule_id": r, "reason": why, "created_at": ctx.now}
                 for d, (r, why) in sorted(wanted.items()) if d not in existing]
        for d, (r, why) in wanted.items():
            if d in existing and existing[d] != why:
                session.execute(update(PolicyDevice).where(PolicyDevice.policy_id == policy_id,
                                                           PolicyDevice.device_id == d).values(reason=why, rule_id=r))
        if fresh:
            session.execute(insert_for(session, PolicyDevice.__table__).on_conflict_do_nothing(
                index_elements=["policy_id", "device_id"]), fresh)
            added += len(fresh)
    return added


def devices_for_policy(policy_id: int):
    """Select (device, reason) rows linked to a policy (for the web UI)."""
    return (select(Device, PolicyDevice.reason).join(PolicyDevice, PolicyDevice.device_id == Device.id)
            .where(PolicyDevice.policy_id == policy_id).order_by(Device.product_name))


def policies_for_device(device_id: int):
    """Select (policy, reason) rows linked to a device (for the web UI)."""
    return (select(Policy, PolicyDevice.reason).join(PolicyDevice, PolicyDevice.policy_id == Policy.id)
            .where(PolicyDevice.device_id == device_id).order_by(Policy.published_on.desc()))
