"""Accounts: scrypt hashes, roles, audited changes, sessions ended by logout and by password, role and active changes.

Login throttling has its own tests (test_audit_throttle.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tracker.audit import log as auditlog
from tracker.audit import users
from tracker.store.models import AuditLog, LoginAttempt

PASSWORD = "correct horse battery"


def test_create_stores_only_a_scrypt_hash_and_audits(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "reviewer", actor="cli:root", now=clock(), reason="new auditor")
    with sessions() as session:
        user = users.get_user(session, "alice")
        entry = session.execute(select(AuditLog)).scalar_one()
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert (user.role, user.active, user.created_at) == ("reviewer", True, clock())
    assert (entry.actor, entry.action, entry.target_type, entry.target_id, entry.reason) == (
        "cli:root", "user.create", "user", "alice", "new auditor")
    assert entry.detail["role"] == "reviewer"


@pytest.mark.parametrize("name,role,password,message", [
    ("bob", "superuser", PASSWORD, "role"),
    ("bob", "viewer", "short", "at least"),
    ("bad name", "viewer", PASSWORD, "username"),
    ("", "viewer", PASSWORD, "username"),
])
def test_create_rejects_bad_input(sessions, clock, name, role, password, message):
    with sessions.begin() as session, pytest.raises(ValueError, match=message):
        users.create_user(session, name, password, role, actor="t", now=clock())


def test_duplicate_username_is_refused(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
        with pytest.raises(ValueError, match="exists"):
            users.create_user(session, "alice", PASSWORD, "admin", actor="t", now=clock())


def test_roles_are_ordered():
    assert users.role_at_least("admin", "reviewer") and users.role_at_least("reviewer", "reviewer")
    assert not users.role_at_least("viewer", "reviewer") and not users.role_at_least(None, "viewer")
    assert not users.role_at_least("root", "viewer")


def test_login_checks_password_and_active_flag(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
    with sessions.begin() as session:
        assert users.authenticate(session, "alice", "wrong password!", ip="10.0.0.1", now=clock()).status == "invalid"
        ok = users.authenticate(session, "alice", PASSWORD, ip="10.0.0.1", now=clock())
        assert ok.status == "ok" and ok.user.username == "alice" and ok.user.last_login_at == clock()
        assert users.authenticate(session, "nobody", PASSWORD, ip="10.0.0.1", now=clock()).status == "invalid"
        users.disable_user(session, "alice", actor="t", now=clock())
        assert users.authenticate(session, "alice", PASSWORD, ip="10.0.0.1", now=clock()).status == "invalid"
    with sessions() as session:
        attempts = session.execute(select(LoginAttempt.username, LoginAttempt.success).order_by(LoginAttempt.id)).all()
    assert attempts == [("alice", False), ("alice", True), ("nobody", False), ("alice", False)]


def test_password_role_change_disable_and_logout_end_open_sessions(sessions, clock):
    with sessions.begin() as session:
        user = users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
        session.flush()
        ended = []

        def still_open(token):
            return users.user_for_token(session, token) is not None

        for change in (
            lambda: users.set_password(session, "alice", "another long password", actor="t", now=clock()),
            lambda: users.set_role(session, "alice", "reviewer", actor="t", now=clock()),
            lambda: users.logout(session, users.session_token(user), ip="10.0.0.1", now=clock()),
        ):
            token = users.session_token(user)
            assert still_open(token)
            change()
            session.flush()
            assert not still_open(token) and still_open(users.session_token(user))
            ended.append(token)
        token = users.session_token(user)
        users.set_role(session, "alice", "reviewer", actor="t", now=clock())  # the same role: nothing changes
        assert still_open(token)
        users.disable_user(session, "alice", actor="t", now=clock())
        assert not any(still_open(t) for t in [*ended, token, users.session_token(user)])
        assert not still_open("not-a-token") and not still_open(f"{user.id}:") and not still_open("")
    with sessions() as session:
        actions = [e.action for e in auditlog.query(session)]
    assert sorted(actions) == ["auth.logout", "user.create", "user.disable", "user.passwd", "user.role", "user.role"]


def test_audit_log_cannot_be_rewritten(sessions, clock):
    with sessions.begin() as session:
        auditlog.record(session, actor="alice", action="tag.decision", now=clock(), reason="why")
    for statement in ("UPDATE audit_log SET reason = 'other'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with sessions.begin() as session:
                session.execute(text(statement))
    with sessions() as session:
        assert session.execute(select(AuditLog.reason)).scalar_one() == "why"


def test_audit_log_filters(sessions, clock):
    with sessions.begin() as session:
        auditlog.record(session, actor="alice", action="tag.decision", now=clock(), target_type="device",
                        target_id=7, reason="not AI: plain image viewer")
        clock.advance(days=1)
        auditlog.record(session, actor="root", action="user.create", now=clock(), target_type="user",
                        target_id="bob")
        clock.advance(days=1)
        auditlog.record(session, actor="root", action="user.disable", now=clock(), target_type="user",
                        target_id="bob", reason="left_the_team 100%")
    F = auditlog.AuditFilter
    with sessions() as session:
        def ids(flt):
            return [(e.actor, e.action) for e in auditlog.query(session, flt)]

        assert ids(F(action="user")) == [("root", "user.disable"), ("root", "user.create")]
        assert ids(F(action="user.create")) == [("root", "user.create")]
        assert ids(F(actor="alice")) == [("alice", "tag.decision")]
        assert ids(F(target_type="device", target_id="7")) == [("alice", "tag.decision")]
        assert ids(F(since=clock() - timedelta(days=1), until=clock())) == [("root", "user.create")]
        assert ids(F(text="image viewer")) == [("alice", "tag.decision")]
        assert ids(F(text="_the_team 100%")) == [("root", "user.disable")]
        assert ids(F(text="%")) == [("root", "user.disable")]  # LIKE wildcards are taken literally
        assert auditlog.count(session, F(action="user")) == 2
        assert auditlog.known_actions(session) == ["tag.decision", "user.create", "user.disable"]
