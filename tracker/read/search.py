"""Text search over the lists: every term must occur, case-insensitively, in one of an entity's searchable
columns. The query is only ever data: `%`, `_` and `\\` are escaped and the value is a bound parameter.

Word-based full-text indexes do not segment Chinese (a two-character term such as 器械 or 肺炎 is invisible to them),
while a substring match finds it on SQLite and PostgreSQL alike. A bigram index (tracker.store.search: FTS5 on
SQLite, GIN on PostgreSQL) first narrows the rows the LIKE must read; the LIKE still decides, so results are the same
with or without it.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Boolean, and_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tracker.store import search as search_index


def escape_like(text: str) -> str:
    """`text` with LIKE wildcards and the escape character escaped (use with ``escape='\\\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class contains_ci(FunctionElement):
    """`column` contains the LIKE pattern `pattern` (escaped with backslash), ignoring case: ILIKE on PostgreSQL.

    On SQLite, plain LIKE already ignores ASCII case and the built-in lower() folds only ASCII, so SQLAlchemy's
    `ilike` (lower(col) LIKE lower(?)) gives the same answer at about twice the cost of a scan; this compiles to LIKE.
    """

    type = Boolean()
    inherit_cache = True
    name = "contains_ci"

    def self_group(self, against=None):
        # Already a predicate: render it as it is, not as `(… LIKE …) = 1` on databases without a boolean type.
        return self


@compiles(contains_ci)
def _contains_ci(element, compiler, **kw):
    column, pattern = element.clauses
    return compiler.process(column.ilike(pattern, escape="\\"), **kw)


@compiles(contains_ci, "sqlite")
def _contains_ci_sqlite(element, compiler, **kw):
    column, pattern = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)


def matches_all(terms: Iterable[str], columns: Iterable[Any]):
    """Every term must occur (case-insensitively) in at least one of the columns."""
    columns = list(columns)
    return and_(*(
        or_(*(contains_ci(col, f"%{escape_like(term)}%") for col in columns)) for term in terms
    ))


def search_clauses(entity_type: str, terms: tuple[str, ...]) -> list[Any]:
    """The clauses of a search over an entity type's searchable columns: the index's candidates, then the match."""
    columns = search_index.SEARCHABLE.get(entity_type) or search_index.FULL_TEXT[entity_type]
    match = matches_all(terms, columns)
    return [*search_index.search_clauses(entity_type, terms), match]
