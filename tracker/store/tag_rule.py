"""The effective-tag rule: which of an entity's tag rows stand. Every reader and writer of tags asks this module.

A tag row *counts* when it is active and is either a rule tag (the classifier's) or a reviewer's addition or
confirmation. A counting (facet, code) stands unless an active reviewer row removes that same (facet, code).
So a reviewer's removal overrules the classifier, and the classifier never overwrites a reviewer (it writes only
rule rows; tracker.store.tags).

The rule is written here twice, side by side: over rows in Python (ORM `Tag` objects or mappings with the keys
facet, code, method, decision, active, and entity_id where rows of several entities are mixed) and as SQL clauses
over an aliased `Tag`. tests/store/test_tag_rule.py (random rows) and tests/read/test_tag_lookups.py (the list filters)
hold the two forms to the same answers.
"""
from __future__ import annotations

import functools
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased

from tracker.store.models import Tag

RULE = "rule"
REVIEWER = "reviewer"
KEEP_DECISIONS = ("add", "confirm")
REMOVE = "remove"
DECISIONS = ("confirm", "remove", "add")

Pair = tuple[str, str]
_FIELDS = ("entity_id", "facet", "code", "method", "decision", "active")


# The rule itself, on plain values; everything below reads rows into these two.
def _counts(method: str, decision: str | None, active: bool) -> bool:
    return bool(active) and (method == RULE or decision in KEEP_DECISIONS)


def _removes(method: str, decision: str | None, active: bool) -> bool:
    return bool(active) and method == REVIEWER and decision == REMOVE


_COUNTS, _REMOVES = "counts", "removes"


@functools.cache  # a handful of (method, decision, active) combinations; a digest asks about each of many rows
def _kind(method: str, decision: str | None, active: bool) -> str | None:
    return _REMOVES if _removes(method, decision, active) else _COUNTS if _counts(method, decision, active) else None


def _values(rows: Iterable[Any], fields: tuple[str, ...] = _FIELDS) -> Iterator[tuple]:
    """The rows as tuples of `fields`; rows are mappings or objects with those attributes (read once per row: a
    digest reads the tags of tens of thousands of entities)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return iter(())
    get = itemgetter(*fields) if isinstance(first, Mapping) else attrgetter(*fields)
    return map(get, chain((first,), rows))


def counts(row: Any) -> bool:
    """The row adds its (facet, code) unless a removal overrules it: active, and a rule tag or a kept decision."""
    return _counts(*next(_values([row], ("method", "decision", "active"))))


def removes(row: Any) -> bool:
    """The row is a reviewer's standing removal of its (facet, code)."""
    return _removes(*next(_values([row], ("method", "decision", "active"))))


def pair(row: Any) -> Pair:
    """(facet, code) of a tag row."""
    return next(_values([row], ("facet", "code")))


def removed_pairs(rows: Iterable[Any]) -> set[Pair]:
    """The (facet, code) pairs a reviewer removed, among one entity's rows."""
    return {(f, c) for f, c, m, d, a in _values(rows, _FIELDS[1:]) if _removes(m, d, a)}


def effective_pairs(rows: Iterable[Any]) -> set[Pair]:
    """The (facet, code) pairs that stand, from all tag rows of one entity."""
    kept: set[Pair] = set()
    removed: set[Pair] = set()
    for facet, code, method, decision, active in _values(rows, _FIELDS[1:]):
        kind = _kind(method, decision, active)
        if kind is _REMOVES:
            removed.add((facet, code))
        elif kind is _COUNTS:
            kept.add((facet, code))
    return kept - removed


def effective_codes(rows: Iterable[Any]) -> list[str]:
    """The standing tags of one entity as sorted "facet:code" strings (the form revisions and links store)."""
    return sorted(f"{facet}:{code}" for facet, code in effective_pairs(rows))


def effective_by_entity(rows: Iterable[Any]) -> dict[int, set[Pair]]:
    """The standing (facet, code) pairs per entity id, from the rows of several entities (entities with none left
    out)."""
    kept: dict[int, set[Pair]] = {}
    removed: dict[int, set[Pair]] = {}
    for entity_id, facet, code, method, decision, active in _values(rows):
        kind = _kind(method, decision, active)
        if kind is _REMOVES:
            removed.setdefault(entity_id, set()).add((facet, code))
        elif kind is _COUNTS:
            kept.setdefault(entity_id, set()).add((facet, code))
    for entity_id, gone in removed.items():
        if entity_id in kept:
            kept[entity_id] -= gone
    return {entity_id: pairs for entity_id, pairs in kept.items() if pairs}


def reviewer_decisions(rows: Iterable[Any]) -> dict[str, str]:
    """"facet:code" → decision of the standing reviewer rows of one entity."""
    return {f"{facet}:{code}": decision for facet, code, method, decision, active in _values(rows, _FIELDS[1:])
            if method == REVIEWER and active}


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
