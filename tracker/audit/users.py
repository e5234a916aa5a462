"""Accounts of the admin side: roles, scrypt password hashes, account changes (each audited) and login rate limiting.

Roles are ordered viewer < reviewer < admin; a page that needs a role admits every higher one. Passwords are stored
only as werkzeug's scrypt hashes ("scrypt:N:r:p$salt$hash"). Every account change writes an audit-log row in the same
transaction. Login attempts are rows of `login_attempt`; too many failures per address or per username inside the
window refuse further attempts until the window has passed.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.audit import log as auditlog
from tracker.store.models import LoginAttempt, User

ROLES = ("viewer", "reviewer", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
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
    """Replace an account's password (which also ends its open sessions: see `session_token`)."""
    _check_new_password(password)
    user = _require(session, username)
    user.password_hash = hash_password(password)
    auditlog.record(session, actor=actor, action="user.passwd", now=now, target_type="user", target_id=username,
                    reason=reason)
    return user


def set_role(session: Session, username: str, role: str, *, actor: str, now: datetime,
             reason: str | None = None) -> User:
    """Change an account's role."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = _require(session, username)
    old, user.role = user.role, role
    auditlog.record(session, actor=actor, action="user.role", now=now, target_type="user", target_id=username,
                    detail={"old": old, "new": role}, reason=reason)
    return user


def disable_user(session: Session, username: str, *, actor: str, now: datetime, reason: str | None = None) -> User:
    """Disable an account: it can no longer log in and its open sessions stop working. Accounts are never deleted."""
    user = _require(session, username)
    user.active = False
    auditlog.record(session, actor=actor, action="user.disable", now=now, target_type="user", target_id=username,
                    reason=reason)
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def session_token(user: User) -> str:
    """The id a login session stores: the user id plus a fingerprint of the password hash and active flag.

    A password change or a disable changes the token, so sessions opened before it no longer load a user.
    """
    fingerprint = hashlib.sha256(f"{user.password_hash}|{user.active}".encode()).hexdigest()[:20]
    return f"{user.id}:{fingerprint}"


def user_for_token(session: Session, token: str) -> User | None:
    """The active user whose current `session_token` is `token`, else None."""
    user_id, _, _ = (token or "").partition(":")
    if not user_id.isdigit():
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or session_token(user) != token:
        return None
    return user


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: "ok" (with the user), "invalid", or "limited" (with seconds to wait)."""

    status: str
    user: User | None = None
    retry_after: int = 0


def retry_after(session: Session, username: str, ip: str, now: datetime) -> int:
    """Seconds until another attempt is allowed for this username and address (0 when allowed now)."""
    since = now - FAILURE_WINDOW
    waits = []
    for column, value in ((LoginAttempt.ip, ip), (LoginAttempt.username, username[:80])):
        times = session.execute(
            select(LoginAttempt.at).where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc()).limit(MAX_FAILURES)
        ).scalars().all()
        if len(times) >= MAX_FAILURES:
            # Allowed again once the oldest of the last MAX_FAILURES failures leaves the window.
            waits.append(max(1, math.ceil((times[-1] + FAILURE_WINDOW - now).total_seconds())))
    return max(waits, default=0)


def authenticate(session: Session, username: str, password: str, *, ip: str, now: datetime) -> LoginResult:
    """Check a login and record the attempt; refused without checking while the rate limit is reached."""
    global _dummy_hash
    wait = retry_after(session, username, ip, now)
    if wait:
        return LoginResult("limited", retry_after=wait)
    user = get_user(session, username)
    if user is None:
        # Hash anyway, so the response time does not tell which usernames exist.
        _dummy_hash = _dummy_hash or hash_password("no-such-user-placeholder")
        check_password_hash(_dummy_hash, password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password) and user.active
    session.add(LoginAttempt(username=username[:80], ip=ip[:64], success=ok, at=now))
    if not ok:
        session.flush()
        return LoginResult("invalid")
    user.last_login_at = now
    session.flush()
    return LoginResult("ok", user=user)
