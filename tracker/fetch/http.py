"""Plain HTTP fetching: `HttpFetcher` wraps an httpx client with an identifying User-Agent (a browser-like one for sources that refuse
scripts), at most one request per `min_interval` per host, retries with back-off on timeouts, connection errors,
truncated bodies, 429 and 5xx (honouring Retry-After), conditional GETs from a `ValidatorCache`, a size cap, and
challenge detection: an anti-bot page (Ruishu/瑞数: HTTP 412, `$_ts`, `<meta … r='m'>`) raises `Blocked` so the run
is recorded as blocked, never as "0 new records", and is never retried in a loop. Challenged sources use
`tracker.fetch.browser.BrowserFetcher` instead; `tracker.fetch.factory.make_fetcher` picks one. Text decoding lives in
`tracker.fetch.charset`.
"""
from __future__ import annotations

import email.utils
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx
import tenacity

from tracker.clock import utcnow
from tracker.fetch.base import (
    ERROR_BODY_BYTES,
    Blocked,
    FetchError,
    HostPacer,
    Response,
    TooLarge,
    detect_challenge,
)

DEFAULT_USER_AGENT = "nmpa-ai-tracker/0.1 (self-hosted open-source tracker of NMPA device approvals; python-httpx)"
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
BROWSER_HEADERS = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "zh-CN,zh;q=0.9,en;q=0.8",
}
RETRY_AFTER_CAP = 60.0  # a server asking for a longer pause gets it: we give up instead of hammering
BACKOFF_CAP = 30.0


class ValidatorCache:
    """ETag / Last-Modified per URL for conditional GETs, kept in memory and optionally in a small JSON file.

    The fetcher updates the cache in memory as it sees 200 responses; `save()` writes the file. Call `save()` only
    after a run has stored what it fetched, so that a run that failed after fetching does not turn the next run's
    fetch into a 304 for data that was never stored.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: dict[str, dict[str, str]] = {}
        if self.path is not None and self.path.exists():
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = {str(k): dict(v) for k, v in loaded.items() if isinstance(v, dict)}

    def request_headers(self, url: str) -> dict[str, str]:
        """Conditional request headers (If-None-Match / If-Modified-Since) for `url`, empty when nothing is known."""
        entry = self._entries.get(url, {})
        headers = {}
        if entry.get("etag"):
            headers["if-none-match"] = entry["etag"]
        if entry.get("last-modified"):
            headers["if-modified-since"] = entry["last-modified"]
        return headers

    def remember(self, url: str, headers: dict[str, str]) -> None:
        """Record the validators of a full (200) response to `url`; forget the URL when it sent none."""
        entry = {k: headers[k] for k in ("etag", "last-modified") if headers.get(k)}
        if entry:
            self._entries[url] = entry
        else:
            self._entries.pop(url, None)

    def save(self) -> None:
        """Write the cache to its file atomically (no-op for an in-memory cache)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".validators-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._entries, fh, ensure_ascii=False, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None when absent or unreadable.

    An HTTP-date is measured against the response's own Date header when there is one, so a skewed local clock
    does not matter.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        ref = email.utils.parsedate_to_datetime(date_header) if date_header else utcnow()
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if ref.tzinfo is None:
        ref = ref.replace(tzinfo=timezone.utc)
    return max(0.0, (when - ref).total_seconds())


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth another try."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 response: Response | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.response = response


class HttpFetcher:
    """`Fetcher` over httpx: politeness per host, retries with back-off, conditional GETs, size cap, challenges."""

    def __init__(self, *, user_agent: str = DEFAULT_USER_AGENT, browser_like: bool = False, timeout: float = 30.0,
                 min_interval: float = 1.0, max_attempts: int = 4, backoff_base: float = 1.0,
                 validators: ValidatorCache | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, transport: httpx.BaseTransport | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        headers = {"user-agent": user_agent}
        if browser_like:
            # gov.cn's search refuses script User-Agents; it is given what a browser sends.
            headers = {**BROWSER_HEADERS,
                       "user-agent": BROWSER_USER_AGENT if user_agent == DEFAULT_USER_AGENT else user_agent}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout), follow_redirects=True,
                                    transport=transport)
        self._pacer = HostPacer(min_interval, sleep, clock)
        self._sleep = sleep
        self._now = now
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self.validators = validators

    def get(self, url: str, *, headers: dict[str, str] | None = None, max_bytes: int | None = None,
            conditional: bool = False) -> Response:
        """GET `url`; raises Blocked on a challenge, TooLarge over `max_bytes`, FetchError on other failures.

        With `conditional=True` and a validator cache, sends If-None-Match / If-Modified-Since and returns a
        `not_modified=True` response (empty body) on 304.
        """
        request_headers: dict[str, str] = {}
        if conditional and self.validators is not None:
            request_headers.update(self.validators.request_headers(url))
        request_headers.update({k.lower(): v for k, v in (headers or {}).items()})
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(self._attempt, url, request_headers, max_bytes)
        except _Retryable as exc:
            raise FetchError(f"{exc} (gave up after {self._max_attempts} attempts)", url=url, status=exc.status,
                             response=exc.response) from exc
        if conditional and self.validators is not None and response.status == 200:
            self.validators.remember(url, response.headers)
        return response

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return retry_after
        return min(self._backoff_base * 2 ** (state.attempt_number - 1), BACKOFF_CAP)

    def _attempt(self, url: str, request_headers: dict[str, str], max_bytes: int | None) -> Response:
        self._pacer.wait(url)
        try:
            with self._client.stream("GET", url, headers=request_headers) as r:
                ok = 200 <= r.status_code < 300
                body = self._read_body(r, url, max_bytes if ok else ERROR_BODY_BYTES, strict=ok)
                response = Response(
                    url=str(r.url), status=r.status_code, headers={k.lower(): v for k, v in r.headers.items()},
                    content=body, fetched_at=self._now(), method=r.request.method,
                    request_headers={k.lower(): v for k, v in r.request.headers.items()},
                    not_modified=r.status_code == 304,
                )
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout fetching {url}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error fetching {url}: {type(exc).__name__}: {exc}") from exc
        return self._judge(response)

    @staticmethod
    def _read_body(r: httpx.Response, url: str, limit: int | None, *, strict: bool) -> bytes:
        declared = r.headers.get("content-length")
        if strict and limit is not None and declared and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{url}: Content-Length {declared} exceeds the {limit}-byte cap", url=url,
                           status=r.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in r.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if limit is not None and size > limit:
                    if strict:
                        raise TooLarge(f"{url}: body exceeds the {limit}-byte cap", url=url, status=r.status_code)
                    break
        except httpx.RemoteProtocolError as exc:
            # h11 raises this when the peer closes before Content-Length bytes (or the last chunk) arrived.
            raise _Retryable(f"truncated body from {url}: {exc}", status=r.status_code) from exc
        body = b"".join(chunks)
        return body if strict or limit is None else body[:limit]

    def _judge(self, response: Response) -> Response:
        status, url = response.status, response.url
        if status == 304:
            return response
        evidence = detect_challenge(status, response.content)
        if evidence is not None:
            raise Blocked(f"{evidence} (url: {url})", url=url, status=status, response=response)
        if 200 <= status < 300:
            return response
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), response.headers.get("date"))
            if retry_after is not None and retry_after > RETRY_AFTER_CAP:
                raise FetchError(f"HTTP {status} from {url}: server asks to wait {retry_after:.0f} s, more than "
                                 f"the {RETRY_AFTER_CAP:.0f} s we wait", url=url, status=status, response=response)
            raise _Retryable(f"HTTP {status} from {url}", status=status, retry_after=retry_after,
                             response=response)
        raise FetchError(f"HTTP {status} from {url}", url=url, status=status, response=response)
