"""How a message leaves: the request a kind builds, the two kinds of failure, and the shared HTTP round trip.

A failure is temporary (5xx, 429, a timeout, a refused connection, a platform's "too many requests" code: tried again
later, honouring Retry-After) or permanent (a refused URL, a bad signature, a malformed body: tried again never). A
platform that answers HTTP 200 with an error code in the body (WeCom, DingTalk, Feishu do) has failed: each kind's
`judge` reads the body. Error texts never hold the channel's URL (it carries the token): only its kind and host.
"""
from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

ANSWER_CHARS = 500  # how much of a platform's answer is kept with a delivery
TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # a platform slower than this is tried again later


class DeliveryFailure(Exception):
    """A message not delivered; `answer` is what the platform said (kept on the admin page)."""

    def __init__(self, message: str, answer: str = "") -> None:
        super().__init__(message)
        self.answer = answer[:ANSWER_CHARS]


class TemporaryFailure(DeliveryFailure):
    """Worth another try later; `retry_after` (seconds) when the platform said how long to wait."""

    def __init__(self, message: str, answer: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, answer)
        self.retry_after = retry_after


class PermanentFailure(DeliveryFailure):
    """Another try would fail the same way (bad URL, signature, body): given up at once."""


@dataclass(frozen=True)
class Target:
    """A channel as a send needs it (no ORM object: the send loop runs outside any session)."""

    id: int
    name: str
    kind: str
    url: str
    secret: str | None = None
    lang: str = "zh"


@dataclass(frozen=True)
class Outgoing:
    """One HTTP request: POST `content` (JSON bytes) to `url` with `headers`."""

    url: str
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Kind(Protocol):
    """A way of posting a message: the five HTTP kinds share HttpKind; Apprise has its own."""

    name: str

    def send(self, client: httpx.Client, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> str:
        """Deliver; return the platform's answer (short), or raise a DeliveryFailure."""


def where(url: str) -> str:
    """A URL reduced to what may be shown: scheme and host, never the path or query that carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (a number of seconds or an HTTP date); None when absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def judge_http(response: httpx.Response, now: datetime) -> None:
    """The HTTP status alone: 429 and 5xx are temporary, any other non-2xx permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    answer = f"HTTP {status}: {response.text[:ANSWER_CHARS]}"
    if status == 429 or status >= 500:
        raise TemporaryFailure(f"HTTP {status}", answer, retry_after(response.headers.get("Retry-After"), now))
    raise PermanentFailure(f"HTTP {status}", answer)


def json_answer(response: httpx.Response) -> dict[str, Any]:
    """A 2xx body that must be a JSON object (WeCom, DingTalk, Feishu); anything else is a permanent failure."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PermanentFailure("the answer is not a JSON object", response.text)
    return body


class HttpKind:
    """A kind that posts one JSON request: subclasses say how to build it and how to read the answer."""

    name = "http"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        """The request for one message."""
        raise NotImplementedError

    def judge(self, response: httpx.Response) -> str:
        """Read a 2xx answer: return it (short) or raise a DeliveryFailure (an error code in the body)."""
        return response.text[:ANSWER_CHARS] or f"HTTP {response.status_code}"

    def send(self, client: httpx.Client, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> str:
        """Build, post, judge. Network trouble is temporary; the error names the host only."""
        out = self.build(target, payload, uid, now)
        headers = {"Content-Type": "application/json; charset=utf-8", **out.headers}
        try:
            response = client.post(out.url, content=out.content, headers=headers)
        except httpx.TimeoutException as exc:
            raise TemporaryFailure(f"timed out posting to {where(out.url)}", type(exc).__name__) from None
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"could not reach {where(out.url)}", type(exc).__name__) from None
        judge_http(response, now)
        return self.judge(response)
