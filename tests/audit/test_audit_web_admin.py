"""The login and the admin pages through the real app: review decisions, audit log filters, accounts, bundle
download."""
from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tracker.audit import bundle as audit
from tracker.audit import throttle, users
from tracker.store.models import AuditLog, Tag

PASSWORD = "correct horse battery"


def post(client, path: str, data: dict, csrf, form_page: str | None = None):
    """POST a form the way a browser would: with the CSRF token of the page the form is on."""
    page = client.get(form_page or path)
    return client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True)), **data})


def test_login_then_admin_overview(client, accounts, log_in):
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302
    assert urlsplit(anonymous.location).path == "/auth/login"
    response = log_in(client, "reviewer", next="/admin/")
    assert response.status_code == 302 and response.location == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "reviewer" in page and "审核队列" in page


def test_wrong_password_and_disabled_account_are_refused(client, accounts, log_in):
    assert log_in(client, "reviewer", "wrong password").status_code == 401
    assert log_in(client, "retired").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_a_throttled_account_gets_429_while_others_behind_the_same_address_log_in(client, app, accounts, log_in,
                                                                                  clock):
    for _ in range(throttle.ACCOUNT.free):
        assert log_in(client, "reviewer", "wrong password").status_code == 401
    limited = log_in(client, "reviewer")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) == 30
    assert "30秒钟" in limited.get_data(as_text=True)  # Babel words the wait in the page language
    assert client.get("/admin/").status_code == 302  # the right password did not log in
    colleague = app.test_client()  # the same address (the test client's 127.0.0.1)
    assert log_in(colleague, "admin").status_code == 302 and colleague.get("/admin/").status_code == 200
    clock.advance(seconds=30)
    assert log_in(client, "reviewer").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_failure_answer_does_not_tell_whether_the_account_exists(client, accounts, log_in):
    def answer(response, name):
        # The page echoes the name typed; the CSRF token is signed with the time: both are masked.
        body = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True).replace(name, "NAME"))
        return response.status_code, body, response.headers.get("Retry-After")

    for _ in range(throttle.ACCOUNT.free):
        assert answer(log_in(client, "reviewer", "wrong password"), "reviewer") == answer(
            log_in(client, "nobody-here", "wrong password"), "nobody-here")
    assert answer(log_in(client, "reviewer"), "reviewer") == answer(log_in(client, "nobody-here"), "nobody-here")
    assert log_in(client, "retired").status_code == 401  # a disabled account: the same refusal


def test_logout_is_a_csrf_protected_post(client, accounts, log_in, csrf):
    log_in(client, "reviewer")
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400  # no CSRF token
    assert client.get("/admin/").status_code == 200
    assert post(client, "/auth/logout", {}, csrf, form_page="/admin/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_on_https(settings, clock, accounts, log_in):
    from web import create_app

    for base, secure in (("http://127.0.0.1:8000", False), ("https://tracker.example.org", True)):
        client = create_app(settings.replace(public_base_url=base), clock=clock).test_client()
        response = log_in(client, "reviewer")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_reviewer_decides_from_the_queue(client, accounts, log_in, store, sessions, csrf):
    [auto] = store(("放疗靶区自动勾画软件", None))
    log_in(client, "reviewer")
    queue = client.get("/admin/review").get_data(as_text=True)
    assert "放疗靶区自动勾画软件" in queue and f"/admin/review/device/{auto}" in queue
    page = client.get(f"/admin/review/device/{auto}").get_data(as_text=True)
    assert "ai:ai" in page and f"/devices/{auto}" in page
    refused = post(client, f"/admin/review/device/{auto}",
                   {"facet": "ai", "code": "ai", "decision": "remove", "reason": "  "}, csrf)
    assert refused.status_code == 400 and "reason" in refused.get_data(as_text=True)
    done = post(client, f"/admin/review/device/{auto}",
                {"facet": "ai", "code": "ai", "decision": "remove", "reason": "a rhythm strip printer"}, csrf)
    assert done.status_code == 302
    with sessions() as session:
        tag = session.execute(select(Tag).where(Tag.entity_id == auto, Tag.method == "reviewer")).scalar_one()
        entry = session.execute(select(AuditLog).where(AuditLog.action == "tag.decision")).scalar_one()
    assert (tag.decision, tag.decided_by, tag.reason) == ("remove", "reviewer", "a rhythm strip printer")
    assert (entry.actor, entry.reason) == ("reviewer", "a rhythm strip printer")
    assert "放疗靶区自动勾画软件" not in client.get("/admin/review").get_data(as_text=True)
    history = client.get(f"/admin/review/device/{auto}").get_data(as_text=True)
    assert "review:ai:ai" in history and "a rhythm strip printer" in history


def test_audit_log_page_filters(client, accounts, log_in, clock):
    log_in(client, "reviewer")
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert everything.count("user.create") >= 4 and "user.disable" in everything
    only_disable = client.get("/admin/audit?action=user.disable").get_data(as_text=True)
    assert "user.disable" in only_disable and "<code>user.create</code>" not in only_disable
    day = clock().date()
    assert "user.create</code>" in client.get(f"/admin/audit?from={day}&to={day}").get_data(as_text=True)
    later = day.replace(year=day.year + 1)
    assert "user.create</code>" not in client.get(f"/admin/audit?from={later}").get_data(as_text=True)
    assert "user.create</code>" not in client.get("/admin/audit?actor=nobody").get_data(as_text=True)


def test_admin_manages_accounts_and_each_change_is_audited(client, accounts, log_in, sessions, csrf):
    log_in(client, "admin")
    assert "retired" in client.get("/admin/users").get_data(as_text=True)
    assert post(client, "/admin/users", {"username": "auditor1", "password": "long enough pw", "role": "reviewer",
                                          "reason": "external audit"}, csrf).status_code == 302
    bad = post(client, "/admin/users", {"username": "x y", "password": "long enough pw", "role": "viewer"}, csrf)
    assert bad.status_code == 400
    assert post(client, "/admin/users/auditor1/role", {"role": "admin"}, csrf, "/admin/users").status_code == 302
    assert post(client, "/admin/users/auditor1/disable", {"reason": "audit over"}, csrf,
                "/admin/users").status_code == 302
    assert post(client, "/admin/users/admin/disable", {}, csrf, "/admin/users").status_code == 400
    with sessions() as session:
        rows = session.execute(select(AuditLog.actor, AuditLog.action, AuditLog.reason).where(
            AuditLog.target_id == "auditor1").order_by(AuditLog.id)).all()
        assert users.get_user(session, "admin").active
    assert rows == [("admin", "user.create", "external audit"), ("admin", "user.role", None),
                    ("admin", "user.disable", "audit over")]


def test_reviewer_downloads_a_bundle_that_verifies(client, accounts, log_in, store, csrf, tmp_path, clock, sessions):
    store(("心电分析软件", None))
    log_in(client, "reviewer")
    day = clock().date().isoformat()
    response = post(client, "/admin/export", {"from": day, "to": day}, csrf)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    path = tmp_path / "download.zip"
    path.write_bytes(response.get_data())
    response.close()
    assert audit.verify_bundle(path).ok
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
        assert "心电分析软件".encode() in zf.read("records/devices.jsonl")
    with sessions() as session:
        entry = session.execute(select(AuditLog).where(AuditLog.action == "audit.export")).scalar_one()
    assert entry.actor == "reviewer" and entry.detail["counts"]["devices"] == 1
    assert post(client, "/admin/export", {"from": day, "to": "not-a-date"}, csrf).status_code == 400


@pytest.mark.parametrize("required", [True, False])
def test_public_lists_may_require_a_login(settings, clock, accounts, log_in, required):
    from web import create_app

    client = create_app(settings.replace(require_login_for_lists=required), clock=clock).test_client()
    lists = client.get("/devices")
    assert lists.status_code == (302 if required else 200)
    assert client.get("/api/v1/devices").status_code == (401 if required else 200)
    assert client.get("/auth/login").status_code == 200
    log_in(client, "viewer")
    assert client.get("/devices").status_code == 200
    assert client.get("/admin/").status_code == 403  # a viewer reads lists, not the admin side


def test_reviewer_tags_a_policy(client, accounts, log_in, sessions, clock, csrf):
    from tracker.ingest.write import write_records
    from tracker.records import PolicyRecord
    from tracker.store.models import Policy
    from tracker.store.write import WriteContext

    with sessions.begin() as session:
        write_records(session, [PolicyRecord(title="人工智能医疗器械注册审查指导原则", url="https://www.cmde.org.cn/x.html",
                                             issuer="国家药监局器审中心", doc_type="指导原则")],
                      WriteContext(source="cmde_guidance", now=clock()))
        policy_id = session.execute(select(Policy.id)).scalar_one()
    log_in(client, "reviewer")
    page = client.get(f"/admin/review/policy/{policy_id}").get_data(as_text=True)
    assert "人工智能医疗器械注册审查指导原则" in page and f"/policies/{policy_id}" in page
    done = post(client, f"/admin/review/policy/{policy_id}",
                {"facet": "policy_type", "code": "announcement", "decision": "add", "reason": "also an announcement"},
                csrf)
    assert done.status_code == 302
    with sessions() as session:
        tag = session.execute(select(Tag).where(Tag.entity_type == "policy", Tag.method == "reviewer")).scalar_one()
    assert (tag.facet, tag.code, tag.decision) == ("policy_type", "announcement", "add")
    assert client.get("/admin/review/policy/999999").status_code == 404
