"""The effective-tag rule: which of an entity's tag rows stand. Every reader and writer of tags asks this module.

A tag row *counts* when it is active and is either a rule tag (the classifier's) or a reviewer's addition or
confirmation. A counting (facet, code) stands unless an active reviewer row removes that same (facet, code).
So a reviewer's removal overrules the classifier, and the classifier never overwrites a reviewer (it writes only
rule rows; tracker.store.tags).

The rule is written here twice, side by side: over rows in Python (ORM `Tag` objects or mappings with the keys
facet, code, method, decision, active, and entity_id where rows of several entities are mixed) and as SQL clauses
over an aliased `Tag`. tests/read/test_tag_lookups.py holds the two forms to the same answers.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased

from tracker.store.models import Tag

RULE = "rule"
REVIEWER = "reviewer"
KEEP_DECISIONS = ("add", "confirm")
REMOVE = "remove"
DECISIONS = ("confirm", "remove", "add")

Pair = tuple[str, str]


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def counts(row: Any) -> bool:
    """The row adds its (facet, code) unless a removal overrules it: active, and a rule tag or a kept decision."""
    return bool(_get(row, "active")) and (_get(row, "method") == RULE or _get(row, "decision") in KEEP_DECISIONS)


def removes(row: Any) -> bool:
    """The row is a reviewer's standing removal of its (facet, code)."""
    return bool(_get(row, "active")) and _get(row, "method") == REVIEWER and _get(row, "decision") == REMOVE


def pair(row: Any) -> Pair:
    """(facet, code) of a tag row."""
    return _get(row, "facet"), _get(row, "code")


def removed_pairs(rows: Iterable[Any]) -> set[Pair]:
    """The (facet, code) pairs a reviewer removed, among one entity's rows."""
    return {pair(r) for r in rows if removes(r)}


def effective_pairs(rows: Iterable[Any]) -> set[Pair]:
    """The (facet, code) pairs that stand, from all tag rows of one entity."""
    rows = list(rows)
    return {pair(r) for r in rows if counts(r)} - removed_pairs(rows)


def effective_codes(rows: Iterable[Any]) -> list[str]:
    """The standing tags of one entity as sorted "facet:code" strings (the form revisions and links store)."""
    return sorted(f"{facet}:{code}" for facet, code in effective_pairs(rows))


def effective_by_entity(rows: Iterable[Any]) -> dict[int, set[Pair]]:
    """The standing (facet, code) pairs per entity id, from the rows of several entities (entities with none left
    out)."""
    kept: dict[int, set[Pair]] = {}
    removed: set[tuple[int, str, str]] = set()
    for r in rows:
        if removes(r):
            removed.add((_get(r, "entity_id"), *pair(r)))
        elif counts(r):
            kept.setdefault(_get(r, "entity_id"), set()).add(pair(r))
    out = {entity_id: {p for p in pairs if (entity_id, *p) not in removed} for entity_id, pairs in kept.items()}
    return {entity_id: pairs for entity_id, pairs in out.items() if pairs}


def reviewer_decisions(rows: Iterable[Any]) -> dict[str, str]:
    """"facet:code" → decision of the standing reviewer rows of one entity."""
    return {f"{_get(r, 'facet')}:{_get(r, 'code')}": _get(r, "decision") for r in rows
            if _get(r, "method") == REVIEWER and _get(r, "active")}


# --- the same rule in SQL (t is an aliased Tag) ---

def counts_clause(t: Any) -> Any:
    """SQL twin of `counts`."""
    return and_(t.active.is_(True), or_(t.method == RULE, t.decision.in_(KEEP_DECISIONS)))


def removes_clause(t: Any) -> Any:
    """SQL twin of `removes`."""
    return and_(t.method == REVIEWER, t.decision == REMOVE, t.active.is_(True))


def not_removed_clause(t: Any, entity_type: str) -> Any:
    """The tag row `t` is not overruled by a reviewer's removal of the same (facet, code) on the same entity."""
    r = aliased(Tag)
    return ~exists().where(r.entity_type == entity_type, r.entity_id == t.entity_id, r.facet == t.facet,
                           r.code == t.code, removes_clause(r))


def stands_clause(t: Any, entity_type: str) -> Any:
    """SQL twin of "the row's (facet, code) is among the entity's effective tags": it counts and is not removed."""
    return and_(counts_clause(t), not_removed_clause(t, entity_type))
