"""Writes for taxonomy tags: the classifier's rule tags, kept apart from reviewer decisions it must never overwrite."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracker.models import Device, Policy, Tag
from tracker.store import WriteContext, add_revisions, insert_for

if TYPE_CHECKING:
    from tracker.classify import Classification

ENTITY_MODELS = {"device": Device, "policy": Policy}


def _evidence_json(tag: Any) -> list[dict[str, Any]]:
    return [dataclasses.asdict(e) | {"words": list(e.words)} for e in tag.evidence]


def effective_codes(session: Session, entity_type: str, entity_id: int) -> list[str]:
    """The tags that stand for an entity: active rule tags, minus reviewer removals, plus reviewer additions."""
    rows = session.execute(
        select(Tag.facet, Tag.code, Tag.method, Tag.decision, Tag.active).where(
            Tag.entity_type == entity_type, Tag.entity_id == entity_id
        )
    ).all()
    removed = {(f, c) for f, c, m, d, a in rows if m == "reviewer" and a and d == "remove"}
    kept = {(f, c) for f, c, m, d, a in rows if a and (m == "rule" or d in ("add", "confirm"))}
    return sorted(f"{f}:{c}" for f, c in kept - removed)


def apply_classification(
    session: Session, entity_type: str, entity_id: int, result: "Classification", ctx: WriteContext
) -> bool:
    """Store a classifier result as rule tags; returns True when the entity's tags changed.

    Rule tags no longer produced are deactivated (kept for history), reviewer tags are untouched, and the entity's
    AI flag follows the classifier unless a reviewer decided on it.
    """
    before = effective_codes(session, entity_type, entity_id)
    existing = {
        (t.facet, t.code): t
        for t in session.execute(
            select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id, Tag.method == "rule")
        ).scalars()
    }
    wanted = {(t.facet, t.code): t for t in result.tags}
    fresh = []
    for key, tag in wanted.items():
        values = {
            "rule_ids": ",".join(sorted({e.rule_id for e in tag.evidence})),
            "rule_version": result.rules_version,
            "taxonomy_version": result.taxonomy_version,
            "confidence": tag.confidence,
            "evidence": _evidence_json(tag),
            "active": True,
        }
        row = existing.get(key)
        if row is None:
            fresh.append({"entity_type": entity_type, "entity_id": entity_id, "facet": key[0], "code": key[1],
                          "method": "rule", "created_at": ctx.now, "updated_at": ctx.now, **values})
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = ctx.now
    for key, row in existing.items():
        if key not in wanted and row.active:
            row.active = False
            row.updated_at = ctx.now
    if fresh:
        session.execute(insert_for(session, Tag.__table__).on_conflict_do_nothing(
            index_elements=["entity_type", "entity_id", "facet", "code", "method"]), fresh)
    session.flush()
    after = effective_codes(session, entity_type, entity_id)
    changed = before != after
    if changed:
        add_revisions(session, entity_type, [(entity_id, "tags", before, after)], ctx)
    _update_ai_flag(session, entity_type, entity_id, result, after, ctx)
    return changed


def _update_ai_flag(
    session: Session, entity_type: str, entity_id: int, result: "Classification", codes: list[str],
    ctx: WriteContext,
) -> None:
    model = ENTITY_MODELS[entity_type]
    is_ai = "ai:ai" in codes
    current = session.execute(select(model.is_ai).where(model.id == entity_id)).scalar_one()
    values: dict[str, Any] = {}
    if current != is_ai:
        values["is_ai"] = is_ai
        add_revisions(session, entity_type, [(entity_id, "is_ai", current, is_ai)], ctx)
    if entity_type == "device":
        confidence = session.execute(select(Device.ai_confidence).where(Device.id == entity_id)).scalar_one()
        if confidence != result.ai_confidence:
            values["ai_confidence"] = result.ai_confidence
    if values:
        session.execute(update(model).where(model.id == entity_id).values(**values))
