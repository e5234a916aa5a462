"""Which fetcher a source gets: `make_fetcher` picks the browser for challenged sites, plain HTTP otherwise."""
from __future__ import annotations

from typing import Any

import httpx

from tracker.fetch.base import Fetcher
from tracker.fetch.browser import BrowserFetcher
from tracker.fetch.http import HttpFetcher

BROWSER_MIN_INTERVAL = 5.0
_HTTP_ONLY_KW = {"user_agent", "browser_like", "max_attempts", "backoff_base", "validators", "transport"}


def is_loopback(url: str | None) -> bool:
    """True for URLs on this machine (127.0.0.0/8, ::1, localhost)."""
    host = (httpx.URL(url).host if url else "") or ""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def make_fetcher(*, needs_browser: bool, browser_like_headers: bool, base_url: str | None = None,
                 **kw: Any) -> Fetcher:
    """The fetcher a source needs: a BrowserFetcher for challenged sites, else an HttpFetcher.

    `kw` are HttpFetcher arguments; for the browser, the HTTP-only ones are dropped, `browser_user_agent` becomes its
    `user_agent`, and `min_interval` is never below 5 s.
    """
    if needs_browser:
        browser_kw = {k: v for k, v in kw.items() if k not in _HTTP_ONLY_KW and k != "browser_user_agent"}
        interval = float(kw.get("min_interval", BROWSER_MIN_INTERVAL))
        # The 5 s floor protects real sites; a loopback stand-in (the sample server of `make run`) may go faster.
        browser_kw["min_interval"] = interval if is_loopback(base_url) else max(interval, BROWSER_MIN_INTERVAL)
        if kw.get("browser_user_agent"):
            browser_kw["user_agent"] = kw["browser_user_agent"]
        return BrowserFetcher(**browser_kw)
    kw.pop("browser_user_agent", None)
    return HttpFetcher(browser_like=browser_like_headers, **kw)
