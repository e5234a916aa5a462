"""A character-bigram index that lets a substring search skip the rows that cannot match (SQLite).

Search is a substring match (tracker.read.lists: escaped LIKE over a few text columns), because word-based full-text
indexes do not segment Chinese: a two-character term such as 器械 or 肺炎 is invisible to them, and SQLite's trigram
tokenizer needs three characters. A substring scan, though, reads every row. This index holds, per row, every pair
of adjacent characters of its searchable columns (tracker.store.bigrams); the search asks it for the rows holding all of
a term's pairs and the LIKE condition, kept as it is, decides among them. The index is only ever a filter: results
are exactly those of the scan.

On SQLite the index is an FTS5 table per entity type (`<entity>_search`, rowid = the entity's id). Triggers keep
it current on every insert, update of a searchable column and delete, whatever code writes the row; they call the
SQL function `tracker_bigrams` (tracker.store.bigrams.document), which tracker.store.engine registers on every connection. (A tool that writes to the file
without it, such as the sqlite3 shell, gets "no such function" instead of a stale index.) Other databases scan
(PostgreSQL: a `pg_bigm` or bigram `tsvector` index would be the equivalent).

A later migration that rebuilds `device` or `policy` in SQLite batch mode drops their triggers: call `create()`
again after it (tests/test_search_index.py checks the triggers at head).
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Boolean, Connection, bindparam, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tracker.store import bigrams
from tracker.store.models import Device, Policy

# What each entity type's search box reads (tracker.read.lists matches these columns; this index covers the same).
SEARCHABLE: dict[str, tuple[Any, ...]] = {
    "device": (Device.product_name, Device.registrant, Device.cert_no, Device.brand, Device.description),
    "policy": (Policy.title, Policy.doc_no, Policy.issuer, Policy.summary),
}
_ID_COLUMNS = {"device": Device.id, "policy": Policy.id}


def table_name(entity_type: str) -> str:
    """The FTS5 table of an entity type."""
    return f"{entity_type}_search"


def is_index_table(name: str) -> bool:
    """True for the FTS5 tables and the shadow tables SQLite creates for them (not in the ORM metadata)."""
    return any(name == table_name(e) or name.startswith(table_name(e) + "_") for e in SEARCHABLE)


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
    expression = bigrams.match_expression(terms)
    return None if expression is None else candidates(_ID_COLUMNS[entity_type], expression)


def _grams_sql(entity_type: str, row: str) -> str:
    columns = ", ".join(f"{row}.{column.name}" for column in SEARCHABLE[entity_type])
    return f"{bigrams.SQL_FUNCTION}({columns})"


def _trigger_statements(entity_type: str) -> list[str]:
    entity, table = entity_type, table_name(entity_type)
    columns = ", ".join(column.name for column in SEARCHABLE[entity_type])
    add = f"INSERT INTO {table} (rowid, grams) VALUES (new.id, {_grams_sql(entity, 'new')});"
    remove = f"DELETE FROM {table} WHERE rowid = old.id;"
    return [
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {entity} BEGIN {add} END",
        f"CREATE TRIGGER {table}_update AFTER UPDATE OF {columns} ON {entity} BEGIN {remove} {add} END",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {entity} BEGIN {remove} END",
    ]


def trigger_names() -> list[str]:
    """The triggers `create` makes."""
    return [f"{table_name(e)}_{action}" for e in SEARCHABLE for action in ("insert", "update", "delete")]


def create(connection: Connection) -> None:
    """Create the index tables and their triggers (SQLite only; used by the migration)."""
    if connection.dialect.name != "sqlite":
        return
    for entity_type in SEARCHABLE:
        # detail='none': only which rows hold a token is needed, not where, which keeps the index small.
        connection.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table_name(entity_type)} "
                                "USING fts5(grams, tokenize='ascii', detail='none')"))
        for statement in _trigger_statements(entity_type):
            connection.execute(text(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1)))


def drop(connection: Connection) -> None:
    """Drop the triggers and the index tables."""
    if connection.dialect.name != "sqlite":
        return
    for name in trigger_names():
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for entity_type in SEARCHABLE:
        connection.execute(text(f"DROP TABLE IF EXISTS {table_name(entity_type)}"))


def rebuild(connection: Connection) -> dict[str, int]:
    """Empty and refill every index from the stored rows; returns rows indexed per entity type."""
    if connection.dialect.name != "sqlite":
        return {}
    counts = {}
    for entity_type in SEARCHABLE:
        table, entity = table_name(entity_type), entity_type
        connection.execute(text(f"DELETE FROM {table}"))
        written = connection.execute(text(
            f"INSERT INTO {table} (rowid, grams) SELECT id, {_grams_sql(entity, entity)} FROM {entity}"))
        counts[entity_type] = written.rowcount
    return counts
