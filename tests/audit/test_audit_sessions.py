"""Sessions end server-side: a session cookie copied before logout, a password change, a role change or disabling the
account gets the login page when replayed after it; authenticated answers are never stored (Cache-Control)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tracker.audit import users

PASSWORD = "correct horse battery"


def post(client, path: str, data: dict, csrf, form_page: str):
    """POST a form the way a browser would: with the CSRF token of the page the form is on."""
    page = client.get(form_page)
    return client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True)), **data})


def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie (what a thief of the cookie would have)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_login_page(response) -> bool:
    return response.status_code == 302 and urlsplit(response.location).path == "/auth/login"


@pytest.fixture
def admin_and_copy(app, client, accounts, log_in):
    """The admin logged in with `client`, and a copy of its cookie that opens /admin/users before any change."""
    assert log_in(client, "admin").status_code == 302
    thief = copy_of(app, client)
    assert thief.get("/admin/users").status_code == 200
    return client, thief


def test_a_cookie_copied_before_logout_gets_the_login_page_after_it(app, admin_and_copy, csrf, log_in, sessions):
    client, thief = admin_and_copy
    assert post(client, "/auth/logout", {}, csrf, form_page="/admin/").status_code == 302
    assert is_login_page(thief.get("/admin/users")) and is_login_page(client.get("/admin/users"))
    # Logging in again opens a new session; the old cookie stays dead.
    log_in(client, "admin")
    assert client.get("/admin/users").status_code == 200 and is_login_page(thief.get("/admin/users"))
    with sessions() as session:
        assert [e.action for e in users.auditlog.query(session, users.auditlog.AuditFilter(action="auth"))] == [
            "auth.login", "auth.logout", "auth.login"]


def test_a_password_change_ends_sessions_opened_before(admin_and_copy, sessions, clock):
    _client, thief = admin_and_copy
    with sessions.begin() as session:
        users.set_password(session, "admin", "a brand new password", actor="cli:root", now=clock())
    assert is_login_page(thief.get("/admin/users"))


def test_a_role_change_ends_the_accounts_sessions(app, accounts, log_in, csrf):
    reviewer = app.test_client()
    log_in(reviewer, "reviewer")
    thief = copy_of(app, reviewer)
    assert thief.get("/admin/").status_code == 200
    admin = app.test_client()
    log_in(admin, "admin")
    changed = post(admin, "/admin/users/reviewer/role", {"role": "admin", "reason": "promotion"}, csrf,
                   form_page="/admin/users")
    assert changed.status_code == 302
    # Even a promotion ends the old sessions: the account logs in again under its new role.
    assert is_login_page(thief.get("/admin/")) and is_login_page(reviewer.get("/admin/"))
    assert admin.get("/admin/users").status_code == 200  # the admin who made the change is not affected


def test_disabling_an_account_ends_its_sessions(app, accounts, log_in, csrf):
    reviewer = app.test_client()
    log_in(reviewer, "reviewer")
    thief = copy_of(app, reviewer)
    admin = app.test_client()
    log_in(admin, "admin")
    assert post(admin, "/admin/users/reviewer/disable", {"reason": "left"}, csrf,
                form_page="/admin/users").status_code == 302
    assert is_login_page(thief.get("/admin/")) and is_login_page(reviewer.get("/admin/"))
    assert log_in(reviewer, "reviewer").status_code == 401


def test_authenticated_answers_and_the_login_form_are_no_store(client, accounts, log_in):
    assert client.get("/auth/login").headers["Cache-Control"] == "no-store"
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"  # the redirect to the login page too
    public = client.get("/devices")
    assert public.status_code == 200 and "no-store" not in public.headers.get("Cache-Control", "")
    log_in(client, "reviewer")
    for path in ("/admin/", "/admin/audit", "/devices", "/"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/style.css").headers.get("Cache-Control", "")  # nothing personal


def test_login_events_show_on_the_audit_page_with_the_typed_name_inert(client, accounts, log_in):
    evil = '<script>alert(1)</script>'
    assert log_in(client, evil, "whatever password").status_code == 401
    log_in(client, "reviewer")
    page = client.get("/admin/audit?action=auth").get_data(as_text=True)
    assert "auth.login_failed" in page and "auth.login</code>" in page and "ip=127.0.0.1" in page
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
