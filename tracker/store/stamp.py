"""The data stamp: one counter (table `data_stamp`, one row) raised by every transaction that writes and commits,
the one home of "has the data changed since?" for caches of what the store says.

Write paths are many (a scrape run and the UDI ingest, a reviewer's decision, tag rules, a migration, accounts and
subscriptions) and more will come, so none of them raises it by hand: `install(engine)`, called by
`tracker.store.engine.make_engine` for every engine the tracker makes, watches the statements a connection executes
and, when one of them was not a read, raises the counter inside the same transaction just before it commits. The
counter therefore changes exactly when committed data may have changed (a rolled-back write leaves it alone); a
transaction that wrote and then committed nothing new still raises it, which only costs a cache some misses.

Raising it costs one existence check and one UPDATE per writing transaction (not per row). The existence check keeps
a database older than migration 0019 (no table yet: a migration run, or an old store) writable. Reading it
(`current`) is one primary-key lookup.
"""
from __future__ import annotations

import re

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from tracker.store.models import DataStamp

TABLE = "data_stamp"
# Statements that never change data; anything else (INSERT, UPDATE, DELETE, DDL, a CTE that may write) counts as a
# write. Transaction control counts as neither, so a read-only transaction stays one.
_NOT_A_WRITE = re.compile(r"\s*(SELECT|PRAGMA|SHOW|EXPLAIN|BEGIN|SAVEPOINT|RELEASE|ROLLBACK|SET\s)", re.IGNORECASE)
_WROTE = "tracker_stamp_wrote"


def install(engine: Engine) -> None:
    """Make every committed write on `engine` raise the stamp."""
    event.listen(engine, "after_cursor_execute", _note_write)
    event.listen(engine, "commit", _raise_before_commit)
    event.listen(engine, "rollback", _forget)


def current(session: Session) -> int:
    """The stamp now (0 on a store that has none yet: such a store is migrated before the web app reads it)."""
    return session.execute(select(DataStamp.version).where(DataStamp.id == 1)).scalar_one_or_none() or 0


def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if not _NOT_A_WRITE.match(statement):
        conn.info[_WROTE] = True


def _forget(conn) -> None:
    conn.info.pop(_WROTE, None)


def _raise_before_commit(conn) -> None:
    # The commit event runs before the DBAPI commit, so the UPDATE below is part of the transaction it closes: the
    # new stamp and the data it stands for become visible together. It goes through the DBAPI cursor, below the
    # statement events, so it does not mark the next transaction as a writing one.
    if not conn.info.pop(_WROTE, False):
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        exists = ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_stamp'"
                  if conn.dialect.name == "sqlite" else "SELECT to_regclass('data_stamp')")
        cursor.execute(exists)
        row = cursor.fetchone()
        if row is not None and row[0] is not None:
            cursor.execute("UPDATE data_stamp SET version = version + 1 WHERE id = 1")
    finally:
        cursor.close()
