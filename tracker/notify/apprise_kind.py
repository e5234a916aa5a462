"""Any service Apprise speaks (Telegram, Microsoft Teams, Discord, ntfy, Matrix, email, …), by its Apprise URL.

Apprise answers only "sent" or "not sent", so a failure keeps what Apprise logged while sending (with the channel's
URL taken out) as the platform's answer, and counts as temporary: the outbox tries again with back-off and gives up
after its bounded number of tries.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import apprise
import httpx

from tracker.notify.message import as_text
from tracker.notify.transport import PermanentFailure, Target, TemporaryFailure, where


def recognised(url: str) -> bool:
    """Whether Apprise knows a service for this URL (checked when a channel is added)."""
    return apprise.Apprise().add(url)


class AppriseKind:
    """Hand the message to Apprise: the headline as its title, the plain text as its body."""

    name = "apprise"

    def send(self, client: httpx.Client, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> str:
        notifier = apprise.Apprise()
        if not notifier.add(target.url):
            raise PermanentFailure(f"Apprise does not recognise this URL ({where(target.url)})")
        with apprise.LogCapture(level=logging.WARNING) as logs:
            ok = notifier.notify(title=payload["headline"], body=as_text(payload))
            said = logs.getvalue()
        said = said.replace(target.url, where(target.url))
        if target.secret:
            said = said.replace(target.secret, "…")
        if not ok:
            raise TemporaryFailure("Apprise could not deliver", said or "no detail from Apprise")
        return "sent (Apprise reports only success or failure)"
