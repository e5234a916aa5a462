"""Migration 0004 (session version, username index of login attempts) on SQLite and PostgreSQL: down to 0003 and up
again with an account in the table, which keeps its row and starts at session version 0."""
from __future__ import annotations

from sqlalchemy import inspect, text

from tracker.audit import users
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.migrate import downgrade, upgrade


def _shape(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return ({c["name"] for c in inspector.get_columns("app_user")},
                {ix["name"] for ix in inspector.get_indexes("login_attempt")})
    finally:
        engine.dispose()


def test_0004_goes_down_and_up_keeping_accounts(db_url, clock):
    downgrade(db_url, "0003")
    columns, indexes = _shape(db_url)
    assert "session_version" not in columns and "ix_login_attempt_username_at" not in indexes
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO app_user (username, password_hash, role, active, created_at) "
                          "VALUES ('old', :hash, 'admin', :active, :at)"),
                     {"hash": users.hash_password("an old long password"), "active": True, "at": clock()})
    engine.dispose()

    upgrade(db_url)
    columns, indexes = _shape(db_url)
    assert "session_version" in columns and "ix_login_attempt_username_at" in indexes
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        old = users.get_user(session, "old")
        assert old.session_version == 0 and users.session_token(old) == f"{old.id}:0"
        assert users.authenticate(session, "old", "an old long password", ip="10.0.0.1", now=clock()).status == "ok"
        users.set_role(session, "old", "viewer", actor="t", now=clock())
    with sessions() as session:
        assert users.get_user(session, "old").session_version == 1
    engine.dispose()

    downgrade(db_url, "0003")
    assert "session_version" not in _shape(db_url)[0]
    upgrade(db_url)
    assert "session_version" in _shape(db_url)[0]
