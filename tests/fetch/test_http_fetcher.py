"""The HTTP fetch layer against real local servers: retries, politeness, challenges, caps, conditional GETs."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WzResponse

from tracker.fetch.base import Blocked, FetchError, Response, TooLarge, detect_challenge
from tracker.fetch.factory import make_fetcher
from tracker.fetch.http import BROWSER_USER_AGENT, DEFAULT_USER_AGENT, HttpFetcher, ValidatorCache, parse_retry_after

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
RUISHU_SCRIPT = "<script type=\"text/javascript\" r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=1;</script>"
RUISHU_META = "<meta content=\"{qqqqsyntheticchallengeqqqq}\" r='m'>"


class FakeTime:
    """A clock that only moves when the fetcher sleeps, and a record of the sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make(fake: FakeTime):
    fetchers: list[HttpFetcher] = []

    def _make(**kw) -> HttpFetcher:
        kw.setdefault("sleep", fake.sleep)
        kw.setdefault("clock", fake.clock)
        kw.setdefault("now", lambda: NOW)
        fetcher = HttpFetcher(**kw)
        fetchers.append(fetcher)
        return fetcher

    yield _make
    for fetcher in fetchers:
        fetcher.close()


def _sequence(*responses: WzResponse):
    """A handler answering with the given responses in turn (the last one repeats), counting calls."""
    calls: list[Request] = []

    def handler(request: Request) -> WzResponse:
        calls.append(request)
        return responses[min(len(calls), len(responses)) - 1]

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


@contextmanager
def raw_server(payload: bytes) -> Iterator[tuple[str, list[int]]]:
    """A loopback socket server that answers every connection with `payload` verbatim and closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()
    connections: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                connections.append(1)
                conn.settimeout(2)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                conn.sendall(payload)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/", connections
    finally:
        stop.set()
        thread.join(2)
        listener.close()


# -- success and decoding -------------------------------------------------------------------------------------------

def test_plain_get_returns_body_headers_and_what_was_sent(server, make):
    server.expect_request("/list").respond_with_data("<p>ok</p>", content_type="text/html; charset=utf-8")
    resp = make().get(server.url_for("/list"))
    assert resp.status == 200
    assert resp.content == b"<p>ok</p>"
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.request_headers["user-agent"] == DEFAULT_USER_AGENT
    assert resp.fetched_at == NOW
    assert resp.not_modified is False


def test_text_uses_the_explicit_charset_rules(server, make):
    body = "<td>朱镕基</td>".encode("gbk")
    server.expect_request("/gbk").respond_with_data(body, content_type="text/html; charset=gb2312")
    assert make().get(server.url_for("/gbk")).text() == "<td>朱镕基</td>"


def test_json_decodes_the_body(server, make):
    server.expect_request("/data").respond_with_json({"searchVO": {"listVO": [{"title": "人工智能"}]}})
    assert make().get(server.url_for("/data")).json()["searchVO"]["listVO"][0]["title"] == "人工智能"


def test_browser_like_headers_for_sources_that_refuse_scripts(server, make):
    server.expect_request("/search", headers={"User-Agent": BROWSER_USER_AGENT}).respond_with_data("{}")
    resp = make(browser_like=True).get(server.url_for("/search"), headers={"Referer": "https://sousuo.www.gov.cn/"})
    assert resp.status == 200
    assert resp.request_headers["referer"] == "https://sousuo.www.gov.cn/"
    assert "zh-CN" in resp.request_headers["accept-language"]


# -- retries --------------------------------------------------------------------------------------------------------

def test_timeout_then_success(server, make, fake):
    release = threading.Event()
    calls: list[int] = []

    def handler(request: Request) -> WzResponse:
        calls.append(1)
        if len(calls) == 1:
            release.wait(5)  # longer than the client's timeout: the first attempt times out
        return WzResponse("late but fine")

    server.expect_request("/slow").respond_with_handler(handler)
    try:
        resp = make(timeout=0.3).get(server.url_for("/slow"))
    finally:
        release.set()
    assert resp.content == b"late but fine"
    assert len(calls) == 2
    assert fake.sleeps == [1.0]  # one back-off, no extra politeness pause after it


def test_server_error_then_success(server, make, fake):
    handler = _sequence(WzResponse("boom", status=500), WzResponse("fine"))
    server.expect_request("/flaky").respond_with_handler(handler)
    resp = make().get(server.url_for("/flaky"))
    assert resp.content == b"fine"
    assert len(handler.calls) == 2
    assert fake.sleeps == [1.0]


def test_persistent_server_errors_give_up_with_exponential_back_off(server, make, fake):
    handler = _sequence(WzResponse("down", status=503))
    server.expect_request("/down").respond_with_handler(handler)
    with pytest.raises(FetchError) as info:
        make(max_attempts=4).get(server.url_for("/down"))
    assert not isinstance(info.value, Blocked)
    assert info.value.status == 503
    assert len(handler.calls) == 4
    assert fake.sleeps == [1.0, 2.0, 4.0]


def test_429_waits_for_retry_after_seconds(server, make, fake):
    handler = _sequence(WzResponse("slow down", status=429, headers={"Retry-After": "7"}), WzResponse("ok"))
    server.expect_request("/busy").respond_with_handler(handler)
    assert make().get(server.url_for("/busy")).content == b"ok"
    assert fake.sleeps == [7.0]
    assert len(handler.calls) == 2


def test_retry_after_as_http_date_is_measured_against_the_servers_date(make, fake):
    # The local test server stamps its own Date header, so this one case uses httpx's mock transport.
    answers = [
        httpx.Response(503, headers={"Retry-After": "Mon, 23 Nov 2026 08:00:30 GMT",
                                     "Date": "Mon, 23 Nov 2026 08:00:00 GMT"}),
        httpx.Response(200, text="ok"),
    ]
    fetcher = make(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    assert fetcher.get("https://www.nmpa.gov.cn/maint").content == b"ok"
    assert fake.sleeps == [30.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(server, make, fake):
    handler = _sequence(WzResponse("come back tomorrow", status=429, headers={"Retry-After": "86400"}))
    server.expect_request("/quota").respond_with_handler(handler)
    with pytest.raises(FetchError, match="86400"):
        make().get(server.url_for("/quota"))
    assert len(handler.calls) == 1
    assert fake.sleeps == []


@pytest.mark.parametrize("value, date, expected", [
    ("12", None, 12.0),
    ("Mon, 23 Nov 2026 08:01:00 GMT", "Mon, 23 Nov 2026 08:00:00 GMT", 60.0),
    ("Mon, 23 Nov 2026 07:00:00 GMT", "Mon, 23 Nov 2026 08:00:00 GMT", 0.0),
    ("soon", None, None),
    (None, None, None),
])
def test_parse_retry_after(value, date, expected):
    assert parse_retry_after(value, date) == expected


def test_404_is_an_error_without_retry(server, make, fake):
    handler = _sequence(WzResponse("not here", status=404))
    server.expect_request("/gone").respond_with_handler(handler)
    with pytest.raises(FetchError) as info:
        make().get(server.url_for("/gone"))
    assert not isinstance(info.value, Blocked)
    assert info.value.status == 404
    assert len(handler.calls) == 1
    assert fake.sleeps == []


def test_connection_refused_is_retried_then_reported(make, fake):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but never listening: connections are refused
        with pytest.raises(FetchError, match="connection error"):
            make(max_attempts=3).get(f"http://127.0.0.1:{port}/")
    assert fake.sleeps == [1.0, 2.0]


# -- challenges -----------------------------------------------------------------------------------------------------

def test_412_is_blocked_and_never_retried(server, make, fake):
    page = f"<html><head>{RUISHU_META}{RUISHU_SCRIPT}</head><body></body></html>"
    handler = _sequence(WzResponse(page, status=412, content_type="text/html"))
    server.expect_request("/qxpjfb/index.html").respond_with_handler(handler)
    url = server.url_for("/qxpjfb/index.html")
    with pytest.raises(Blocked) as info:
        make().get(url)
    assert len(handler.calls) == 1
    assert fake.sleeps == []
    assert "412" in info.value.evidence
    assert "$_ts" in info.value.evidence
    assert url in info.value.evidence
    assert info.value.response is not None and b"$_ts" in info.value.response.content


@pytest.mark.parametrize("body", [
    f"<html><head>{RUISHU_SCRIPT}</head><body></body></html>",
    f"<html><head>{RUISHU_META}</head><body></body></html>",
    "<html><head><meta content=\"abc\" r=\"m\"></head></html>",
    "<html><body><h1>Precondition Failed</h1></body></html>",
    "<html><body><p>网站地址已变更，请访问新地址</p></body></html>",
])
def test_challenge_page_with_status_200_is_blocked(server, make, body):
    handler = _sequence(WzResponse(body.encode("utf-8"), content_type="text/html; charset=utf-8"))
    server.expect_request("/list").respond_with_handler(handler)
    with pytest.raises(Blocked):
        make().get(server.url_for("/list"))
    assert len(handler.calls) == 1


@pytest.mark.parametrize("body", [
    "<html><head><meta name=\"PubDate\" content=\"2022-03-09 11:10\"></head><body>价格 $ 100, ts</body></html>",
    "<html><head><meta name=\"rm\" content=\"r='m'\"></head><body>正常页面</body></html>",
    "",
])
def test_ordinary_pages_are_not_challenges(body):
    assert detect_challenge(200, body.encode("utf-8")) is None


def test_challenge_marker_in_a_gbk_page_is_found():
    assert "网站地址已变更" in detect_challenge(200, "<p>网站地址已变更</p>".encode("gbk"))


# -- body integrity and caps ----------------------------------------------------------------------------------------

def test_truncated_body_is_an_error(make):
    lying = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
    with raw_server(lying) as (url, connections):
        with pytest.raises(FetchError, match="truncated"):
            make(max_attempts=2).get(url)
    assert len(connections) == 2  # a cut-off transfer is worth one more try, then it is reported


def test_content_length_over_the_cap_is_too_large(server, make):
    server.expect_request("/big").respond_with_data(b"z" * 10_000)
    with pytest.raises(TooLarge):
        make().get(server.url_for("/big"), max_bytes=1_000)


def test_streamed_body_over_the_cap_is_too_large(make):
    # No Content-Length: the body runs until the server closes, so only counting while streaming can stop it.
    unbounded = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n" + b"z" * 200_000
    with raw_server(unbounded) as (url, connections):
        with pytest.raises(TooLarge):
            make().get(url, max_bytes=50_000)
    assert len(connections) == 1


def test_body_within_the_cap_is_returned(server, make):
    server.expect_request("/small").respond_with_data(b"z" * 1_000)
    assert len(make().get(server.url_for("/small"), max_bytes=1_000).content) == 1_000


# -- politeness -----------------------------------------------------------------------------------------------------

def test_second_request_to_a_host_waits_for_the_interval(server, make, fake):
    server.expect_request("/a").respond_with_data("a")
    server.expect_request("/b").respond_with_data("b")
    fetcher = make()
    fetcher.get(server.url_for("/a"))
    assert fake.sleeps == []
    fetcher.get(server.url_for("/b"))
    assert fake.sleeps == [pytest.approx(1.0)]


def test_no_wait_once_the_interval_has_passed(server, make, fake):
    server.expect_request("/a").respond_with_data("a")
    fetcher = make()
    fetcher.get(server.url_for("/a"))
    fake.now += 1.5
    fetcher.get(server.url_for("/a"))
    assert fake.sleeps == []


def test_different_hosts_do_not_wait_for_each_other(make, fake):
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(200, text="ok")

    fetcher = make(transport=httpx.MockTransport(answer))
    fetcher.get("https://www.nmpa.gov.cn/a.html")
    fetcher.get("https://www.cmde.org.cn/b.html")
    fetcher.get("https://sousuo.www.gov.cn/c")
    assert seen == ["www.nmpa.gov.cn", "www.cmde.org.cn", "sousuo.www.gov.cn"]
    assert fake.sleeps == []
    fetcher.get("https://www.cmde.org.cn/d.html")
    assert fake.sleeps == [pytest.approx(1.0)]


# -- conditional requests -------------------------------------------------------------------------------------------

def _etag_handler(etag: str):
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> WzResponse:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == etag:
            return WzResponse(status=304, headers={"ETag": etag})
        return WzResponse("<ul><li>list</li></ul>", headers={"ETag": etag}, content_type="text/html")

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def test_conditional_get_sends_the_etag_and_reports_not_modified(server, make):
    handler = _etag_handler('"v1"')
    server.expect_request("/download.html").respond_with_handler(handler)
    url = server.url_for("/download.html")
    fetcher = make(validators=ValidatorCache())
    first = fetcher.get(url, conditional=True)
    second = fetcher.get(url, conditional=True)
    assert "If-None-Match" not in handler.seen[0]
    assert handler.seen[1]["If-None-Match"] == '"v1"'
    assert first.not_modified is False and first.content == b"<ul><li>list</li></ul>"
    assert second.not_modified is True and second.status == 304 and second.content == b""


def test_unconditional_get_sends_no_validators(server, make):
    handler = _etag_handler('"v1"')
    server.expect_request("/page").respond_with_handler(handler)
    url = server.url_for("/page")
    fetcher = make(validators=ValidatorCache())
    fetcher.get(url, conditional=True)
    assert fetcher.get(url).not_modified is False
    assert "If-None-Match" not in handler.seen[1]


def test_validator_cache_persists_only_when_saved(tmp_path):
    path = tmp_path / "state" / "validators.json"
    cache = ValidatorCache(path)
    cache.remember("https://udi.nmpa.gov.cn/download.html",
                   {"etag": '"abc"', "last-modified": "Mon, 23 Nov 2026 00:00:00 GMT"})
    assert ValidatorCache(path).request_headers("https://udi.nmpa.gov.cn/download.html") == {}
    cache.save()
    reloaded = ValidatorCache(path)
    assert reloaded.request_headers("https://udi.nmpa.gov.cn/download.html") == {
        "if-none-match": '"abc"', "if-modified-since": "Mon, 23 Nov 2026 00:00:00 GMT"}
    assert json.loads(path.read_text(encoding="utf-8"))["https://udi.nmpa.gov.cn/download.html"]["etag"] == '"abc"'


def test_last_modified_becomes_if_modified_since(server, make):
    stamp = "Sun, 22 Nov 2026 10:00:00 GMT"
    seen: list[str | None] = []

    def handler(request: Request) -> WzResponse:
        seen.append(request.headers.get("If-Modified-Since"))
        return WzResponse("x", headers={"Last-Modified": stamp})

    server.expect_request("/rss").respond_with_handler(handler)
    fetcher = make(validators=ValidatorCache())
    fetcher.get(server.url_for("/rss"), conditional=True)
    fetcher.get(server.url_for("/rss"), conditional=True)
    assert seen == [None, stamp]


# -- factory --------------------------------------------------------------------------------------------------------

def test_make_fetcher_picks_http_or_browser():
    http = make_fetcher(needs_browser=False, browser_like_headers=True, min_interval=2.0)
    try:
        assert isinstance(http, HttpFetcher)
    finally:
        http.close()
    from tracker.fetch.browser import BrowserFetcher

    browser = make_fetcher(needs_browser=True, browser_like_headers=False, min_interval=1.0,
                           validators=ValidatorCache(), max_attempts=3)
    try:
        assert isinstance(browser, BrowserFetcher)
        assert browser.min_interval == 5.0  # a browser source is never paced faster than 5 s per page
    finally:
        browser.close()


def test_response_is_a_frozen_value():
    resp = Response(url="https://x.example/", status=200, headers={}, content=b"abc", fetched_at=NOW,
                    request_headers={})
    assert resp.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(AttributeError):
        resp.status = 500  # type: ignore[misc]
