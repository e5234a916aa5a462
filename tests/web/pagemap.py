"""Every page of the site with sample arguments, for the tests that load them all (both languages, phone and
desktop widths).

A new GET route must be listed here: as a `Page` (an HTML page people read) or in `NOT_PAGES` with the reason it is
not one (a file, a feed, JSON). `unlisted(app)` names the routes that are neither, and a test fails on them, so a
page cannot be added without being translated and laid out for phones.

`prepare(env)` adds what some pages need to the seeded database of a `webseed.WebEnv` (an administrator account, a
confirmed subscriber and its signed links); `Page.url(site)` builds the page's URL from that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from flask import Flask
from sqlalchemy import select
from webseed import NOW, WebEnv

from tests.audit.conftest import PASSWORD, login
from tracker.audit import users
from tracker.mail import subscriptions
from tracker.mail.tokens import make_token
from tracker.store.models import Company, Subscriber

ADMIN = "pagemap-admin"
SUBSCRIBER = "reader@example.org"


@dataclass(frozen=True)
class Site:
    """What the page URLs are built from: the seeded ids and the subscriber's signed tokens."""

    devices: dict[str, int]
    policies: dict[str, int]
    documents: dict[str, int]
    tokens: dict[str, str]
    company_id: int
    attachments: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page: a name for reports and screenshot files, its endpoint, and how to build its URL."""

    name: str
    endpoint: str
    path: Callable[[Site], str]
    login: bool = False  # an administrator's session is needed
    status: int = 200


PAGES: tuple[Page, ...] = (
    Page("dashboard", "dashboard.index", lambda s: "/"),
    Page("devices", "devices.index", lambda s: "/devices"),
    Page("devices-filtered", "devices.index", lambda s: "/devices?area=medical_imaging&ai=1&sort=-seen"),
    Page("device", "devices.detail", lambda s: f"/devices/{s.devices['lung']}"),
    Page("device-history", "devices.detail", lambda s: f"/devices/{s.devices['eye']}"),
    Page("device-asof", "devices.detail", lambda s: f"/devices/{s.devices['eye']}?asof=2026-11-12"),
    Page("device-before-recorded", "devices.detail", lambda s: f"/devices/{s.devices['eye']}?asof=2026-11-01"),
    Page("policies", "policies.index", lambda s: "/policies"),
    Page("policy", "policies.detail", lambda s: f"/policies/{s.policies['ai_guidance']}"),
    Page("search", "fulltext.search", lambda s: "/search?q=数据漂移监测"),
    Page("search-empty", "fulltext.search", lambda s: "/search"),
    Page("attachment", "fulltext.attachment", lambda s: f"/attachments/{s.attachments['pdf']}"),
    Page("compare", "fulltext.compare_page", lambda s: f"/policies/{s.policies['ai_guidance']}/compare"),
    Page("policy-asof", "policies.detail", lambda s: f"/policies/{s.policies['ai_guidance']}?asof=2026-11-16"),
    Page("companies", "companies.index", lambda s: "/companies"),
    Page("company", "companies.detail", lambda s: f"/companies/{s.company_id}"),
    Page("sources", "sources.index", lambda s: "/sources"),
    Page("taxonomy", "taxonomy.index", lambda s: "/taxonomy"),
    Page("archived-page", "sources.document", lambda s: f"/documents/{s.documents['udi']}"),
    Page("archived-source", "sources.document", lambda s: f"/documents/{s.documents['udi']}?view=source"),
    Page("not-found", "devices.detail", lambda s: "/devices/999999", status=404),
    Page("bad-argument", "devices.index", lambda s: "/devices?sort=bogus", status=400),
    Page("login", "auth.login", lambda s: "/auth/login"),
    Page("subscribe", "subscribe.form", lambda s: "/subscribe"),
    Page("subscribe-confirm", "subscribe.confirm_page", lambda s: f"/subscribe/confirm/{s.tokens['confirm']}"),
    Page("subscribe-manage", "subscribe.manage", lambda s: f"/subscribe/manage/{s.tokens['manage']}"),
    Page("subscribe-bad-link", "subscribe.manage", lambda s: "/subscribe/manage/not-a-token", status=404),
    Page("unsubscribe", "subscribe.unsubscribe_page", lambda s: f"/unsubscribe/{s.tokens['unsubscribe']}"),
    Page("admin", "admin.index", lambda s: "/admin/", login=True),
    Page("admin-queue", "admin.queue", lambda s: "/admin/review", login=True),
    Page("admin-review-device", "admin.review_entity", lambda s: f"/admin/review/device/{s.devices['lung']}",
         login=True),
    Page("admin-review-policy", "admin.review_entity",
         lambda s: f"/admin/review/policy/{s.policies['ai_guidance']}", login=True),
    Page("admin-audit", "admin.audit_log", lambda s: "/admin/audit", login=True),
    Page("admin-export", "admin.export_form", lambda s: "/admin/export", login=True),
    Page("admin-users", "admin.user_list", lambda s: "/admin/users", login=True),
    Page("admin-channels", "notify_admin.channel_list", lambda s: "/admin/channels", login=True),
    Page("admin-watches", "notify_admin.watch_list", lambda s: "/admin/watches", login=True),
    Page("admin-deliveries", "notify_admin.delivery_list", lambda s: "/admin/deliveries", login=True),
)

# GET routes that are not HTML pages, and why; the tests of each cover them.
NOT_PAGES: dict[str, str] = {
    "static": "CSS, JS and icons",
    "api.root": "JSON", "api.devices": "JSON", "api.device": "JSON", "api.policies": "JSON", "api.policy": "JSON",
    "api.runs": "JSON", "api.tags": "JSON", "api.openapi": "JSON (the OpenAPI document)",
    "exports.export": "CSV, XLSX and JSON files (tests/web/test_web_exports.py)",
    "exports.feed": "Atom feeds (tests/web/test_web_exports.py)",
    "exports.events_feed": "Atom feed of certificate events (tests/web/test_web_exports.py)",
    "sources.raw": "the archived raw copy of a source document, served as it was fetched (shown on sources.document)",
}


@dataclass
class Prepared:
    """A `WebEnv` with the additions of `prepare` and the `Site` its pages are built from."""

    env: WebEnv
    site: Site
    _clients: dict[bool, object] = field(default_factory=dict)

    def client(self, logged_in: bool):
        """A test client of the app, logged in as the administrator when `logged_in` (one each, reused)."""
        if logged_in not in self._clients:
            client = self.env.app.test_client()
            if logged_in:
                assert login(client, ADMIN).status_code == 302
            self._clients[logged_in] = client
        return self._clients[logged_in]


def prepare(env: WebEnv) -> Prepared:
    """Add an administrator, a confirmed subscriber and a review decision to `env`'s database; return its `Site`."""
    who = subscriptions.Requester("127.0.0.1", "pagemap")
    with env.sessions.begin() as session:
        users.create_user(session, ADMIN, PASSWORD, "admin", actor="test", now=NOW - timedelta(days=1),
                          reason="pages test")
        subscriptions.sign_up(session, env.settings, SUBSCRIBER, subscriptions.default_preferences(), "zh", who,
                              NOW - timedelta(days=1))
    with env.sessions() as session:
        subscriber = session.execute(select(Subscriber).where(Subscriber.email == SUBSCRIBER)).scalar_one()
        company_id = session.execute(select(Company.id).order_by(Company.id)).scalars().first()
    with env.sessions.begin() as session:
        subscriptions.confirm(session, subscriber.id, who, NOW - timedelta(hours=20))
    secret = env.app.config["SECRET_KEY"]
    tokens = {purpose: make_token(secret, purpose, subscriber.id, SUBSCRIBER)
              for purpose in ("confirm", "manage", "unsubscribe")}
    return Prepared(env, Site(dict(env.ids.devices), dict(env.ids.policies), dict(env.ids.documents), tokens,
                              company_id, dict(env.ids.attachments)))


def get_endpoints(app: Flask) -> set[str]:
    """The endpoints of every route that answers GET."""
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


def unlisted(app: Flask) -> set[str]:
    """GET endpoints that are neither a listed page nor in NOT_PAGES."""
    return get_endpoints(app) - {p.endpoint for p in PAGES} - set(NOT_PAGES)
