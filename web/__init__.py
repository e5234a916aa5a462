"""The tracker's web side: server-rendered pages, exports, feeds and a read-only JSON API, built by `create_app`.

Nothing happens at import time (no settings read, no engine, no scheduler). `create_app(settings)` uses the settings
it is given (else `Settings.from_env()`), opens one engine, and registers one blueprint per area; each request gets
its own database session, closed in teardown. The app never migrates the database unless `migrate=True`.
Every page is served from this app alone (no CDN): CSS and the little JS there is live in web/static.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask import Flask
from flask_wtf.csrf import CSRFProtect

import scrapers
from tracker.clock import utcnow
from tracker.config import Settings
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.migrate import upgrade
from web import (
    admin,
    api,
    auth,
    companies,
    context,
    dashboard,
    devices,
    exports,
    fulltext,
    i18n,
    notify_admin,
    pagecache,
    params,
    policies,
    security,
    sources,
    subscribe,
    taxonomy_page,
    templating,
)

# One blueprint per area, each a module with a `bp` attribute; a new area adds its module here.
BLUEPRINTS = (dashboard, devices, policies, fulltext, taxonomy_page, companies, sources, exports, api, admin,
              notify_admin, subscribe)
MAX_REQUEST_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None, migrate: bool = False,
) -> Flask:
    """Build the web app for `settings`; `clock` replaces the wall clock (tests), `migrate` upgrades the database."""
    settings = settings if settings is not None else Settings.from_env()
    if migrate:
        upgrade(settings.database_url)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(settings.database_url)
    context.init_app(app, context.AppState(settings, engine, make_session_factory(engine), clock or utcnow,
                                            scrapers.SOURCES))
    CSRFProtect(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    pagecache.init_app(app)
    auth.init_app(app)
    params.init_app(app)  # before the blueprints: their routes use its `id` converter
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    return app
