"""Select builders for taxonomy tags: a list filter on a tag (in two plans), every effective tag of an entity type,
and the tag rows of given entities, read back in taxonomy order. Shared by tracker.read.lists (the lists), the web
pages, exports and digests. What "effective" means is tracker.store.tag_rule's alone.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.orm import aliased

from tracker.classify import taxonomy
from tracker.store import tag_rule
from tracker.store.models import Tag

# How a tag filter finds its rows. "exists": a correlated probe per candidate row, so a sorted, paged list walks its
# sort index and stops after one page; best when the tag is common. "in": the tagged ids read from the tag index
# (ix_tag_code_effective covers it), best for counting and for rare tags, where the probe would walk most of the
# index to find a page. Both give the same rows.
TAG_LOOKUPS = ("exists", "in")
# Up to this many matching rows a page reads them through "in"; beyond, "exists" finds a page sooner (measured on
# 100,000 devices: bench/README.md).
FEW_ROWS = 500


def page_lookup(total: int) -> str:
    """The tag lookup that reads one page fastest, once the count of matching rows is known."""
    return "in" if total <= FEW_ROWS else "exists"


def code_matches(column: Any, code: str, *, subtree: bool = False):
    """A clause: `column` holds `code` or, with subtree, `code` or one of its sub-codes ("medical_imaging" covers
    "medical_imaging.ct"). The code is data: LIKE wildcards in it are escaped."""
    if not subtree:
        return column == code
    # The range lets the index find a subtree ('/' sorts right after '.'); the exact test stays beside it.
    return and_(column >= code, column < code + "/",
                or_(column == code, column.startswith(code + ".", autoescape=True)))


# Built once per distinct argument list and reused (clauses are immutable): the two aliases and their columns cost
# more to build than the rest of a list request's select (a third of a list request's CPU outside the template).
# The codes come from the taxonomy (tracker.read.filters refuses others), so the distinct calls are few.
@functools.lru_cache(maxsize=1024)
def has_tag(entity_type: str, id_column: Any, facet: str, code: str, *, subtree: bool = False,
            lookup: str = "exists"):
    """A clause: the entity in `id_column` has the effective tag `code` (or, with subtree, one of its sub-codes)."""
    t = aliased(Tag)
    if lookup == "exists":
        # OFFSET 0 keeps the probe a probe on PostgreSQL: it turns a plain EXISTS into a semi-join over every tagged
        # row (then sorts them all for one page), but never pulls up a subquery with an OFFSET. So both databases
        # walk the list's sort index and stop after a page (an AI sub-area's page: 35-40 ms -> 2-5 ms on
        # PostgreSQL, bench/README.md). SQLite probes per row either way.
        return select(t.id).where(
            t.entity_type == entity_type, t.entity_id == id_column, t.facet == facet,
            code_matches(t.code, code, subtree=subtree),
            tag_rule.stands_clause(t, entity_type),
        ).offset(0).exists()
    r = aliased(Tag)
    removed = select(r.entity_id, r.code).where(
        r.entity_type == entity_type, r.facet == facet, code_matches(r.code, code, subtree=subtree),
        tag_rule.removes_clause(r))
    tagged = select(t.entity_id).where(
        t.entity_type == entity_type, t.facet == facet, code_matches(t.code, code, subtree=subtree),
        tag_rule.counts_clause(t),
        tuple_(t.entity_id, t.code).not_in(removed))
    return id_column.in_(tagged)


def effective_tags(entity_type: str, facets: Iterable[str] | None = None) -> Select:
    """(entity_id, facet, code) of every effective tag of an entity type, distinct."""
    t = aliased(Tag)
    stmt = select(t.entity_id, t.facet, t.code).where(t.entity_type == entity_type,
                                                      tag_rule.stands_clause(t, entity_type))
    if facets is not None:
        stmt = stmt.where(t.facet.in_(tuple(facets)))
    return stmt.distinct()


def tag_keys_for(entity_type: str, ids: Iterable[int]) -> Select:
    """The columns of the given entities' tag rows that `effective_by_entity` reads (no evidence: a list page needs
    only the codes, and decoding every tag's evidence JSON was a fifth of its time)."""
    return select(Tag.entity_id, Tag.facet, Tag.code, Tag.method, Tag.decision, Tag.active).where(
        Tag.entity_type == entity_type, Tag.entity_id.in_(sorted(set(ids))))


def tags_for(entity_type: str, ids: Iterable[int]) -> Select:
    """Every tag row (rule and reviewer, active or not) of the given entities, in a stable order."""
    return select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id.in_(sorted(set(ids)))).order_by(
        Tag.entity_id, Tag.facet, Tag.code, Tag.method, Tag.id)


@functools.cache
def _taxonomy_order() -> dict[str, int]:
    return {node.code: i for i, node in enumerate(taxonomy.all_nodes())}


def effective_by_entity(tag_rows: Iterable[Tag]) -> dict[int, list[tuple[str, str]]]:
    """Effective (facet, code) pairs per entity id from tag rows (the rows `tags_for` or `tag_keys_for` select), in
    taxonomy order (the AI flag first)."""
    order = _taxonomy_order()
    return {
        entity_id: sorted(pairs, key=lambda fc: (fc[0] != "ai", order.get(fc[1], 10_000), fc[1]))
        for entity_id, pairs in tag_rule.effective_by_entity(tag_rows).items()
    }
