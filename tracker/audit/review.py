"""Reviewer decisions on taxonomy tags and the queue of devices that need one.

A decision is a `tag` row with method "reviewer" (confirm, remove or add, with a required reason). The tag table keeps
one reviewer row per entity/facet/code, so a later decision on the same tag updates that row; the history of every
decision is kept elsewhere, in two append-only places: a revision (field "review:<facet>:<code>", old decision → new
decision, actor = the reviewer) and an audit-log row carrying the reason. The classifier (tracker.store.tags) only
writes rule tags and computes the effective tags as rule tags minus reviewer removals plus reviewer additions, so a
later run can never overturn a decision.

The queue lists devices whose classification is uncertain: an AI confidence in the grey zone, tags made by an older
rules version, or area tags that contradict each other; a device a reviewer decided on under the current rules
version leaves the queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracker.audit import log as auditlog
from tracker.classify import reasons, taxonomy
from tracker.classify.links import refresh_links
from tracker.classify.reasons import Reason
from tracker.classify.rules import RULES_VERSION
from tracker.store import tag_rule
from tracker.store.models import Device, Policy, Revision, Tag
from tracker.store.tags import ENTITY_MODELS, effective_codes
from tracker.store.write import WriteContext, add_revisions

DECISIONS = tag_rule.DECISIONS
# The grey zone of the AI confidence: the classifier's name-only evidence scores 0.5 (see tracker.classify.classifier).
LOW_CONFIDENCE, HIGH_CONFIDENCE = 0.3, 0.8
_IMAGING = "medical_imaging"


def _check_code(facet: str, code: str) -> None:
    if facet == "ai":
        if code != "ai":
            raise ValueError("the AI facet has the single code 'ai'")
        return
    if not taxonomy.is_valid(code) or taxonomy.get(code).facet != facet:
        raise ValueError(f"{facet}:{code} is not a code of the taxonomy")


def decide(
    session: Session, *, entity_type: str, entity_id: int, facet: str, code: str, decision: str, reason: str,
    reviewer: str, now: datetime,
) -> Tag:
    """Record a reviewer's decision on one tag of a device or policy and refresh the entity's effective tags.

    ValueError for an unknown entity, decision or code, an empty reason, or a "confirm" of a tag no rule gave.
    """
    if entity_type not in ENTITY_MODELS:
        raise ValueError(f"cannot review a {entity_type!r}")
    if session.get(ENTITY_MODELS[entity_type], entity_id) is None:
        raise ValueError(f"no {entity_type} with id {entity_id}")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a decision needs a reason")
    if not reviewer:
        raise ValueError("a decision needs a reviewer")
    _check_code(facet, code)
    tags = {
        t.method: t for t in session.execute(select(Tag).where(
            Tag.entity_type == entity_type, Tag.entity_id == entity_id, Tag.facet == facet, Tag.code == code,
        )).scalars()
    }
    rule_tag, mine = tags.get("rule"), tags.get("reviewer")
    if decision == "confirm" and not (rule_tag and rule_tag.active):
        raise ValueError(f"no rule gave {facet}:{code}: use 'add' instead of 'confirm'")
    previous = mine.decision if mine else None
    if mine is None:
        mine = Tag(entity_type=entity_type, entity_id=entity_id, facet=facet, code=code, method="reviewer",
                   taxonomy_version=taxonomy.TAXONOMY_VERSION, confidence=1.0, evidence=[], created_at=now)
        session.add(mine)
    mine.decision, mine.reason, mine.decided_by, mine.active = decision, reason, reviewer, True
    mine.rule_version, mine.updated_at = RULES_VERSION, now
    # What the reviewer saw, kept with the decision: the rule tag's version, confidence and evidence at the time.
    mine.evidence = [{"reviewed_rule_tag": {
        "rule_ids": rule_tag.rule_ids, "rule_version": rule_tag.rule_version, "confidence": rule_tag.confidence,
        "active": rule_tag.active, "evidence": rule_tag.evidence,
    }}] if rule_tag else []
    session.flush()
    ctx = WriteContext(source="review", now=now, actor=reviewer)
    add_revisions(session, entity_type, [(entity_id, f"review:{facet}:{code}", previous, decision)], ctx)
    auditlog.record(
        session, actor=reviewer, action="tag.decision", now=now, target_type=entity_type, target_id=entity_id,
        detail={"facet": facet, "code": code, "decision": decision, "previous": previous,
                "rules_version": RULES_VERSION},
        reason=reason,
    )
    refresh_effective(session, entity_type, entity_id, ctx)
    # The decision changed effective tags outside any write: the guidance links follow them now, not at the next
    # ingest that happens to touch this entity.
    refresh_links(session, ctx, **{f"{entity_type}_ids": [entity_id]})
    return mine


def _recorded_tags(session: Session, entity_type: str, entity_id: int) -> list[str]:
    """The entity's tags as the history last recorded them (empty when never recorded)."""
    value = session.execute(
        select(Revision.new_value).where(
            Revision.entity_type == entity_type, Revision.entity_id == entity_id, Revision.field == "tags",
        ).order_by(Revision.changed_at.desc(), Revision.id.desc()).limit(1)
    ).scalar_one_or_none()
    return [code for code in (value or "").split("\n") if code]


def refresh_effective(session: Session, entity_type: str, entity_id: int, ctx: WriteContext) -> list[str]:
    """Bring the entity's recorded tags and AI flag in line with its effective tags; returns the effective codes.

    Writes a "tags" revision when the effective tags differ from the last recorded ones, and an "is_ai" revision
    when the AI flag changes (the flag follows the effective "ai:ai" tag, as in tracker.store.tags).
    """
    codes = effective_codes(session, entity_type, entity_id)
    recorded = _recorded_tags(session, entity_type, entity_id)
    if codes != recorded:
        add_revisions(session, entity_type, [(entity_id, "tags", recorded, codes)], ctx)
    model = ENTITY_MODELS[entity_type]
    is_ai = "ai:ai" in codes
    current = session.execute(select(model.is_ai).where(model.id == entity_id)).scalar_one()
    if current != is_ai:
        session.execute(update(model).where(model.id == entity_id).values(is_ai=is_ai, updated_at=ctx.now))
        add_revisions(session, entity_type, [(entity_id, "is_ai", current, is_ai)], ctx)
    return codes


def area_conflict(codes: list[str] | set[str]) -> Reason | None:
    """Why a set of area codes contradicts itself, or None.

    Two imaging modalities (CT and MR) or two different top-level areas on one certificate are rare enough that a
    person should look: usually one of the rules matched an incidental word.
    """
    modalities = sorted(c for c in codes if c.startswith(_IMAGING + "."))
    if len(modalities) > 1:
        return Reason(reasons.QUEUE_SEVERAL_MODALITIES, {"areas": modalities})
    roots = sorted({c.split(".")[0] for c in codes})
    if len(roots) > 1:
        return Reason(reasons.QUEUE_SEVERAL_AREAS, {"areas": roots})
    return None


@dataclass
class QueueItem:
    """A device waiting for review, and why."""

    device_id: int
    cert_no: str
    product_name: str
    is_ai: bool
    ai_confidence: float
    reasons: list[Reason] = field(default_factory=list)


def review_queue(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[QueueItem], int]:
    """Devices waiting for review (by id) and how many there are in all."""
    why: dict[int, list[Reason]] = {}
    grey = session.execute(select(Device.id, Device.ai_confidence).where(
        Device.ai_confidence >= LOW_CONFIDENCE, Device.ai_confidence <= HIGH_CONFIDENCE)).all()
    for device_id, confidence in grey:
        why.setdefault(device_id, []).append(Reason(reasons.QUEUE_CONFIDENCE, {"confidence": confidence}))
    stale = session.execute(select(Tag.entity_id, Tag.rule_version).where(
        Tag.entity_type == "device", Tag.method == "rule", Tag.active.is_(True),
        Tag.rule_version != RULES_VERSION).distinct()).all()
    for device_id, version in stale:
        why.setdefault(device_id, []).append(Reason(reasons.QUEUE_OLD_RULES,
                                                    {"version": version, "current": RULES_VERSION}))
    areas: dict[int, set[str]] = {}
    for device_id, code in session.execute(select(Tag.entity_id, Tag.code).where(
            Tag.entity_type == "device", Tag.method == "rule", Tag.active.is_(True), Tag.facet == "area")):
        areas.setdefault(device_id, set()).add(code)
    for device_id, codes in areas.items():
        conflict = area_conflict(codes)
        if conflict:
            why.setdefault(device_id, []).append(conflict)
    decided = set(session.execute(select(Tag.entity_id).where(
        Tag.entity_type == "device", Tag.method == "reviewer", Tag.rule_version == RULES_VERSION)).scalars())
    waiting = sorted(set(why) - decided)
    page = waiting[offset:offset + limit]
    devices = {d.id: d for d in session.execute(select(Device).where(Device.id.in_(page))).scalars()} if page else {}
    items = [
        QueueItem(device_id=i, cert_no=devices[i].cert_no, product_name=devices[i].product_name,
                  is_ai=devices[i].is_ai, ai_confidence=devices[i].ai_confidence, reasons=why[i])
        for i in page
    ]
    return items, len(waiting)


@dataclass
class ReviewPage:
    """What a reviewer sees of one entity: its tag rows, the standing tags, and the history of decisions."""

    entity: Device | Policy
    tags: list[Tag]
    effective: list[str]
    history: list[Revision]
    log: list


def find_entity(session: Session, entity_type: str, entity_id: int) -> Device | Policy | None:
    """The device or policy a decision is about, or None."""
    model = ENTITY_MODELS.get(entity_type)
    return session.get(model, entity_id) if model is not None else None


def review_page(session: Session, entity_type: str, entity_id: int) -> ReviewPage | None:
    """The review page of a device or policy (None when there is no such entity)."""
    entity = find_entity(session, entity_type, entity_id)
    if entity is None:
        return None
    tags = session.execute(select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id)
                           .order_by(Tag.facet, Tag.code, Tag.method)).scalars().all()
    history = session.execute(select(Revision).where(
        Revision.entity_type == entity_type, Revision.entity_id == entity_id,
        Revision.field.startswith("review:") | Revision.field.in_(("tags", "is_ai")),
    ).order_by(Revision.changed_at.desc(), Revision.id.desc())).scalars().all()
    log = auditlog.query(session, auditlog.AuditFilter(target_type=entity_type, target_id=str(entity_id)), limit=200)
    return ReviewPage(entity, list(tags), effective_codes(session, entity_type, entity_id), list(history), log)
