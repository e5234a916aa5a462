"""A character-bigram index that lets a substring search skip the rows that cannot match (SQLite and PostgreSQL).

Search is a substring match (tracker.read.search: escaped LIKE / ILIKE over a few text columns), because word-based
full-text indexes do not segment Chinese: a two-character term such as 器械 or 肺炎 is invisible to them, SQLite's
trigram tokenizer needs three characters, and PostgreSQL's pg_trgm extracts no trigram from a two-character term
between wildcards (its GIN index then reads every entry). A substring scan, though, reads every row. This index
holds, per row, every pair of adjacent characters of its searchable columns; a search asks it for the rows holding
all of a term's pairs and the LIKE condition, kept as it is, decides among them. The index is only ever a filter:
results are exactly those of the scan.

One table per entity type, `<entity>_search`, keyed by the entity's id, kept current by triggers on every insert,
update of a searchable column and delete, whatever code writes the row:

- SQLite: an FTS5 table (rowid = id). The triggers call the SQL function `tracker_bigrams`
  (tracker.store.bigrams.document), which tracker.store.engine registers on every connection (a tool that writes to
  the file without it, such as the sqlite3 shell, gets "no such function" instead of a stale index). Made by
  migration 0003 (`create_fts`).
- PostgreSQL: a plain table (id, grams text[]) with a GIN index, filled by PL/pgSQL triggers through the SQL
  function `tracker_bigrams(VARIADIC text[])`. The pairs are taken from `lower()` of each column, because PostgreSQL's
  ILIKE compares `lower()` of both sides in a UTF-8 database: a row the ILIKE keeps holds every pair of the
  lower-cased term. A search asks `grams @> tracker_bigrams(term, …)`, so both sides fold case the same way, in the
  database. The grams are stored rather than computed in an expression index so that no query ever recomputes
  them per row (a common term makes the planner prefer a scan). Made by migration 0007 (`create_gin`).

A later migration that rebuilds `device` or `policy` in SQLite batch mode drops their triggers: call `create_fts()`
again after it (tests/store/test_search_index.py checks the triggers at head). A migration that changes which
columns are indexed freezes the old list for the migrations before it (`SEARCHABLE_BEFORE_0008`).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import Boolean, Connection, bindparam, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tracker.store import bigrams
from tracker.store.models import Device, Passage, Policy

# What each entity type's search box reads (tracker.read.search matches these columns; this index covers the same).
# A policy is found by its issuer and number as printed as well as by their canonical forms (migration 0008).
SEARCHABLE: dict[str, tuple[Any, ...]] = {
    "device": (Device.product_name, Device.registrant, Device.cert_no, Device.brand, Device.description),
    "policy": (Policy.title, Policy.doc_no, Policy.issuer, Policy.summary, Policy.issuer_printed,
               Policy.doc_no_printed),
}
# What migrations 0003 and 0007 indexed, before the printed columns existed: they build exactly this, and 0008
# rebuilds the policy part as SEARCHABLE says (its downgrade goes back to this).
SEARCHABLE_BEFORE_0008: dict[str, tuple[Any, ...]] = {
    **SEARCHABLE, "policy": (Policy.title, Policy.doc_no, Policy.issuer, Policy.summary)}
# Full text (policy bodies and attachment pages, tracker.read.fulltext): the same index over `passage` (migration 0009).
FULL_TEXT: dict[str, tuple[Any, ...]] = {"passage": (Passage.text,)}
_COLUMNS = {**SEARCHABLE, **FULL_TEXT}
_ID_COLUMNS = {"device": Device.id, "policy": Policy.id, "passage": Passage.id}
ACTIONS = ("insert", "update", "delete")


def table_name(entity_type: str) -> str:
    """The index table of an entity type."""
    return f"{entity_type}_search"


def is_index_table(name: str) -> bool:
    """True for the index tables and the shadow tables SQLite creates for them (not in the ORM metadata)."""
    return any(name == table_name(e) or name.startswith(table_name(e) + "_") for e in _COLUMNS)


def trigger_names() -> list[str]:
    """The triggers that keep the index current (the same names on both databases)."""
    return [f"{table_name(e)}_{action}" for e in _COLUMNS for action in ACTIONS]


# ------------------------------------------------------------------------------------------------ the query side

class _Candidates(FunctionElement):
    """A clause: the id in `id_column` (an entity's primary key) is among the index's candidates; always true on a
    database this clause has no index for, so the LIKE conditions beside it decide alone."""

    type = Boolean()
    inherit_cache = True

    def self_group(self, against=None):
        # Already a predicate: without this, SQLite (no native boolean) gets `… IN (…) = 1`, which its planner
        # cannot use to look rows up by id, and the candidate filter would cost a full scan again.
        return self


class fts_candidates(_Candidates):
    """Candidates from SQLite's FTS5 table for a MATCH expression (tracker.store.bigrams.match_expression)."""

    inherit_cache = True
    name = "fts_candidates"

    def __init__(self, id_column: Any, expression: str) -> None:
        # The table comes from the column, so it is part of the statement cache key.
        super().__init__(id_column, bindparam(None, expression, unique=True))


class gin_candidates(_Candidates):
    """Candidates from PostgreSQL's GIN index for search terms (each a bound parameter; pairs made in the database)."""

    inherit_cache = True
    name = "gin_candidates"

    def __init__(self, id_column: Any, terms: Iterable[str]) -> None:
        # One parameter per term: the number of terms is part of the statement, their text never is.
        super().__init__(id_column, *(bindparam(None, term, unique=True) for term in terms))


@compiles(_Candidates)
def _candidates_elsewhere(element, compiler, **kw):
    return "1 = 1"


@compiles(fts_candidates, "sqlite")
def _fts_candidates(element, compiler, **kw):
    id_column, expression = element.clauses
    table = table_name(id_column.table.name)
    return (f"{compiler.process(id_column, **kw)} IN (SELECT rowid FROM {table} "
            f"WHERE {table} MATCH {compiler.process(expression, **kw)})")


@compiles(gin_candidates, "postgresql")
def _gin_candidates(element, compiler, **kw):
    id_column, *terms = element.clauses
    table = table_name(id_column.table.name)
    grams = ", ".join(compiler.process(term, **kw) for term in terms)
    candidates = f"SELECT id FROM {table} WHERE grams @> {bigrams.SQL_FUNCTION}(VARIADIC ARRAY[{grams}]::text[])"
    if id_column.table.name in FULL_TEXT:
        # Full text pages a few hits at a time, newest first: as an array the candidates are collected once and the
        # passages walked backwards along their primary key, stopping at the page's last hit (7 ms for a term on
        # 8,000 pages of 210,000, where IN (…) joined and sorted all 8,000 first: 470 ms).
        return f"{compiler.process(id_column, **kw)} = ANY(ARRAY({candidates}))"
    return f"{compiler.process(id_column, **kw)} IN ({candidates})"


def search_clauses(entity_type: str, terms: Iterable[str]) -> list[Any]:
    """The candidate filters for a search: each index's where it can narrow (the other database renders `1 = 1`);
    none when no term has two characters (then only the scan can answer)."""
    terms = list(terms)
    id_column = _ID_COLUMNS[entity_type]
    clauses: list[Any] = []
    if (expression := bigrams.match_expression(terms)) is not None:
        clauses.append(fts_candidates(id_column, expression))
    if paired := [term for term in terms if len(term) >= 2]:
        # A one-character term has no pair: leaving it out only loosens the filter (and an empty array would make
        # the GIN index read every entry).
        clauses.append(gin_candidates(id_column, paired))
    return clauses


# ------------------------------------------------------------------------------------------------ SQLite: FTS5

def _grams_sql(columns: Iterable[Any], row: str) -> str:
    return f"{bigrams.SQL_FUNCTION}({', '.join(f'{row}.{column.name}' for column in columns)})"


def _fts_trigger_statements(entity_type: str, indexed: Iterable[Any]) -> list[str]:
    entity, table, indexed = entity_type, table_name(entity_type), list(indexed)
    columns = ", ".join(column.name for column in indexed)
    add = f"INSERT INTO {table} (rowid, grams) VALUES (new.id, {_grams_sql(indexed, 'new')});"
    remove = f"DELETE FROM {table} WHERE rowid = old.id;"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_insert AFTER INSERT ON {entity} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_update AFTER UPDATE OF {columns} ON {entity} BEGIN {remove} {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_delete AFTER DELETE ON {entity} BEGIN {remove} END",
    ]


def create_fts(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> None:
    """Create SQLite's index tables and their triggers (migration 0003; `FULL_TEXT`: 0009; nothing elsewhere)."""
    if connection.dialect.name != "sqlite":
        return
    for entity_type in entities:
        # detail='none': only which rows hold a token is needed, not where, which keeps the index small.
        connection.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table_name(entity_type)} "
                                "USING fts5(grams, tokenize='ascii', detail='none')"))
        for statement in _fts_trigger_statements(entity_type, entities[entity_type]):
            connection.execute(text(statement))


def drop_fts(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> None:
    """Drop SQLite's triggers and index tables."""
    if connection.dialect.name != "sqlite":
        return
    for name in (f"{table_name(e)}_{action}" for e in entities for action in ACTIONS):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for entity_type in entities:
        connection.execute(text(f"DROP TABLE IF EXISTS {table_name(entity_type)}"))


def rebuild_fts(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> dict[str, int]:
    """Empty and refill SQLite's index tables from the stored rows; returns rows indexed per entity type."""
    if connection.dialect.name != "sqlite":
        return {}
    counts = {}
    for entity_type in entities:
        table, entity = table_name(entity_type), entity_type
        connection.execute(text(f"DELETE FROM {table}"))
        written = connection.execute(text(
            f"INSERT INTO {table} (rowid, grams) SELECT id, {_grams_sql(entities[entity_type], entity)} FROM {entity}"))
        counts[entity_type] = written.rowcount
    return counts


# ------------------------------------------------------------------------------------------------ PostgreSQL: GIN

# The pairs of lower() of each non-null part, duplicates kept (GIN stores each key of a row once; removing them here
# would double the cost). string_to_array(…, NULL) splits into characters in one pass: substr() on UTF-8 text walks
# from the start each time, which made the first version quadratic in the length of a description.
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {bigrams.SQL_FUNCTION}(VARIADIC parts text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    part text;
    chars text[];
    grams text[] := '{{}}';
BEGIN
    FOREACH part IN ARRAY parts LOOP
        CONTINUE WHEN part IS NULL;
        chars := string_to_array(lower(part), NULL);
        FOR i IN 1 .. coalesce(cardinality(chars), 0) - 1 LOOP
            grams := grams || (chars[i] || chars[i + 1]);
        END LOOP;
    END LOOP;
    RETURN grams;
END
$$"""


def _gin_statements(entity_type: str, indexed: Iterable[Any]) -> list[str]:
    entity, table = entity_type, table_name(entity_type)
    names = [column.name for column in indexed]
    new_grams = f"{bigrams.SQL_FUNCTION}({', '.join('NEW.' + n for n in names)})"
    changed = " OR ".join(f"OLD.{n} IS DISTINCT FROM NEW.{n}" for n in names)
    sync = f"{table}_sync"
    return [
        f"CREATE TABLE {table} (id integer PRIMARY KEY, grams text[] NOT NULL)",
        f"CREATE INDEX {table}_grams ON {table} USING gin (grams)",
        f"""CREATE FUNCTION {sync}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM {table} WHERE id = OLD.id;
    ELSE
        INSERT INTO {table} (id, grams) VALUES (NEW.id, {new_grams})
        ON CONFLICT (id) DO UPDATE SET grams = excluded.grams;
    END IF;
    RETURN NULL;
END
$$""",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {entity} FOR EACH ROW EXECUTE FUNCTION {sync}()",
        # An upsert names every column in its SET list: only a real change of a searched column recomputes the pairs.
        f"CREATE TRIGGER {table}_update AFTER UPDATE OF {', '.join(names)} ON {entity} FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION {sync}()",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {entity} FOR EACH ROW EXECUTE FUNCTION {sync}()",
    ]


def create_gin(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> None:
    """Create PostgreSQL's pair function, index tables, GIN indexes and triggers (migration 0007; `FULL_TEXT`:
    0009; nothing on other databases)."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(_PG_FUNCTION))
    for entity_type in entities:
        for statement in _gin_statements(entity_type, entities[entity_type]):
            connection.execute(text(statement))


def drop_gin(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> None:
    """Drop PostgreSQL's triggers and index tables, and the pair function with the lists' own index (`SEARCHABLE`)."""
    if connection.dialect.name != "postgresql":
        return
    for entity_type in entities:
        table = table_name(entity_type)
        for action in ACTIONS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_{action} ON {entity_type}"))
        connection.execute(text(f"DROP FUNCTION IF EXISTS {table}_sync()"))
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    if set(entities) & set(SEARCHABLE):
        connection.execute(text(f"DROP FUNCTION IF EXISTS {bigrams.SQL_FUNCTION}(VARIADIC text[])"))


def rebuild_gin(connection: Connection, entities: Mapping[str, Any] = SEARCHABLE) -> dict[str, int]:
    """Empty and refill PostgreSQL's index tables from the stored rows; returns rows indexed per entity type."""
    if connection.dialect.name != "postgresql":
        return {}
    counts = {}
    for entity_type in entities:
        table, entity = table_name(entity_type), entity_type
        columns = ", ".join(column.name for column in entities[entity_type])
        connection.execute(text(f"DELETE FROM {table}"))
        written = connection.execute(text(
            f"INSERT INTO {table} (id, grams) SELECT id, {bigrams.SQL_FUNCTION}({columns}) FROM {entity}"))
        counts[entity_type] = written.rowcount
    return counts


def rebuild(connection: Connection) -> dict[str, int]:
    """Empty and refill the database's index from the stored rows; returns rows indexed per entity type."""
    return rebuild_fts(connection, _COLUMNS) or rebuild_gin(connection, _COLUMNS)
