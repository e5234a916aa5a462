"""Writes for taxonomy tags: the classifier's rule tags, kept apart from reviewer decisions it must never overwrite.

Tags are written in batches (one query to load a batch's tags, bulk inserts) because a UDI full release classifies
tens of thousands of devices in one run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from tracker.store import tag_rule
from tracker.store.models import Device, Policy, Tag
from tracker.store.write import WriteContext, add_revisions, chunks, insert_for

ENTITY_MODELS = {"device": Device, "policy": Policy}
_TAG_COLUMNS = (Tag.id, Tag.entity_id, Tag.facet, Tag.code, Tag.method, Tag.decision, Tag.active, Tag.rule_ids,
                Tag.rule_version, Tag.taxonomy_version, Tag.confidence, Tag.evidence)


@dataclass(frozen=True)
class RuleTag:
    """One tag the classifier gives an entity: its code, confidence, the rules that fired and their evidence
    (plain JSON-able dicts: field, words, rule_id, rule_version)."""

    facet: str
    code: str
    confidence: float
    rule_ids: tuple[str, ...]
    evidence: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class RuleTags:
    """The classifier's tags of one entity, stamped with the rules and taxonomy versions that produced them."""

    tags: tuple[RuleTag, ...]
    ai_confidence: float
    rules_version: str
    taxonomy_version: str


def effective_codes(session: Session, entity_type: str, entity_id: int) -> list[str]:
    """The tags that stand for one entity ("facet:code", sorted; the rule is tracker.store.tag_rule's)."""
    rows = session.execute(select(*_TAG_COLUMNS).where(
        Tag.entity_type == entity_type, Tag.entity_id == entity_id)).mappings().all()
    return tag_rule.effective_codes(rows)


def apply_classification(
    session: Session, entity_type: str, entity_id: int, result: RuleTags, ctx: WriteContext
) -> bool:
    """Store one entity's classifier tags as rule tags; returns True when the entity's tags changed."""
    return bool(apply_classifications(session, entity_type, {entity_id: result}, ctx))


def apply_classifications(
    session: Session, entity_type: str, results: Mapping[int, RuleTags], ctx: WriteContext
) -> int:
    """Store classifier results as rule tags; returns how many entities' tags changed.

    Rule tags no longer produced are deactivated (kept for history), reviewer tags are untouched, each change of the
    standing tags is one "tags" revision, and the entity's AI flag follows the standing tags (so a reviewer's decision
    on the AI tag wins over the classifier).
    """
    changed = 0
    for batch in chunks(sorted(results), 500):
        changed += _apply_batch(session, entity_type, {i: results[i] for i in batch}, ctx)
    return changed


def _apply_batch(session: Session, entity_type: str, results: Mapping[int, RuleTags],
                 ctx: WriteContext) -> int:
    model = ENTITY_MODELS[entity_type]
    rows_by_entity: dict[int, list[dict[str, Any]]] = {i: [] for i in results}
    for row in session.execute(select(*_TAG_COLUMNS).where(
            Tag.entity_type == entity_type, Tag.entity_id.in_(list(results)))).mappings():
        rows_by_entity[row["entity_id"]].append(dict(row))
    flags = dict(session.execute(select(model.id, model.is_ai).where(model.id.in_(list(results)))).all())
    fresh, updates, revisions, flag_updates = [], [], [], []
    for entity_id, result in results.items():
        rows = rows_by_entity[entity_id]
        before = tag_rule.effective_codes(rows)
        rule_rows = {(r["facet"], r["code"]): r for r in rows if r["method"] == "rule"}
        wanted = {(t.facet, t.code): t for t in result.tags}
        for key, tag in wanted.items():
            values = {
                "rule_ids": ",".join(sorted(set(tag.rule_ids))),
                "rule_version": result.rules_version, "taxonomy_version": result.taxonomy_version,
                "confidence": tag.confidence, "evidence": [dict(e) for e in tag.evidence], "active": True,
            }
            row = rule_rows.get(key)
            if row is None:
                fresh.append({"entity_type": entity_type, "entity_id": entity_id, "facet": key[0], "code": key[1],
                              "method": "rule", "created_at": ctx.now, "updated_at": ctx.now, **values})
                rows.append({"facet": key[0], "code": key[1], "method": "rule", "decision": None, "active": True})
            elif any(row[k] != v for k, v in values.items()):
                updates.append({"tag_id": row["id"], **values, "updated_at": ctx.now})
                row["active"] = True
        for key, row in rule_rows.items():
            if key not in wanted and row["active"]:
                updates.append({"tag_id": row["id"], **{k: row[k] for k in (
                    "rule_ids", "rule_version", "taxonomy_version", "confidence", "evidence")},
                    "active": False, "updated_at": ctx.now})
                row["active"] = False
        after = tag_rule.effective_codes(rows)
        if before != after:
            revisions.append((entity_id, "tags", before, after))
        is_ai = "ai:ai" in after
        if flags.get(entity_id) != is_ai:
            revisions.append((entity_id, "is_ai", flags.get(entity_id), is_ai))
        flag_updates.append({"entity": entity_id, "is_ai": is_ai, "confidence": result.ai_confidence})
    if fresh:
        session.execute(insert_for(session, Tag.__table__).on_conflict_do_nothing(
            index_elements=["entity_type", "entity_id", "facet", "code", "method"]), fresh)
    if updates:
        table = Tag.__table__
        session.execute(update(table).where(table.c.id == bindparam("tag_id")).values(
            {k: bindparam(k) for k in updates[0] if k != "tag_id"}), updates)
    _write_flags(session, entity_type, flag_updates, flags)
    add_revisions(session, entity_type, revisions, ctx)
    return sum(1 for r in revisions if r[1] == "tags")


def _write_flags(session: Session, entity_type: str, flag_updates: list[dict], flags: dict[int, bool]) -> None:
    table = ENTITY_MODELS[entity_type].__table__
    if entity_type == "device":
        current = dict(session.execute(select(Device.id, Device.ai_confidence).where(
            Device.id.in_([f["entity"] for f in flag_updates]))).all())
        todo = [f for f in flag_updates if flags.get(f["entity"]) != f["is_ai"] or current.get(f["entity"]) != f[
            "confidence"]]
        values = {"is_ai": bindparam("is_ai"), "ai_confidence": bindparam("confidence")}
    else:
        todo = [f for f in flag_updates if flags.get(f["entity"]) != f["is_ai"]]
        values = {"is_ai": bindparam("is_ai")}
    if todo:
        session.execute(update(table).where(table.c.id == bindparam("entity")).values(values),
                        [{k: f[k] for k in ("entity", "is_ai", "confidence")} for f in todo])
