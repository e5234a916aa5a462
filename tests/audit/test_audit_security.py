"""Security review of the web side, against every route the app has: roles on admin routes, CSRF on every state
change, the archived-copy viewer (no path traversal, raw HTML inert), login redirects, signed subscription tokens, and
stored markup from scraped fields staying inert on every page."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tracker.audit import review
from tracker.fetch.archive import Archive
from tracker.fetch.base import Response as FetchResponse
from tracker.ingest.write import write_records
from tracker.mail import tokens
from tracker.records import DeviceRecord, NewsRecord, PolicyRecord
from tracker.store.models import AuditLog, Company, Device, Policy, Subscriber, Subscription, User
from tracker.store.write import WriteContext, record_document

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# The least role of every admin endpoint. A new admin route fails test_every_admin_route_is_classified until it is
# listed here, so nobody adds one without deciding who may use it.
ADMIN_ROLES = {
    "admin.index": "reviewer", "admin.queue": "reviewer", "admin.review_entity": "reviewer",
    "admin.decide": "reviewer", "admin.audit_log": "reviewer", "admin.export_form": "reviewer",
    "admin.export_bundle": "reviewer", "admin.user_list": "admin", "admin.user_create": "admin",
    "admin.user_role": "admin", "admin.user_disable": "admin",
    # Team notifications (web/notify_admin.py, also under /admin): channels hold credentials, watches do not.
    "notify_admin.channel_list": "reviewer", "notify_admin.channel_add": "admin", "notify_admin.channel_test": "admin",
    "notify_admin.channel_remove": "admin", "notify_admin.watch_list": "reviewer", "notify_admin.watch_add": "reviewer",
    "notify_admin.watch_remove": "reviewer", "notify_admin.delivery_list": "reviewer",
}
ADMIN_BLUEPRINTS = ("admin.", "notify_admin.")  # the blueprints under /admin, each refusing anonymous and viewers
# Form data that would change something if a refused request were executed anyway.
HARMFUL_FORMS = {
    "admin.decide": {"facet": "ai", "code": "ai", "decision": "remove", "reason": "intrusion"},
    "admin.user_create": {"username": "intruder", "password": "intruder password", "role": "admin"},
    "admin.user_role": {"role": "admin", "reason": "intrusion"},
    "admin.user_disable": {"reason": "intrusion"},
    "admin.export_bundle": {"from": "2026-11-01", "to": "2026-11-30"},
    "notify_admin.channel_add": {"name": "intruder", "kind": "slack", "url": "https://hooks.example/x", "lang": "zh"},
    "notify_admin.watch_add": {"name": "intruder", "frequency": "immediate", "channel": ["x"]},
}
# RFC 8058 one-click unsubscribe: a mail client POSTs without cookies or a form token; the signed link is the proof
# (test_one_click_unsubscribe_needs_a_genuine_token_for_that_address).
CSRF_EXEMPT = {"subscribe.unsubscribe"}
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
EVIL_URL = "javascript:alert(1)"


def link_token(app, rule_path: str, subscriber: tuple[int, str]) -> str:
    """A genuine token for the purpose of a subscription route (/subscribe/confirm/<token> → "confirm", ...)."""
    purpose = next(p for p, path in tokens.PATHS.items() if rule_path == path.replace("{token}", "<token>"))
    return tokens.make_token(app.config["SECRET_KEY"], purpose, *subscriber)


def subscriber_rows(sessions) -> list[tuple]:
    with sessions() as session:
        return [tuple(r) for r in session.execute(select(Subscriber.id, Subscriber.email, Subscriber.status)
                                                  .order_by(Subscriber.id))]


@pytest.fixture
def subscribers(sessions, clock) -> dict[str, tuple[int, str]]:
    """Two active subscribers, a and b; a's keywords hold markup. Values: (id, email)."""
    out = {}
    with sessions.begin() as session:
        for name in ("a", "b"):
            row = Subscriber(email=f"{name}@example.org", status="active", lang="zh", created_at=clock(),
                             confirmed_at=clock())
            session.add(row)
            session.flush()
            session.add(Subscription(subscriber_id=row.id, created_at=clock(), updated_at=clock(),
                                     filters={"keywords": [EVIL] if name == "a" else []}))
            out[name] = (row.id, row.email)
    return out


def admin_urls(app, device_id: int) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every admin route."""
    out = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith(ADMIN_BLUEPRINTS):
                continue
            args = {"entity_type": "device", "entity_id": device_id, "username": "viewer", "name": "x"}
            url = url_for(rule.endpoint, **{k: v for k, v in args.items() if k in rule.arguments})
            for method in sorted(rule.methods & ({"GET"} | STATE_CHANGING)):
                out.append((rule.endpoint, method, url))
    return out


def token_of(client, csrf, path="/auth/login") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def state_counts(sessions) -> tuple[int, int]:
    with sessions() as session:
        return (session.scalar(select(func.count()).select_from(AuditLog)),
                session.scalar(select(func.count()).select_from(User)))


def test_every_admin_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith(ADMIN_BLUEPRINTS)}
    assert endpoints == set(ADMIN_ROLES)
    # Every URL under /admin belongs to an admin blueprint (whose before_request refuses anonymous and viewers).
    assert all(rule.endpoint.startswith(ADMIN_BLUEPRINTS) for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/admin"))


@pytest.mark.parametrize("who", ["anonymous", "viewer", "reviewer"])
def test_admin_routes_refuse_anonymous_and_low_roles(app, accounts, store, sessions, log_in, csrf, who):
    [device] = store(("放疗靶区自动勾画软件", None))
    client = app.test_client()
    if who != "anonymous":
        assert log_in(client, who).status_code == 302
    before = state_counts(sessions)
    checked = 0
    for endpoint, method, url in admin_urls(app, device):
        allowed = who != "anonymous" and who != "viewer" and ADMIN_ROLES[endpoint] == "reviewer"
        if allowed:
            continue
        data = {**HARMFUL_FORMS.get(endpoint, {}), "csrf_token": token_of(client, csrf)}
        response = client.open(url, method=method, data=data if method != "GET" else None)
        if who == "anonymous":
            assert response.status_code == 302, (method, url)
            assert urlsplit(response.location).path == "/auth/login", (method, url)
        else:
            assert response.status_code == 403, (who, method, url)
        checked += 1
    assert checked >= (len(admin_urls(app, device)) if who != "reviewer" else 4)
    assert state_counts(sessions) == before
    with sessions() as session:
        assert session.get(Device, device).is_ai is True


def test_every_state_changing_route_needs_a_csrf_token(app, accounts, store, sessions, log_in, subscribers):
    [device] = store(("放疗靶区自动勾画软件", None))
    client = app.test_client()
    log_in(client, "admin")
    before = state_counts(sessions), subscriber_rows(sessions)
    routes = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            for method in sorted(rule.methods & STATE_CHANGING):
                args = {"entity_type": "device", "entity_id": device, "username": "viewer", "name": "x"}
                if "token" in rule.arguments:  # a valid link token: only the missing CSRF token is wrong
                    args["token"] = link_token(app, rule.rule, subscribers["a"])
                if rule.endpoint in CSRF_EXEMPT:
                    continue
                routes.append((rule.endpoint, method,
                               url_for(rule.endpoint, **{k: v for k, v in args.items() if k in rule.arguments})))
    assert {e for e, _m, _u in routes} >= {"auth.login", "auth.logout", "admin.decide", "admin.user_create"}
    for endpoint, method, url in routes:
        data = HARMFUL_FORMS.get(endpoint, {"username": "admin", "password": "correct horse battery"})
        response = client.open(url, method=method, data=data)
        assert response.status_code == 400, (endpoint, method, url)
        wrong = client.open(url, method=method, data={**data, "csrf_token": "forged-token"})
        assert wrong.status_code == 400, (endpoint, method, url)
    assert (state_counts(sessions), subscriber_rows(sessions)) == before
    assert client.get("/admin/").status_code == 200  # still logged in: logout without a token did nothing
    exempt = {f"{view}" for view in app.extensions["csrf"]._exempt_views}
    assert exempt <= {f"web.{e}" for e in CSRF_EXEMPT} and not app.extensions["csrf"]._exempt_blueprints


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", "/admin/\r\nLocation: https://evil.example", "evil.example",
])
def test_login_next_cannot_leave_the_site(client, accounts, log_in, target):
    page = client.get("/auth/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' not in page  # the form does not carry it on
    response = log_in(client, "reviewer", next=target)
    assert response.status_code == 302 and response.location == "/admin/"


def test_login_next_on_this_site_is_followed(client, accounts, log_in):
    assert log_in(client, "reviewer", next="/admin/audit?action=user").location == "/admin/audit?action=user"


def test_anonymous_admin_request_comes_back_after_login(client, accounts, log_in):
    login_url = client.get("/admin/audit?action=user").location
    next_value = dict(p.split("=", 1) for p in urlsplit(login_url).query.split("&"))["next"]
    from urllib.parse import unquote

    assert log_in(client, "reviewer", next=unquote(next_value)).location == "/admin/audit?action=user"


def _document(sessions, settings, clock, warc_path: str | None = None, body: bytes = b"") -> int:
    """A source document row; with a body, archived for real (an HTML response)."""
    offset = 0
    sha = "0" * 64
    if body:
        response = FetchResponse(url="https://www.nmpa.gov.cn/evil.html", status=200,
                                 headers={"content-type": "text/html; charset=utf-8"}, content=body,
                                 fetched_at=clock())
        with Archive(settings.archive_dir).writer("security-test", now=clock()) as warc:
            ref = warc.write_response(response)
        warc_path, offset, sha = ref.warc_path, ref.offset, ref.sha256
    with sessions.begin() as session:
        return record_document(session, source="nmpa_approvals", url=f"https://www.nmpa.gov.cn/{warc_path}",
                               fetched_at=clock(), sha256=sha, size=len(body) or 10, warc_path=warc_path,
                               warc_offset=offset, warc_length=100, http_status=200, content_type="text/html")


def test_archived_copy_viewer_cannot_read_files_outside_the_archive(client, settings, sessions, clock, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOP-SECRET")
    settings.archive_dir.mkdir(parents=True, exist_ok=True)
    (settings.archive_dir / "link.warc.gz").symlink_to(secret)
    paths = ["../../secret.txt", str(secret), "..\\..\\secret.txt", "2026/../../../secret.txt", "link.warc.gz",
             "../tracker.sqlite3", "/etc/passwd"]
    for warc_path in paths:
        doc = _document(sessions, settings, clock, warc_path)
        response = client.get(f"/documents/{doc}/raw")
        assert response.status_code == 404, warc_path
        assert b"TOP-SECRET" not in response.data and b"root:" not in response.data


def test_archived_raw_html_is_served_as_inert_text(client, settings, sessions, clock):
    doc = _document(sessions, settings, clock, body=f"<html><body>{EVIL}</body></html>".encode())
    response = client.get(f"/documents/{doc}/raw")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert EVIL in response.get_data(as_text=True)  # shown as it was archived, but as text


def test_subscription_tokens_cannot_be_forged_or_reused():
    secret = "test-secret"
    good = tokens.make_token(secret, "unsubscribe", 7, "a@example.org")
    assert tokens.read_token(secret, "unsubscribe", good) == tokens.TokenData(7, "a@example.org")
    forged = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # damaged signature
        tokens.make_token("another-secret", "unsubscribe", 7, "a@example.org"),  # signed with another key
        good.replace(good.split(".")[0], tokens.make_token(secret, "unsubscribe", 8, "b@example.org").split(".")[0]),
    ]
    for token in forged:
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token(secret, "unsubscribe", token)
    # A token made for one purpose never passes as another (an unsubscribe link cannot confirm, and so on).
    for other in ("confirm", "manage"):
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token(secret, other, good)
    # The token names its address: it speaks for a@example.org only, never for another subscriber's address.
    other = tokens.make_token(secret, "unsubscribe", 8, "b@example.org")
    assert tokens.read_token(secret, "unsubscribe", other).email == "b@example.org"
    assert tokens.read_token(secret, "unsubscribe", good).email != "b@example.org"


def test_opt_in_tokens_expire():
    secret = "test-secret"
    token = tokens.make_token(secret, "confirm", 7, "a@example.org")
    now = datetime.now(timezone.utc).timestamp()
    assert tokens.read_token(secret, "confirm", token, now=now).subscriber_id == 7
    with pytest.raises(tokens.InvalidToken) as excinfo:
        tokens.read_token(secret, "confirm", token, now=now + tokens.CONFIRM_MAX_AGE + 60)
    assert excinfo.value.expired


def test_one_click_unsubscribe_needs_a_genuine_token_for_that_address(app, sessions, subscribers):
    client = app.test_client()
    (a_id, a_email), (b_id, b_email) = subscribers["a"], subscribers["b"]
    a_token = link_token(app, "/unsubscribe/<token>", subscribers["a"])
    for forged in (a_token[:-3] + "xyz", tokens.make_token("not-our-secret", "unsubscribe", b_id, b_email),
                   link_token(app, "/subscribe/manage/<token>", subscribers["b"]),  # another purpose
                   tokens.make_token(app.config["SECRET_KEY"], "unsubscribe", b_id, a_email)):  # a's address, b's id
        assert client.post(f"/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert [r[2] for r in subscriber_rows(sessions)] == ["active", "active"]
    assert client.post(f"/unsubscribe/{a_token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert subscriber_rows(sessions) == [(a_id, a_email, "unsubscribed"), (b_id, b_email, "active")]


def test_link_tokens_stop_working_when_the_address_changes(app, sessions, subscribers):
    client = app.test_client()
    a_id, _email = subscribers["a"]
    manage = link_token(app, "/subscribe/manage/<token>", subscribers["a"])
    confirm = link_token(app, "/subscribe/confirm/<token>", subscribers["a"])
    assert client.get(f"/subscribe/manage/{manage}").status_code == 200
    with sessions.begin() as session:
        session.get(Subscriber, a_id).email = "new-owner@example.org"
    assert client.get(f"/subscribe/manage/{manage}").status_code == 404
    assert client.get(f"/subscribe/confirm/{confirm}").status_code == 404
    assert client.post(f"/unsubscribe/{link_token(app, '/unsubscribe/<token>', subscribers['a'])}").status_code == 404


@pytest.fixture
def evil_data(settings, sessions, clock, subscribers):
    """Scraped fields full of markup, stored through the real write path, plus a reviewer reason and a document."""
    device = DeviceRecord(
        cert_no="国械注准20263219999", product_name=f"肺结节CT影像辅助检测软件{EVIL}", registrant=f"示例{EVIL}公司",
        registrant_en=EVIL, brand=EVIL, model_spec=EVIL, description=f"深度学习{EVIL}", catalogue_code="21-04",
        acceptance_no=EVIL, issued_on=date(2026, 11, 19), source_url=EVIL_URL,
    )
    policy = PolicyRecord(title=f"关于人工智能医疗器械{EVIL}的通知", url=EVIL_URL, issuer=f"国家药监局{EVIL}",
                          doc_no=EVIL, summary=EVIL, body=f"人工智能 {EVIL}", subject=EVIL,
                          published_on=date(2026, 11, 18))
    news = NewsRecord(title=f"批准创新产品{EVIL}", url=EVIL_URL, published_on=date(2026, 11, 18), summary=EVIL)
    doc = _document(sessions, settings, clock, body=f"<p>{EVIL}</p>".encode())
    with sessions.begin() as session:
        ctx = WriteContext(source="nmpa_approvals", now=clock(), document_id=doc)
        write_records(session, [device, policy, news], ctx)
        ids = {
            "device_id": session.execute(select(Device.id)).scalar_one(),
            "policy_id": session.execute(select(Policy.id)).scalar_one(),
            "company_id": session.execute(select(Company.id)).scalar_one(),
            "document_id": doc,
            "subscriber": subscribers["a"],
        }
        review.decide(session, entity_type="device", entity_id=ids["device_id"], facet="area",
                      code="medical_robotics", decision="add", reason=EVIL, reviewer="reviewer", now=clock())
    return ids


def _get_urls(app, ids: dict[str, int]) -> list[str]:
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            values = {**ids, "entity_id": ids["device_id"], "entity_type": "device"}
            if "token" in rule.arguments:
                values["token"] = link_token(app, rule.rule, ids["subscriber"])
            unknown = set(rule.arguments) - set(values) - {"kind", "fmt"} - {"subscriber"}
            assert not unknown, f"{rule.rule}: give the security test a value for {unknown}"
            kinds = sorted(rule._converters["kind"].items) if "kind" in rule.arguments else [None]
            fmts = sorted(rule._converters["fmt"].items) if "fmt" in rule.arguments else [None]
            for kind in kinds:
                for fmt in fmts:
                    args = {k: v for k, v in values.items() if k in rule.arguments}
                    args.update({k: v for k, v in (("kind", kind), ("fmt", fmt)) if v})
                    urls.append(url_for(rule.endpoint, **args))
                    if not rule.arguments:  # reflected input: search words and filters come back on the page
                        urls.append(url_for(rule.endpoint, q=EVIL, page=EVIL, area=EVIL, lang="en"))
    return urls


def _inert(response) -> None:
    body = response.get_data().decode("utf-8", "replace")
    if response.mimetype == "text/html":
        assert "<script>alert" not in body and "<img src=x" not in body
        assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I)
    elif response.mimetype in ("application/atom+xml", "application/xml", "text/xml"):
        assert "<script>alert" not in body and 'href="javascript:' not in body
    elif response.mimetype == "text/plain":
        assert "sandbox" in response.headers.get("Content-Security-Policy", "")
    else:
        # JSON, CSV and spreadsheets carry the text as data; they must never be served as a page.
        assert response.mimetype in ("application/json", "application/problem+json", "text/csv",
                                     "application/vnd.openxmlformats-officedocument"
                                     ".spreadsheetml.sheet"), response.mimetype
        assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_stored_markup_stays_inert_on_every_page(app, accounts, log_in, evil_data):
    client = app.test_client()
    log_in(client, "admin")  # so the admin pages are visited too
    urls = _get_urls(app, evil_data)
    assert any(u.startswith("/admin/review/") for u in urls) and any(u.startswith("/devices/") for u in urls)
    shown = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 400), (url, response.status_code)
        _inert(response)
        shown += b"alert" in response.get_data()
        response.close()
    assert shown >= len(urls) // 2  # the markup really is on the pages (escaped), not silently dropped


def test_stored_markup_stays_inert_in_every_email(settings, sessions, clock, evil_data):
    from email import message_from_string, policy

    from tracker.mail.outbox import enqueue_digests
    from tracker.mail.render import render_alert
    from tracker.store.models import Outbox

    clock.advance(days=1)
    enqueue_digests(sessions, settings, "daily", clock())
    with sessions() as session:
        messages = session.execute(select(Outbox.raw_message)).scalars().all()
    html_parts = [part.get_content() for raw in messages
                  for part in message_from_string(raw, policy=policy.default).walk()
                  if part.get_content_type() == "text/html"]
    assert len(html_parts) == 2  # both subscribers got a digest
    for html in html_parts:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", html, re.I)
    assert any("&lt;script&gt;alert" in html for html in html_parts)  # the item is there, escaped
    # Source alerts quote scraper errors, which may hold page text: they are plain text only.
    assert render_alert(source="nmpa_approvals", state="alerting", reason=EVIL, runs=[],
                        site_url=settings.public_base_url).html == ""
