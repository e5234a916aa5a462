"""The browser fetcher in real headless Chromium against a local page that imitates a Ruishu-style challenge.

The challenge page answers 412 with a `$_ts` script that sets a cookie and reloads; with the cookie the server sends
the list. These tests skip only when Chromium or Playwright is truly absent and TRACKER_REQUIRE_REAL is not "1".
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WzResponse

from tests.conftest import require_real
from tracker.fetch.base import Blocked

CHROMIUM = "/usr/bin/chromium"
LIST_TITLE = "2026年11月20日医疗器械批准证明文件送达信息"

CHALLENGE_PAGE = """<!DOCTYPE html><html><head>
<meta content="{qqqq.synthetic-challenge.qqqq}" r='m'>
<script type="text/javascript" r='m'>
var $_ts = window['$_ts']; if (!$_ts) $_ts = {}; $_ts.nsd = 42;
document.cookie = "synthetic_rs=cleared; path=/";
RELOAD
</script></head><body></body></html>"""
# The reload either interrupts the challenge page while it is still loading or comes after some work.
RELOADS = {"immediate": "location.reload();", "delayed": "setTimeout(function () { location.reload(); }, 300);"}

STUCK_PAGE = """<!DOCTYPE html><html><head>
<meta content="{qqqq.synthetic-challenge.qqqq}" r='m'>
<script type="text/javascript" r='m'>var $_ts = window['$_ts']; if (!$_ts) $_ts = {};</script>
</head><body></body></html>"""

LIST_PAGE = f"""<!DOCTYPE html><html><head><meta charset="gb2312"><title>送达信息</title></head><body>
<div class="list"><ul>
<li><a href="./20261120093015123.html">{LIST_TITLE}</a><span>2026-11-20</span></li>
<li><a href="./20261119093015123.html">2026年11月19日医疗器械批准证明文件送达信息 朱镕基</a><span>2026-11-19</span></li>
</ul></div></body></html>"""


@pytest.fixture
def browser_available() -> None:
    if not Path(CHROMIUM).exists():
        require_real(CHROMIUM)
    if importlib.util.find_spec("playwright") is None:
        require_real("the playwright package")


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/favicon.ico").respond_with_data("", status=404)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fetcher(browser_available, sleeps):
    from tracker.fetch.browser import BrowserFetcher

    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    fetcher = BrowserFetcher(executable_path=CHROMIUM, sleep=sleep, clock=lambda: clock[0], settle_timeout=4.0,
                             timeout=20.0)
    yield fetcher
    fetcher.close()


@pytest.mark.parametrize("reload", sorted(RELOADS))
def test_challenge_clears_like_in_a_persons_browser(server, fetcher, sleeps, reload):
    statuses: list[int] = []
    challenge = CHALLENGE_PAGE.replace("RELOAD", RELOADS[reload])

    def handler(request: Request) -> WzResponse:
        if request.cookies.get("synthetic_rs") == "cleared":
            statuses.append(200)
            return WzResponse(LIST_PAGE.encode("gbk"), content_type="text/html; charset=gb2312")
        statuses.append(412)
        return WzResponse(challenge, status=412, content_type="text/html; charset=utf-8")

    server.expect_request("/zwfw/sdxx/sdxxylqx/qxpjfb/index.html").respond_with_handler(handler)
    url = server.url_for("/zwfw/sdxx/sdxxylqx/qxpjfb/index.html")

    resp = fetcher.get(url)

    assert statuses == [412, 200]
    assert resp.status == 200
    assert resp.url == url
    text = resp.text()
    assert LIST_TITLE in text
    assert "朱镕基" in text  # the GBK page arrives re-encoded as UTF-8 and says so
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert "$_ts" not in text
    assert sleeps == []

    # Same browser profile: the cookie is still there, so the next page loads at once, 5 s after the last one.
    again = fetcher.get(url)
    assert statuses == [412, 200, 200]
    assert LIST_TITLE in again.text()
    assert sleeps == [pytest.approx(5.0)]


def test_challenge_that_never_clears_is_blocked(server, fetcher, sleeps):
    calls: list[int] = []

    def handler(request: Request) -> WzResponse:
        calls.append(1)
        return WzResponse(STUCK_PAGE, status=412, content_type="text/html; charset=utf-8")

    server.expect_request("/ylqx/ylqxggtg/index.html").respond_with_handler(handler)
    url = server.url_for("/ylqx/ylqxggtg/index.html")

    with pytest.raises(Blocked) as info:
        fetcher.get(url)

    assert len(calls) == 2  # one load, one more after a pause, no loop
    assert sleeps == [pytest.approx(5.0)]
    assert "412" in info.value.evidence and "$_ts" in info.value.evidence
    assert url in info.value.evidence
    assert info.value.response is not None and info.value.response.status == 412


def test_plain_page_loads_once(server, fetcher):
    calls: list[int] = []

    def handler(request: Request) -> WzResponse:
        calls.append(1)
        return WzResponse(f"<html><body><p>{LIST_TITLE}</p></body></html>", content_type="text/html; charset=utf-8")

    server.expect_request("/plain.html").respond_with_handler(handler)
    resp = fetcher.get(server.url_for("/plain.html"), headers={"Referer": server.url_for("/")})
    assert calls == [1]
    assert LIST_TITLE in resp.text()
    assert resp.request_headers.get("referer") == server.url_for("/")
