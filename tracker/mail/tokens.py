"""Signed tokens in subscription emails: opt-in confirmation, one-click unsubscribe and manage-preferences links.

Tokens are itsdangerous signatures over a small JSON payload with the installation's secret key; each purpose has
its own salt, so a token made for one purpose never passes as another. Unsubscribe and manage tokens carry no expiry
on purpose: they sit in every email ever sent, and a link in a years-old digest must still work (RFC 8058 asks that
the unsubscribe URL keep working). Only the opt-in token expires, since an unconfirmed address should not be
confirmable forever. They carry the address too, so a token stops working for an address the row no longer has.
"""
from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_MAX_AGE = 7 * 24 * 3600
PURPOSES = ("confirm", "unsubscribe", "manage")
# The web routes these tokens open (web/subscribe.py registers exactly these paths).
PATHS = {"confirm": "/subscribe/confirm/{token}", "manage": "/subscribe/manage/{token}",
         "unsubscribe": "/unsubscribe/{token}"}


class InvalidToken(Exception):
    """The token is forged, damaged, made for another purpose, or (opt-in only) expired."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class TokenData:
    """What a valid token says: which subscriber, at which address."""

    subscriber_id: int
    email: str


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    salt = f"tracker.subscription.{purpose}"
    if purpose == "confirm":
        return URLSafeTimedSerializer(secret_key, salt=salt)
    return URLSafeSerializer(secret_key, salt=salt)


def make_token(secret_key: str, purpose: str, subscriber_id: int, email: str) -> str:
    """A URL-safe signed token for `purpose` naming the subscriber and address."""
    return _serializer(secret_key, purpose).dumps({"s": int(subscriber_id), "e": email})


def link(settings, purpose: str, subscriber_id: int, email: str) -> str:
    """The absolute URL (Settings.public_base_url + route) that carries a fresh token for `purpose`."""
    token = make_token(settings.secret_key, purpose, subscriber_id, email)
    return settings.public_base_url.rstrip("/") + PATHS[purpose].format(token=token)


def read_token(secret_key: str, purpose: str, token: str, *, max_age: int = CONFIRM_MAX_AGE,
               now: float | None = None) -> TokenData:
    """Verify a token and return what it says; raises InvalidToken.

    `now` (seconds since the epoch) lets tests check expiry without waiting; it only matters for opt-in tokens.
    """
    serializer = _serializer(secret_key, purpose)
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            payload, signed_at = serializer.loads(token, max_age=None, return_timestamp=True)
            age = (now if now is not None else _time()) - signed_at.timestamp()
            if age > max_age:
                raise InvalidToken("this confirmation link has expired", expired=True)
        else:
            payload = serializer.loads(token)
    except SignatureExpired as exc:  # pragma: no cover - expiry is checked above with an injectable clock
        raise InvalidToken("this link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidToken("this link is not valid") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("e"), str):
        raise InvalidToken("this link is not valid")
    return TokenData(subscriber_id=payload["s"], email=payload["e"])


def _time() -> float:
    import time

    return time.time()
