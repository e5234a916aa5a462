"""Logging in and out (Flask-Login), roles on views, and the optional "lists need a login" gate.

- Passwords are checked by tracker.audit.users (scrypt), which records and audits every attempt; while the account or
  the address must wait (tracker.audit.throttle) the login answers 429 with Retry-After, the same page whether or not
  the account exists.
- The session stores `users.session_token(user)` (account id and session version), checked against the database on
  every request by the user loader: logout, a password or role change and disabling the account raise the version,
  so a session cookie copied before any of them no longer logs anyone in.
- Pages answered to a logged-in account, and every admin and login page, are `Cache-Control: no-store`: no browser
  history or shared proxy keeps a copy of what only an account may see (static files excepted: nothing personal).
- The session cookie is HttpOnly and SameSite=Lax, and Secure when the site is served over https.
- `next` after login is followed only when it is a path on this site (no scheme, no host, no `//` or backslash).
- Logout is a POST (CSRF-protected like every state change), so a third-party page cannot log a user out.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

import flask_babel
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from tracker.audit import users
from web import context
from web.i18n import gettext

bp = Blueprint("auth", __name__, url_prefix="/auth")
# Blueprints whose every answer is no-store, logged in or not: the login form carries a CSRF token, and an admin
# answer may be a page whose session has just ended.
NO_STORE_BLUEPRINTS = frozenset({"auth", "admin"})
# Blueprints reachable without a login even when lists require one: logging in, and the links in emails.
OPEN_BLUEPRINTS = frozenset({"auth", "subscribe"})
OPEN_ENDPOINTS = frozenset({"static"})


class AuthUser(UserMixin):
    """The logged-in account as the web side sees it (a detached copy: no database session is kept)."""

    def __init__(self, user) -> None:
        self.token = users.session_token(user)
        self.user_id = user.id
        self.username = user.username
        self.role = user.role

    def get_id(self) -> str:
        """What Flask-Login stores in the session."""
        return self.token

    def has_role(self, role: str) -> bool:
        """True when the account's role is `role` or higher."""
        return users.role_at_least(self.role, role)


def _load_user(token: str) -> AuthUser | None:
    user = users.user_for_token(context.db(), token)
    return AuthUser(user) if user is not None else None


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (so a login link cannot send anyone elsewhere)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def role_required(role: str) -> Callable:
    """Decorator: the view needs a logged-in account with `role` or higher (login page if anonymous, else 403)."""
    users.role_at_least(None, role)  # an unknown role is a programming error: fail at import, not per request

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # lets tests list every route's role
        return wrapped

    return decorate


def require_role(role: str):
    """For a blueprint's before_request: None when the current account may go on, else the refusal response."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role(role):
        abort(403)
    return None


def _lists_gate():
    settings = context.state().settings
    if not getattr(settings, "require_login_for_lists", False) or current_user.is_authenticated:
        return None
    if request.endpoint is None or request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if request.path.startswith("/api/"):
        abort(401)
    return current_app.login_manager.unauthorized()


def _no_store(response):
    if request.endpoint != "static" and (request.blueprint in NO_STORE_BLUEPRINTS or current_user.is_authenticated):
        response.headers["Cache-Control"] = "no-store"
    return response


def _address() -> str:
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Install Flask-Login, the cookie settings, the lists gate, no-store for accounts and the login/logout routes."""
    https = app.extensions["tracker"].settings.serves_https
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https,
    )
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = None  # type: ignore[assignment]
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    manager.init_app(app)
    app.before_request(_lists_gate)
    app.after_request(_no_store)
    app.register_blueprint(bp)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; on success, back to `next` (a local path) or the admin overview."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", next=target, error=None)
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    with context.state().sessions.begin() as db:
        result = users.authenticate(db, username, password, ip=_address(), now=context.now())
        user = AuthUser(result.user) if result.status == "ok" else None
    if result.status == "limited":
        # Babel words the wait in the reader's language ("30 秒", "2 minutes"), rounding up to whole units.
        wait = flask_babel.format_timedelta(timedelta(seconds=result.retry_after), threshold=1,
                                            granularity="second")
        page = render_template("auth/login.html", next=target, username=username,
                               error=gettext("login_throttled", wait=wait))
        return page, 429, {"Retry-After": str(result.retry_after)}
    if user is None:
        page = render_template("auth/login.html", next=target, username=username,
                               error=gettext("login_wrong"))
        return page, 401
    session.clear()  # nothing from before the login survives it (session fixation)
    login_user(user)
    return redirect(target or url_for("admin.index"))


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session server-side (every session of the account: its session version is raised), then the cookie's."""
    if current_user.is_authenticated:
        with context.state().sessions.begin() as db:
            users.logout(db, current_user.get_id(), ip=_address(), now=context.now())
    logout_user()
    session.clear()
    flash(gettext("logged_out"))
    return redirect(url_for("auth.login"))
