"""Browser fetcher for sources behind a JavaScript challenge (NMPA, CMDE, NHC: Ruishu/瑞数, HTTP 412).

It drives Debian's Chromium through Playwright's sync API and loads a page the way a person's browser does: the
challenge page runs its script, sets its cookie and reloads itself, and we take the HTML of the page that follows.
No token forging and no proxies: if the challenge does not clear after a wait and one more load, the fetch raises
`Blocked` with the evidence. Pages are spaced at least `min_interval` (5 s) apart per host. One fetcher is one
browser profile (a fresh temporary user-data-dir), so the cookie a challenge sets serves the rest of the run.
Playwright's sync API is bound to the thread that started it: create, use and close a fetcher in one thread.
"""
from __future__ import annotations

import tempfile
import time
from datetime import datetime
from typing import Any, Callable

from tracker.clock import utcnow
from tracker.fetch.base import Blocked, FetchError, HostPacer, Response, TooLarge, detect_challenge

CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
)
POLL_SECONDS = 0.25
NETWORKIDLE_CAP_SECONDS = 5.0
# page.content() is re-serialised DOM, so the transfer framing of the original response no longer applies.
_DROPPED_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "content-type")


class BrowserFetcher:
    """`Fetcher` that loads pages in headless Chromium; returns the final page HTML encoded as UTF-8."""

    def __init__(self, *, executable_path: str = "/usr/bin/chromium", min_interval: float = 5.0,
                 timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, user_agent: str | None = None,
                 settle_timeout: float = 15.0,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.executable_path = executable_path
        self.min_interval = min_interval
        self._timeout_ms = timeout * 1000
        self._settle_polls = max(1, int(settle_timeout / POLL_SECONDS))
        self._user_agent = user_agent
        self._pacer = HostPacer(min_interval, sleep, clock)
        self._now = now
        self._playwright: Any = None
        self._context: Any = None
        self._page: Any = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None

    def get(self, url: str, *, headers: dict[str, str] | None = None, max_bytes: int | None = None,
            conditional: bool = False) -> Response:
        """Load `url` in the browser; Blocked if a challenge is still showing after a wait and one reload.

        `headers` may carry a Referer; `conditional` is ignored (a browser load is never conditional).
        """
        page = self._ensure_page()
        referer = {k.lower(): v for k, v in (headers or {}).items()}.get("referer")
        navigations: list[Any] = []

        def on_response(resp: Any) -> None:
            # Only main-document loads: the challenge's 412, the page it reloads into, redirects between them.
            if resp.request.is_navigation_request() and resp.frame == page.main_frame:
                navigations.append(resp)

        page.on("response", on_response)
        try:
            evidence = None
            for _ in range(2):
                self._pacer.wait(url)
                self._navigate(page, url, referer)
                evidence, html = self._settle(page, navigations)
                if evidence is None:
                    break
            if not navigations:
                raise FetchError(f"browser saw no page response for {url}", url=url)
            if evidence is not None:
                response = self._build(page, navigations[-1], html)
                raise Blocked(f"{evidence} (url: {url}; still challenged after 2 browser loads)", url=url,
                              status=response.status, response=response)
        finally:
            page.remove_listener("response", on_response)
        response = self._build(page, navigations[-1], html)
        if max_bytes is not None and len(response.content) > max_bytes:
            raise TooLarge(f"{url}: page exceeds the {max_bytes}-byte cap", url=url, status=response.status)
        if not 200 <= response.status < 300:
            raise FetchError(f"HTTP {response.status} from {response.url} (browser)", url=url,
                             status=response.status, response=response)
        return response

    def close(self) -> None:
        """Close the browser and delete its temporary profile."""
        # Closing a browser that already died must not mask the run's real outcome, hence the broad excepts.
        if self._context is not None:
            try:
                self._context.close()
            except Exception:  # noqa: BLE001
                pass
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:  # noqa: BLE001
                pass
        self._context = self._playwright = self._page = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def __enter__(self) -> BrowserFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_page(self) -> Any:
        if self._page is not None:
            return self._page
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise FetchError("the browser fetcher needs the 'playwright' package") from exc
        self._profile = tempfile.TemporaryDirectory(prefix="tracker-chromium-")
        try:
            self._playwright = sync_playwright().start()
            options: dict[str, Any] = {"executable_path": self.executable_path, "headless": True,
                                       "args": list(CHROMIUM_ARGS), "locale": "zh-CN"}
            if self._user_agent:
                options["user_agent"] = self._user_agent
            self._context = self._playwright.chromium.launch_persistent_context(self._profile.name, **options)
            self._page = self._context.pages[0] if self._context.pages else self._context.new_page()
        except Exception as exc:
            self.close()
            raise FetchError(f"cannot start Chromium at {self.executable_path}: {exc}") from exc
        return self._page

    def _navigate(self, page: Any, url: str, referer: str | None) -> None:
        from playwright.sync_api import Error as PlaywrightError

        try:
            # "commit" only: the challenge page replaces itself by a reload, which would interrupt a wait for "load".
            page.goto(url, wait_until="commit", timeout=self._timeout_ms, referer=referer)
        except PlaywrightError as exc:
            raise FetchError(f"browser could not load {url}: {exc.message}", url=url) from exc

    def _settle(self, page: Any, navigations: list[Any]) -> tuple[str | None, str]:
        """Poll until the page is loaded and free of challenge markers; (evidence or None, html)."""
        from playwright.sync_api import Error as PlaywrightError

        evidence, html = "no page loaded", ""
        for _ in range(self._settle_polls):
            try:
                page.wait_for_load_state("load", timeout=self._timeout_ms)
                html = page.content()
            except PlaywrightError:
                # The document went away mid-read: the challenge is reloading the page. Look again shortly.
                page.wait_for_timeout(POLL_SECONDS * 1000)
                continue
            if not navigations:
                evidence = "no main-document response seen"
                page.wait_for_timeout(POLL_SECONDS * 1000)
                continue
            evidence = detect_challenge(navigations[-1].status, b"", html)
            if evidence is None:
                try:
                    page.wait_for_load_state("networkidle", timeout=NETWORKIDLE_CAP_SECONDS * 1000)
                    html = page.content()
                except PlaywrightError:
                    pass  # a page that keeps polling never goes idle; what has loaded is what we take
                return None, html
            page.wait_for_timeout(POLL_SECONDS * 1000)
        return evidence, html

    def _build(self, page: Any, main: Any, html: str) -> Response:
        headers = {k.lower(): v for k, v in main.all_headers().items() if k.lower() not in _DROPPED_HEADERS}
        headers["content-type"] = "text/html; charset=utf-8"
        return Response(
            url=page.url, status=main.status, headers=headers, content=html.encode("utf-8"), fetched_at=self._now(),
            request_headers={k.lower(): v for k, v in main.request.all_headers().items()},
            method=main.request.method,
        )
