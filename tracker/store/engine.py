"""Engine and session factories; SQLite gets WAL, foreign keys, a busy timeout and the search index's bigram function
on every connection; every engine raises the data stamp on each committed write (tracker.store.stamp)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tracker.store import bigrams, stamp


def make_engine(database_url: str, **kwargs) -> Engine:
    """Create an engine; for SQLite the folder is created and connection pragmas are set."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        stamp.install(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we install; a plain postgresql:// URL would otherwise ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    stamp.install(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The search index's triggers compute a row's bigrams in SQL (tracker.store.search).
    dbapi_connection.create_function(bigrams.SQL_FUNCTION, -1, bigrams.document, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Scheduler, web and CLI share one file: wait for a writer instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to the engine (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
