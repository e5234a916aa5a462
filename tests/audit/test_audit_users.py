"""Accounts: scrypt hashes, roles, audited changes, sessions ended by a password change, login rate limiting."""
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


def test_password_change_and_disable_end_open_sessions(sessions, clock):
    with sessions.begin() as session:
        user = users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
        token = users.session_token(user)
        assert users.user_for_token(session, token).username == "alice"
        users.set_password(session, "alice", "another long password", actor="t", now=clock())
        assert users.user_for_token(session, token) is None
        fresh = users.session_token(user)
        assert users.user_for_token(session, fresh).username == "alice"
        users.disable_user(session, "alice", actor="t", now=clock())
        assert users.user_for_token(session, fresh) is None
        assert users.user_for_token(session, "not-a-token") is None
    with sessions() as session:
        actions = [e.action for e in auditlog.query(session)]
    assert sorted(actions) == ["user.create", "user.disable", "user.passwd"]


def test_five_failures_per_address_lock_the_login_until_the_window_passes(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
    for i in range(users.MAX_FAILURES):
        with sessions.begin() as session:
            # Different usernames from one address: guessing across accounts is limited too.
            assert users.authenticate(session, f"guess{i}", "x" * 12, ip="10.0.0.9", now=clock()).status == "invalid"
        clock.advance(minutes=1)
    with sessions.begin() as session:
        limited = users.authenticate(session, "alice", PASSWORD, ip="10.0.0.9", now=clock())
        assert limited.status == "limited" and 0 < limited.retry_after <= 15 * 60
        # Another address is not affected by this one's failures.
        assert users.authenticate(session, "alice", PASSWORD, ip="10.0.0.10", now=clock()).status == "ok"
    clock.advance(seconds=limited.retry_after)
    with sessions.begin() as session:
        assert users.authenticate(session, "alice", PASSWORD, ip="10.0.0.9", now=clock()).status == "ok"


def test_five_failures_for_one_username_lock_it_from_every_address(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
        for i in range(users.MAX_FAILURES):
            users.authenticate(session, "alice", "wrong password", ip=f"10.1.0.{i}", now=clock())
        assert users.authenticate(session, "alice", PASSWORD, ip="10.9.9.9", now=clock()).status == "limited"
    clock.advance(minutes=15, seconds=1)
    with sessions.begin() as session:
        assert users.authenticate(session, "alice", PASSWORD, ip="10.9.9.9", now=clock()).status == "ok"


def test_failures_outside_the_window_do_not_count(sessions, clock):
    with sessions.begin() as session:
        users.create_user(session, "alice", PASSWORD, "viewer", actor="t", now=clock())
        for _ in range(users.MAX_FAILURES - 1):
            users.authenticate(session, "alice", "wrong password", ip="10.0.0.1", now=clock())
    clock.advance(minutes=16)
    with sessions.begin() as session:
        users.authenticate(session, "alice", "wrong password", ip="10.0.0.1", now=clock())
        assert users.authenticate(session, "alice", PASSWORD, ip="10.0.0.1", now=clock()).status == "ok"


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
