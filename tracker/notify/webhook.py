"""The generic JSON webhook, signed so that a receiver can check that a message is ours and fresh.

Each POST carries three headers:
  X-Tracker-Timestamp  the send time, Unix seconds
  X-Tracker-Signature  v1=<hex HMAC-SHA256(key = the channel's secret, message = timestamp + "." + raw body)>
  X-Tracker-Delivery   the delivery's id, the same on every retry (a receiver de-duplicates on it)
A receiver recomputes the HMAC over the raw body bytes, compares in constant time, and refuses a timestamp more than
five minutes away from its clock (README "Verifying a webhook"). Written by hand: Apprise's json:// posts no signature.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from tracker.notify.message import as_text
from tracker.notify.transport import HttpKind, Outgoing, PermanentFailure, Target

SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300  # what the README tells receivers to accept


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Tracker-Signature value of a body sent at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def body_of(payload: dict[str, Any], uid: str, now: datetime) -> dict[str, Any]:
    """The JSON document a webhook receives: the message's parts plus its plain-text rendering."""
    return {"delivery": uid, "sent_at": now.isoformat(timespec="seconds"), "lang": payload["lang"],
            "headline": payload["headline"], "count": payload["count"], "watch": payload.get("watch", ""),
            "items": payload["items"], "more_url": payload.get("more_url"), "text": as_text(payload)}


class Webhook(HttpKind):
    """POST the message as JSON, signed with the channel's secret."""

    name = "webhook"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        if not target.secret:
            raise PermanentFailure("a webhook channel needs a signing secret")
        body = json.dumps(body_of(payload, uid, now), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(now.timestamp()))
        return Outgoing(target.url, body, {
            "X-Tracker-Timestamp": timestamp, "X-Tracker-Signature": signature(target.secret, timestamp, body),
            "X-Tracker-Delivery": uid})
