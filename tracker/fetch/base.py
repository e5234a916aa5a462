"""What every fetcher shares: the `Response` it returns, the errors it raises, the `Fetcher` protocol scrapers see,
anti-bot challenge detection and per-host pacing.

A challenge page (Ruishu/瑞数: HTTP 412, `$_ts`, `<meta … r='m'>`) is recognised here, whichever fetcher saw it, so
a run is recorded as blocked, never as "0 new records".
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

import httpx

from tracker.fetch.charset import decode_text

ERROR_BODY_BYTES = 64 * 1024  # enough of an error page for evidence; error bodies are never kept whole
CHALLENGE_SCAN_CHARS = 64 * 1024  # Ruishu markers sit in the <head>; big downloads are not scanned end to end


@dataclass(frozen=True)
class Response:
    """One fetched resource: final URL, status, lower-case headers, body bytes and when it was fetched (UTC)."""

    url: str
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: datetime
    request_headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    not_modified: bool = False

    @property
    def sha256(self) -> str:
        """Hex sha256 of the body bytes."""
        return hashlib.sha256(self.content).hexdigest()

    def text(self) -> str:
        """The body decoded with the explicit charset rules of `tracker.fetch.charset.decode_text`."""
        return decode_text(self.content, self.headers.get("content-type"))

    def json(self) -> Any:
        """The body parsed as JSON (after explicit decoding)."""
        return json.loads(self.text())


class FetchError(Exception):
    """A fetch that failed: network failure after retries, a 4xx, a truncated body, a size cap."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 response: Response | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.response = response  # when there was one: the runs layer may archive it as evidence


class Blocked(FetchError):
    """The site answered with an anti-bot challenge; `evidence` says what was seen (status, marker, URL)."""

    def __init__(self, evidence: str, *, url: str | None = None, status: int | None = None,
                 response: Response | None = None) -> None:
        super().__init__(evidence, url=url, status=status, response=response)
        self.evidence = evidence


class TooLarge(FetchError):
    """The body is larger than the caller's `max_bytes`."""


_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("$_ts", re.compile(r"\$_ts\b")),
    ("<meta r='m'>", re.compile(r"<meta\b[^>]*\sr\s*=\s*[\"']?m[\"'\s/>]", re.IGNORECASE)),
    ("Precondition Failed", re.compile(r"Precondition Failed", re.IGNORECASE)),
    ("网站地址已变更", re.compile(r"网站地址已变更")),
)


def detect_challenge(status: int, content: bytes, text: str | None = None) -> str | None:
    """Evidence text when a response is an anti-bot challenge (HTTP 412 or a Ruishu marker), else None."""
    if text is None:
        text = decode_text(content[:CHALLENGE_SCAN_CHARS]) if content else ""
    head = text[:CHALLENGE_SCAN_CHARS]
    found = []
    for name, pattern in _MARKERS:
        match = pattern.search(head)
        if match:
            snippet = head[max(0, match.start() - 20):match.end() + 40].replace("\n", " ")
            found.append(f"marker {name!r} in body: …{snippet}…")
    if status == 412:
        return "; ".join(["HTTP 412 (anti-bot challenge)", *found])
    if found:
        return f"HTTP {status} with challenge " + "; ".join(found)
    return None


class Fetcher(Protocol):
    """What scrapers get: `get` one URL, `close` at the end of a run."""

    def get(self, url: str, *, headers: dict[str, str] | None = None, max_bytes: int | None = None,
            conditional: bool = False) -> Response: ...

    def close(self) -> None: ...


class HostPacer:
    """Keeps at least `min_interval` seconds between the starts of two requests to one host."""

    def __init__(self, min_interval: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.min_interval = min_interval
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}

    def wait(self, url: str) -> None:
        """Sleep until `url`'s host may be asked again, then mark it as asked now."""
        host = httpx.URL(url).host
        last = self._last.get(host)
        if last is not None:
            delay = self.min_interval - (self._clock() - last)
            if delay > 0:
                self._sleep(delay)
        self._last[host] = self._clock()
