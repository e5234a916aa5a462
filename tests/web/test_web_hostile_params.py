"""Every route of the URL map, with hostile values for each of its parameters, answers the status web/params.py
promises and never a 5xx.

Which query arguments a route reads is not listed by hand: a clean request to each route records every argument its
view asks tracker.read.filters.Args for (and how: a number, a date, a code, text), so a route or argument added later
is walked too. Then each argument gets the hostile values of its kind, and every route also gets them under an
argument it does not read. The rules (web/params.py):

- a malformed or out-of-range value of an argument the route reads -> 400 (dates at the calendar's edges, huge or
  non-ASCII numbers, unknown codes, control characters, over-long text);
- a query string of 10,000 characters -> 400 on every route (the tracker's own page, before any view);
- an argument the route does not read is ignored -> the route's usual status;
- a path id the database cannot hold (0, 2**63, 10**30) or that is not a number -> 404;
- a page past the end -> 404 naming the last page (exports and feeds take no page: they answer as usual).

Admin routes are walked logged in as an administrator (and, anonymous, must redirect to the login page).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import pytest
from flask import url_for

from tests.audit.conftest import PASSWORD, login
from tracker.audit import users
from tracker.read import filters

KINDS = ("int", "date", "flag", "choice", "code", "sort", "certificate", "text")
LONG = "長" * 3 + "x" * 9_997  # 10,000 characters
MIXED = "肺结节 Лёгкое ＣＴ αβγ العربية 🫁"  # mixed scripts: fine wherever text is fine
HOSTILE = {
    "int": [str(2**63), str(10**30), "0", "-1", "1.5", "1e3", "abc", "١٢٣", "9" * 13],
    "date": ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01", "2026-02-30", "2026-13-01", "20261120",
             "yesterday", "２０２６-１１-２０", "2026-11-20T00:00"],
    "flag": ["maybe", "2", "\x00"],
    "choice": ["bogus", "x" * 81, "ok\x00"],
    "code": ["bogus", "medical_imaging\x00", "medical_imaging\x1b[31m"],
    "sort": ["bogus", "--issued", "-"],
    "certificate": ["国械注准2021321990", "国械备20150001", "国械注准20213219904\x00", "x" * 81, "abc"],
    "text": ["a\x00b", "a\x1bb", "a\x7f", "x" * (filters.MAX_TEXT_CHARS + 1)],
}
BENIGN = {"text": [MIXED, " ", "'; DROP TABLE device; --", "%00", "<script>alert(1)</script>"]}
PATH_IDS = [str(2**63), str(10**30), str(filters.MAX_ID + 1), "0", "-1", "abc", "1.0", "١"]
PATH_TEXT = [LONG, "..%2F..%2Fetc%2Fpasswd", MIXED, "a%00b", "%1b%5B31m"]
PAGELESS = {"exports.export", "exports.feed", "exports.events_feed"}  # they export every match: a page argument is read but unused


@pytest.fixture(scope="module")
def admin_client(web_env):
    """A client logged in as an administrator (the account made in this module's own seeded database)."""
    with web_env.sessions.begin() as session:
        users.create_user(session, "walker", PASSWORD, "admin", actor="test",
                          now=datetime(2026, 11, 20, tzinfo=timezone.utc))
    client = web_env.app.test_client()
    assert login(client, "walker").status_code == 302
    return client


def _routes(app, ids) -> list[tuple[str, str, dict]]:
    """(endpoint, method, path values) for every rule, with real ids and each item of an `any(...)` converter."""
    values = {"device_id": ids.devices["lung"], "policy_id": ids.policies["ai_guidance"],
              "company_id": 1, "document_id": ids.documents["udi"], "entity_id": ids.devices["lung"],
              "attachment_id": ids.attachments["pdf"], "token": "not-a-token", "username": "walker", "filename": "style.css", "name": "demo"}
    out = []
    for rule in app.url_map.iter_rules():
        choices = [dict()]
        for name, converter in rule._converters.items():
            items = sorted(getattr(converter, "items", ())) or [values[name]]
            choices = [{**c, name: item} for c in choices for item in items]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out += [(rule.endpoint, method, c) for c in choices]
    return out


def _reads(app, client, endpoint, path) -> tuple[int, dict[str, str]]:
    """The route's status for a clean GET, and the arguments its view asked Args for, with their kind."""
    seen: dict[str, str] = {}
    originals = {kind: getattr(filters.Args, kind) for kind in KINDS}

    def recording(kind):
        def read(self, *args, **kwargs):
            name = "sort" if kind == "sort" else args[0]
            if kind != "text" or name not in seen:
                seen[name] = kind
            return originals[kind](self, *args, **kwargs)
        return read

    with pytest.MonkeyPatch.context() as patch:
        for kind in KINDS:
            patch.setattr(filters.Args, kind, recording(kind))
        status = client.get(path).status_code
    return status, seen


def _url(app, endpoint, values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _expect(status, expected, what) -> None:
    assert status < 500, what
    assert status in expected, (what, status, expected)


def test_every_route_answers_hostile_parameters_as_documented(web_env, admin_client):
    app, ids = web_env.app, web_env.ids
    tried: dict[str, int] = defaultdict(int)
    for endpoint, method, values in _routes(app, ids):
        path = _url(app, endpoint, values)
        if method != "GET":  # state changes: CSRF refuses a request without its token before any argument is read
            _expect(admin_client.open(path, method=method, query_string={"q": LONG[:3000], "page": "0"}).status_code,
                    {404} if endpoint == "subscribe.unsubscribe" else {400}, (method, path))  # RFC 8058: no CSRF
            tried[endpoint] += 1
            continue
        usual, reads = _reads(app, admin_client, endpoint, path)
        assert usual < 400 or endpoint.startswith("subscribe."), (path, usual)  # a bad token is a 404 page
        for name, kind in reads.items():
            for value in HOSTILE[kind]:
                _expect(admin_client.get(path, query_string={name: value}).status_code, {400}, (path, name, value))
                tried[endpoint] += 1
            for value in BENIGN.get(kind, []):
                _expect(admin_client.get(path, query_string={name: value}).status_code, {usual}, (path, name, value))
                tried[endpoint] += 1
        if "page" in reads or "devices_page" in reads:
            name = "page" if "page" in reads else "devices_page"
            past = admin_client.get(path, query_string={name: str(filters.MAX_PAGE)})
            _expect(past.status_code, {usual} if endpoint in PAGELESS else {404}, (path, "past the end"))
            tried[endpoint] += 1
        for value in (*HOSTILE["int"], *HOSTILE["date"], "\x00\x1b", MIXED):  # an argument no view reads
            _expect(admin_client.get(path, query_string={"unread_argument": value}).status_code, {usual},
                    (path, "unread", value))
            tried[endpoint] += 1
        _expect(admin_client.get(path, query_string={"q": LONG}).status_code, {400}, (path, "10,000 characters"))
        tried[endpoint] += 1
    assert {e for e, _m, _v in _routes(app, ids)} <= set(tried)
    print(f"\nwalked {len(tried)} endpoints, {sum(tried.values())} hostile requests")


@pytest.mark.parametrize("value", PATH_IDS)
def test_path_ids_that_cannot_exist_are_404(web_env, admin_client, value):
    for rule in web_env.app.url_map.iter_rules():
        ids = [n for n, c in rule._converters.items() if type(c).__name__ == "IdConverter"]
        if not ids or "GET" not in rule.methods:
            continue
        response = admin_client.get(_fill_all(rule, ids, value))
        assert response.status_code == 404, (rule.rule, value, response.status_code)


def _fill_all(rule, id_names, value) -> str:
    """The rule's path with `value` for its id arguments and the first item of any `any(...)` converter."""
    out = rule.rule
    for name, converter in rule._converters.items():
        item = value if name in id_names else sorted(getattr(converter, "items", ["x"]))[0]
        start = out.index("<")
        out = out[:start] + str(item) + out[out.index(">", start) + 1:]
    return out


@pytest.mark.parametrize("value", PATH_TEXT)
def test_hostile_path_text_is_404(web_env, admin_client, value):
    for path in ("/subscribe/confirm/{}", "/static/{}", "/devices/{}", "/api/v1/policies/{}", "/documents/{}/raw"):
        response = admin_client.get(path.format(value))
        assert response.status_code == 404, (path, value)


def test_admin_routes_redirect_anonymous_visitors_to_the_login(web_env):
    client = web_env.app.test_client()
    for rule in web_env.app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods:
            path = _fill_all(rule, ("entity_id",), web_env.ids.devices["lung"])
            response = client.get(path, query_string={"page": str(2**63), "from": "0001-01-01"})
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


def test_error_pages_speak_the_request_language(client):
    for lang, words in (("zh", ("请求无效", "未找到", "不支持的请求方法")), ("en", ("Bad request", "Not found",
                                                                          "Method not allowed"))):
        bad = client.get(f"/devices?page=0&lang={lang}")
        missing = client.get(f"/devices/{2**63}?lang={lang}")
        wrong = client.put(f"/devices?lang={lang}")
        assert [bad.status_code, missing.status_code, wrong.status_code] == [400, 404, 405]
        assert "GET" in wrong.headers["Allow"]
        for response, word in zip((bad, missing, wrong), words, strict=True):
            assert response.mimetype == "text/html" and word in response.get_data(as_text=True)


def test_api_errors_are_problem_documents(client):
    bad = client.get("/api/v1/devices?per_page=201&asof=x&seen_from=0001-01-01")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    body = bad.get_json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == 400
    assert {p["name"] for p in body["invalid_params"]} == {"per_page", "seen_from"}  # asof: not a list argument
    assert client.get(f"/api/v1/devices/{2**63}").status_code == 404
    assert client.get("/api/v1/devices/1?asof=9999-12-31").status_code == 400
    wrong = client.post("/api/v1/devices/1")
    assert wrong.status_code in (400, 405)
    put = client.put("/api/v1/devices/1")
    assert put.status_code == 405 and "GET" in put.headers["Allow"] and put.mimetype == "application/problem+json"


def test_an_as_of_date_before_the_record_says_so_and_shows_nothing_of_it(client, web_env):
    from bs4 import BeautifulSoup

    eye = web_env.ids.devices["eye"]
    panel = BeautifulSoup(client.get(f"/devices/{eye}?asof=1900-01-01&lang=en").get_data(as_text=True),
                          "lxml").select_one("#asof-view")
    assert "had not recorded this entry yet" in panel.get_text() and not panel.select("dd")
    state = client.get(f"/api/v1/devices/{eye}?asof=1900-01-01").get_json()["as_of"]
    assert state == {"date": "1900-01-01", "existed": False, "fields": {}, "identifiers": [], "tags": []}


def test_too_large_and_server_errors_have_the_trackers_pages(web_env):
    from web import create_app

    app = create_app(web_env.settings)

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/api/v1/_test/boom")
    def api_boom():
        raise RuntimeError("boom")

    client = app.test_client()
    for lang, too_large, failed in (("zh", "内容过大", "服务器错误"), ("en", "Too large", "Server error")):
        big = client.post(f"/subscribe?lang={lang}", data={"email": "x" * 70_000})
        assert big.status_code == 413 and too_large in big.get_data(as_text=True)
        broken = client.get(f"/_test/boom?lang={lang}")
        assert broken.status_code == 500 and failed in broken.get_data(as_text=True)
    problem = client.get("/api/v1/_test/boom")
    assert problem.status_code == 500 and problem.mimetype == "application/problem+json"
    assert "boom" not in problem.get_data(as_text=True)  # no internals in the answer


def test_the_app_not_gunicorn_answers_a_long_query_string():
    from web import params, serving

    # the whole request line ("GET /path?query HTTP/1.1") must fit gunicorn's limit when the query is at the bound
    assert serving.limit_request_line >= params.MAX_QUERY_STRING + 1024


def test_every_refusal_reads_in_both_languages(client):
    from tracker import i18n

    assert all(i18n.known(f"refused_{key}") for key in filters.REFUSALS)
    zh = client.get("/devices?per_page=201&lang=zh").get_data(as_text=True)
    en = client.get("/devices?per_page=201&lang=en").get_data(as_text=True)
    assert "不在 1 至 200 之间" in zh and "not between 1 and 200" in en
