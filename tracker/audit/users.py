"""Accounts of the admin side: roles, scrypt password hashes, account changes, logins and logouts (each audited).

Roles are ordered viewer < reviewer < admin; a page that needs a role admits every higher one. Passwords are stored
only as werkzeug's scrypt hashes ("scrypt:N:r:p$salt$hash"). Every account change writes an audit-log row in the same
transaction. Login attempts are rows of `login_attempt`, throttled per account and per address by
tracker.audit.throttle; every successful and failed login, logout and lockout is an `auth.*` audit-log row with the
account, the address and the time.

A login session stores `session_token(user)`: the account id and its `session_version`. `end_sessions` raises the
version, so every session opened before stops loading; logout, a password change, a role change and disabling the
account all call it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.audit import log as auditlog
from tracker.audit import throttle
from tracker.store.models import LoginAttempt, User

ROLES = ("viewer", "reviewer", "admin")
MIN_PASSWORD_LENGTH = 10
# The actor of failed logins and lockouts: the name typed is not a proven identity (it is the entry's target instead).
ANONYMOUS = "anonymous"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")
_dummy_hash: str | None = None


def role_at_least(role: str | None, required: str) -> bool:
    """True when `role` is `required` or a higher role (unknown roles admit nothing)."""
    if required not in ROLES:
        raise ValueError(f"unknown role {required!r}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(required)


def hash_password(password: str) -> str:
    """The scrypt hash to store for `password`."""
    return generate_password_hash(password, method="scrypt")


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def get_user(session: Session, username: str) -> User | None:
    """The account named `username`, or None."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _require(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise LookupError(f"no such user: {username!r}")
    return user


def create_user(
    session: Session, username: str, password: str, role: str, *, actor: str, now: datetime,
    email: str | None = None, reason: str | None = None,
) -> User:
    """Create an active account; ValueError for a bad name, role or password, or a name already taken."""
    if not _USERNAME.match(username or ""):
        raise ValueError("a username is 1-80 letters, digits, '_', '.', '@' or '-', starting with a letter or digit")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    _check_new_password(password)
    if get_user(session, username) is not None:
        raise ValueError(f"user {username!r} exists already")
    user = User(username=username, email=email, password_hash=hash_password(password), role=role, active=True,
                created_at=now)
    session.add(user)
    session.flush()
    auditlog.record(session, actor=actor, action="user.create", now=now, target_type="user", target_id=username,
                    detail={"role": role, "email": email}, reason=reason)
    return user


def set_password(session: Session, username: str, password: str, *, actor: str, now: datetime,
                 reason: str | None = None) -> User:
    """Replace an account's password, ending its open sessions."""
    _check_new_password(password)
    user = _require(session, username)
    user.password_hash = hash_password(password)
    end_sessions(user)
    auditlog.record(session, actor=actor, action="user.passwd", now=now, target_type="user", target_id=username,
                    reason=reason)
    return user


def set_role(session: Session, username: str, role: str, *, actor: str, now: datetime,
             reason: str | None = None) -> User:
    """Change an account's role, ending its open sessions when the role is a different one."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = _require(session, username)
    old, user.role = user.role, role
    if old != role:
        end_sessions(user)
    auditlog.record(session, actor=actor, action="user.role", now=now, target_type="user", target_id=username,
                    detail={"old": old, "new": role}, reason=reason)
    return user


def disable_user(session: Session, username: str, *, actor: str, now: datetime, reason: str | None = None) -> User:
    """Disable an account: it can no longer log in and its open sessions stop working. Accounts are never deleted."""
    user = _require(session, username)
    user.active = False
    end_sessions(user)
    auditlog.record(session, actor=actor, action="user.disable", now=now, target_type="user", target_id=username,
                    reason=reason)
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def end_sessions(user: User) -> None:
    """End every open session of `user`: their stored tokens carry the version this raises."""
    user.session_version = (user.session_version or 0) + 1


def session_token(user: User) -> str:
    """The id a login session stores: the account id and its current session version."""
    return f"{user.id}:{user.session_version or 0}"


def user_for_token(session: Session, token: str) -> User | None:
    """The active user whose current `session_token` is `token`, else None (a session ended by `end_sessions`)."""
    user_id, _, _ = (token or "").partition(":")
    if not user_id.isdigit():
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or session_token(user) != token:
        return None
    return user


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: "ok" (with the user), "invalid", or "limited" (with seconds to wait).

    "invalid" and "limited" are the same whether or not the account exists: the throttle counts names, not accounts.
    """

    status: str
    user: User | None = None
    retry_after: int = 0


def _wait(standings: list[throttle.Standing], now: datetime) -> int:
    return max(s.retry_after(now) for s in standings)


def authenticate(session: Session, username: str, password: str, *, ip: str, now: datetime) -> LoginResult:
    """Check a login, record the attempt and audit it; refused without checking while the account or address waits."""
    global _dummy_hash
    username, ip = username[:80], ip[:64]
    if wait := _wait(throttle.standings(session, username, ip, now), now):
        # Not recorded: retries during the wait would lengthen it, and would let anyone fill the append-only log.
        return LoginResult("limited", retry_after=wait)
    user = get_user(session, username)
    if user is None:
        # Hash anyway, so the response time does not tell which usernames exist.
        _dummy_hash = _dummy_hash or hash_password("no-such-user-placeholder")
        check_password_hash(_dummy_hash, password)
        ok, cause = False, "unknown account"
    else:
        ok = check_password_hash(user.password_hash, password) and user.active
        cause = "wrong password" if user.active else "account disabled"
    # The password was checked outside the turn (it is the slow part); the decision is taken again inside it, where
    # every earlier attempt at this name has been counted.
    throttle.take_turn(session, username)
    standings = throttle.standings(session, username, ip, now)
    if wait := _wait(standings, now):
        return LoginResult("limited", retry_after=wait)
    session.add(LoginAttempt(username=username, ip=ip, success=ok, at=now))
    if not ok:
        auditlog.record(session, actor=ANONYMOUS, action="auth.login_failed", now=now, target_type="user",
                        target_id=username, detail={"ip": ip, "cause": cause})
        for standing in (s.after_failure(now) for s in standings):
            if standing.wait:
                auditlog.record(session, actor=ANONYMOUS, action="auth.lockout", now=now,
                                target_type="user" if standing.policy is throttle.ACCOUNT else "address",
                                target_id=standing.key,
                                detail={"ip": ip, "scope": standing.policy.scope, "failures": standing.failures,
                                        "wait_seconds": int(standing.wait.total_seconds())})
        return LoginResult("invalid")
    user.last_login_at = now
    auditlog.record(session, actor=user.username, action="auth.login", now=now, target_type="user",
                    target_id=user.username, detail={"ip": ip})
    return LoginResult("ok", user=user)


def logout(session: Session, token: str, *, ip: str, now: datetime) -> None:
    """End every session of the account logged in with `token` (this one included) and audit the logout."""
    user = user_for_token(session, token)
    if user is None:
        return
    end_sessions(user)
    auditlog.record(session, actor=user.username, action="auth.logout", now=now, target_type="user",
                    target_id=user.username, detail={"ip": ip})
