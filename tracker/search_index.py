"""A character-bigram index that lets a substring search skip the rows that cannot match.

Search is a substring match (tracker.queries: escaped LIKE over a few text columns), because word-based full-text
indexes do not segment Chinese: a two-character term such as 器械 or 肺炎 is invisible to them, and SQLite's trigram
tokenizer needs three characters. A substring scan, though, reads every row. This index holds, per row, every pair
of adjacent characters of its searchable columns; a term of two or more characters can only occur in a row that
holds all of the term's bigrams, so the index narrows the scan to those candidates and the LIKE condition, kept
as it is, decides. The index is only ever a filter: results are exactly those of the scan.

On SQLite the index is an FTS5 table per entity type (`<entity>_search`, rowid = the entity's id) with the `ascii`
tokenizer: every non-ASCII character is a token character and ASCII letters and digits are, so a CJK bigram like
肺炎 and a Latin one like `ct` are single tokens; pairs with ASCII punctuation or blanks are left out (they would be
split), which only makes the filter looser. Bigrams are ASCII-lower-cased, as SQLite's LIKE ignores ASCII case and
nothing else. Other databases scan (PostgreSQL: a `pg_bigm` or bigram `tsvector` index would be the equivalent).

The store keeps the index current (`refresh`, called by tracker.writer for every row it created or changed); the
migration that creates the tables fills them from existing rows (`rebuild`).
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Boolean, Connection, bindparam, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from tracker.models import Device, Policy

# What each entity type's search box reads (tracker.queries matches these columns; this index covers the same).
SEARCHABLE: dict[str, tuple[Any, ...]] = {
    "device": (Device.product_name, Device.registrant, Device.cert_no, Device.brand, Device.description),
    "policy": (Policy.title, Policy.doc_no, Policy.issuer, Policy.summary),
}
_ID_COLUMNS = {"device": Device.id, "policy": Policy.id}
_BATCH = 500


def table_name(entity_type: str) -> str:
    """The FTS5 table of an entity type."""
    return f"{entity_type}_search"


def is_index_table(name: str) -> bool:
    """True for the FTS5 tables and the shadow tables SQLite creates for them (not in the ORM metadata)."""
    return any(name == table_name(e) or name.startswith(table_name(e) + "_") for e in SEARCHABLE)


def fold_ascii_case(text_: str) -> str:
    """`text_` with ASCII letters lower-cased and everything else kept (the case folding of SQLite's LIKE)."""
    return "".join(c.lower() if c.isascii() else c for c in text_)


def _is_token_char(char: str) -> bool:
    # The `ascii` tokenizer's rule: ASCII letters and digits, and every non-ASCII character.
    return not char.isascii() or char.isalnum()


def bigrams(value: str | None) -> set[str]:
    """The distinct indexable character pairs of a text (ASCII lower-cased)."""
    if not value:
        return set()
    folded = fold_ascii_case(value)
    return {a + b for a, b in zip(folded, folded[1:]) if _is_token_char(a) and _is_token_char(b)
            and not a.isspace() and not b.isspace()}


def document(values: Iterable[str | None]) -> str:
    """The index text of one row: its columns' bigrams, blank-separated."""
    grams: set[str] = set()
    for value in values:
        grams |= bigrams(value)
    return " ".join(sorted(grams))


def match_expression(terms: Iterable[str]) -> str | None:
    """An FTS5 query every row containing all `terms` satisfies, or None when no term has an indexable bigram
    (single characters, punctuation): then only the scan can answer."""
    grams = sorted(set().union(*(bigrams(term) for term in terms)))
    # Tokens hold no ASCII punctuation, so none contains a double quote: quoting makes each a literal string.
    return " AND ".join(f'"{gram}"' for gram in grams) or None


class candidates(FunctionElement):
    """A clause: the id in `id_column` (an entity's primary key) is among the index's candidates for `expression`;
    always true where the database has no index, so the LIKE conditions beside it decide alone."""

    type = Boolean()
    inherit_cache = True
    name = "search_candidates"

    def __init__(self, id_column: Any, expression: str) -> None:
        # The table comes from the column, so it is part of the statement cache key.
        super().__init__(id_column, bindparam(None, expression, unique=True))

    def self_group(self, against=None):
        # Already a predicate: without this, SQLite (no native boolean) gets `… IN (…) = 1`, which its planner
        # cannot use to look rows up by id, and the candidate filter would cost a full scan again.
        return self


@compiles(candidates)
def _candidates_elsewhere(element, compiler, **kw):
    return "1 = 1"


@compiles(candidates, "sqlite")
def _candidates_sqlite(element, compiler, **kw):
    id_column, expression = element.clauses
    table = table_name(id_column.table.name)
    return (f"{compiler.process(id_column, **kw)} IN (SELECT rowid FROM {table} "
            f"WHERE {table} MATCH {compiler.process(expression, **kw)})")


def search_clause(entity_type: str, terms: Iterable[str]):
    """The candidate filter for a search, or None when the index cannot narrow it."""
    expression = match_expression(terms)
    return None if expression is None else candidates(_ID_COLUMNS[entity_type], expression)


def _rows(connection: Connection, entity_type: str, ids: list[int] | None):
    id_column = _ID_COLUMNS[entity_type]
    stmt = select(id_column, *SEARCHABLE[entity_type])
    if ids is not None:
        stmt = stmt.where(id_column.in_(ids))
    for row in connection.execute(stmt):
        yield {"id": row[0], "grams": document(row[1:])}


def _write(connection: Connection, entity_type: str, ids: list[int] | None) -> int:
    table = table_name(entity_type)
    insert = text(f"INSERT INTO {table} (rowid, grams) VALUES (:id, :grams)")
    batch, written = [], 0
    for row in _rows(connection, entity_type, ids):
        batch.append(row)
        if len(batch) >= _BATCH:
            connection.execute(insert, batch)
            written, batch = written + len(batch), []
    if batch:
        connection.execute(insert, batch)
        written += len(batch)
    return written


def refresh(session: Session, entity_type: str, ids: Iterable[int]) -> int:
    """Re-index the given rows (new or changed) in the session's transaction; returns how many were written."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return 0
    ids = sorted(set(ids))
    written = 0
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start:start + _BATCH]
        connection.execute(text(f"DELETE FROM {table_name(entity_type)} WHERE rowid IN "
                                f"({', '.join(str(int(i)) for i in chunk)})"))
        written += _write(connection, entity_type, chunk)
    return written


def create(connection: Connection) -> None:
    """Create the index tables (SQLite only; used by the migration)."""
    if connection.dialect.name != "sqlite":
        return
    for entity_type in SEARCHABLE:
        # detail='none': only which rows hold a token is needed, not where, which keeps the index small.
        connection.execute(text(f"CREATE VIRTUAL TABLE {table_name(entity_type)} "
                                "USING fts5(grams, tokenize='ascii', detail='none')"))


def drop(connection: Connection) -> None:
    """Drop the index tables."""
    if connection.dialect.name != "sqlite":
        return
    for entity_type in SEARCHABLE:
        connection.execute(text(f"DROP TABLE IF EXISTS {table_name(entity_type)}"))


def rebuild(connection: Connection) -> dict[str, int]:
    """Empty and refill every index from the stored rows; returns rows indexed per entity type."""
    if connection.dialect.name != "sqlite":
        return {}
    counts = {}
    for entity_type in SEARCHABLE:
        connection.execute(text(f"DELETE FROM {table_name(entity_type)}"))
        counts[entity_type] = _write(connection, entity_type, None)
    return counts
