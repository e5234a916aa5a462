"""Alembic environment: the URL comes from tracker Settings (or a connection passed in), batch mode for SQLite."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from tracker.config import Settings
from tracker.store import search as search_index
from tracker.store import sort_index
from tracker.store.engine import make_engine
from tracker.store.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table, so later migrations work on both.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # APScheduler keeps its own job table in the same database (so missed jobs catch up after a restart);
        # it is not ours to migrate.
        # The search index's FTS5 tables (and their shadow tables) are SQLite's, made by migration 0003.
        # The list-order index differs between the databases (tracker.store.sort_index), made by migration 0018.
        include_name=lambda name, type_, parents: not (
            (type_ == "table" and (name == "apscheduler_jobs" or search_index.is_index_table(name)))
            or (type_ == "index" and sort_index.is_sort_index(name))),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the connection handed in by the caller, else one from Settings.from_env()."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run `tracker db upgrade`")
run_migrations_online()
