"""Migrations on SQLite and PostgreSQL: empty → head, no drift between models and migrations, one step down and up."""
from __future__ import annotations

import itertools

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tracker.store import search as search_index
from tracker.store.engine import make_engine
from tracker.store.migrate import alembic_config, downgrade, upgrade
from tracker.store.models import Base

_names = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> str:
    """An empty database with no tables at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"empty_{next(_names)}"
    engine = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return cluster.url(name)


def _check(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.check(cfg)  # raises when the models hold something no migration creates
    engine.dispose()


def _schema(url: str) -> set[tuple[str, ...]]:
    """Every table and index of the database (the search index's SQLite tables included)."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        return {("table", t) for t in tables} | {
            ("index", t, ix["name"]) for t in tables for ix in inspector.get_indexes(t)}
    finally:
        engine.dispose()


def _model_tables(schema: set[tuple[str, ...]]) -> set[str]:
    return {entry[1] for entry in schema if entry[0] == "table" and not search_index.is_index_table(entry[1])}


def test_upgrade_from_empty_to_head_matches_the_models(empty_url):
    upgrade(empty_url)
    assert _model_tables(_schema(empty_url)) == set(Base.metadata.tables)
    _check(empty_url)


def test_downgrade_one_step_and_upgrade_again(empty_url):
    upgrade(empty_url)
    head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    at_head = _schema(empty_url)
    downgrade(empty_url, "-1")
    assert _schema(empty_url) != at_head, "the last migration must undo what it did"
    upgrade(empty_url)
    assert _schema(empty_url) == at_head
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
    engine.dispose()
    _check(empty_url)


def test_append_only_triggers_survive_a_round_trip(empty_url):
    upgrade(empty_url)
    downgrade(empty_url, "-1")
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-01-01 00:00:00', 'test', 'x', '{}')"))
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    engine.dispose()
