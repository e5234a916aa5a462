"""A subscriber's life: sign up (pending until double opt-in), confirm, change preferences, unsubscribe.

Every step that changes consent appends a `consent` row (time, address, the exact wording shown, IP, user agent).
An address that is already active is not changed by a new sign-up (anyone can type any address into the public
form); it only gets a confirmation email whose link leads to its manage page. The web form (web/subscribe.py) parses
and checks what a person typed and calls these; each function runs inside the caller's transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.mail.filters import normalize_filters
from tracker.mail.outbox import queue_confirmation
from tracker.mail.tokens import TokenData
from tracker.store.models import Consent, Subscriber, Subscription

# What the sign-up form shows under its consent box, in the reader's language; the consent record stores both.
SUBSCRIBE_WORDING = {
    "zh": "订阅邮件摘要：我同意 NMPA AI 追踪按所选频率和筛选条件向此邮箱发送新批准器械与政策的摘要；每封邮件都有管理和"
          "一键退订链接。",
    "en": "I agree that the NMPA AI tracker sends digests of new approvals and policies matching my filters to this "
          "address at the frequency I chose; every email has a manage and a one-click unsubscribe link.",
}
# The wordings are stored verbatim with each consent record (both languages, so either reader's consent is on file).
CONSENT_WORDING = {
    "subscribe": f"{SUBSCRIBE_WORDING['zh']}/ {SUBSCRIBE_WORDING['en']}",
    "confirm": "确认订阅 / Confirm subscription: I confirm that I asked for these digests at this address.",
    "change": "保存设置 / Save preferences: send digests matching these preferences.",
    "unsubscribe": "退订 / Unsubscribe: stop sending any digest to this address.",
}
DEFAULT_FREQUENCY = "daily"


@dataclass(frozen=True)
class Requester:
    """Who asked, as a consent record keeps it."""

    ip: str | None
    user_agent: str | None


def default_preferences() -> dict[str, Any]:
    """What a new subscription starts with."""
    return {"filters": normalize_filters({}), "frequency": DEFAULT_FREQUENCY, "include_devices": True,
            "include_policies": True}


def subscriber_for(session: Session, token: TokenData) -> Subscriber | None:
    """The subscriber a valid token names, or None when the row is gone or its address changed since."""
    subscriber = session.get(Subscriber, token.subscriber_id)
    return subscriber if subscriber is not None and subscriber.email == token.email else None


def latest_subscription(session: Session, subscriber_id: int) -> Subscription | None:
    """The subscriber's current subscription (the newest), if any."""
    return session.execute(select(Subscription).where(Subscription.subscriber_id == subscriber_id)
                           .order_by(Subscription.id.desc()).limit(1)).scalar_one_or_none()


def preferences_of(sub: Subscription | None) -> dict[str, Any]:
    """A subscription's preferences in the shape the form shows (defaults when there is none)."""
    if sub is None:
        return default_preferences()
    return {"filters": normalize_filters(sub.filters), "frequency": sub.frequency,
            "include_devices": sub.include_devices, "include_policies": sub.include_policies}


def _apply(sub: Subscription, prefs: dict[str, Any], now: datetime) -> None:
    sub.filters = prefs["filters"]
    sub.frequency = prefs["frequency"]
    sub.include_devices = prefs["include_devices"]
    sub.include_policies = prefs["include_policies"]
    sub.updated_at = now


def _subscription_to_change(session: Session, subscriber_id: int, now: datetime) -> Subscription:
    sub = latest_subscription(session, subscriber_id)
    if sub is None:
        sub = Subscription(subscriber_id=subscriber_id, created_at=now, updated_at=now, active=True)
        session.add(sub)
    return sub


def _consent(session: Session, subscriber: Subscriber, action: str, who: Requester, now: datetime,
             prefs: dict[str, Any] | None = None) -> None:
    wording = CONSENT_WORDING[action]
    if prefs is not None:
        wording += "\n\n[preferences] " + json.dumps(prefs, ensure_ascii=False, sort_keys=True)
    session.add(Consent(subscriber_id=subscriber.id, action=action, email=subscriber.email, wording=wording,
                        ip=who.ip, user_agent=(who.user_agent or "")[:500] or None, at=now))


def sign_up(session: Session, settings: Settings, email: str, prefs: dict[str, Any], lang: str, who: Requester,
            now: datetime) -> None:
    """A sign-up from the public form: a pending subscriber with these preferences (unless already active), and an
    opt-in email queued either way."""
    subscriber = session.execute(select(Subscriber).where(Subscriber.email == email)).scalar_one_or_none()
    if subscriber is None:
        subscriber = Subscriber(email=email, status="pending", lang=lang, created_at=now)
        session.add(subscriber)
        session.flush()
    sub = latest_subscription(session, subscriber.id)
    if subscriber.status != "active":
        # Pending or unsubscribed: the form's preferences apply once the address confirms.
        subscriber.status, subscriber.lang = "pending", lang
        sub = _subscription_to_change(session, subscriber.id, now)
        _apply(sub, prefs, now)
        sub.active = True
        session.flush()
        _consent(session, subscriber, "subscribe", who, now, prefs)
    queue_confirmation(session, settings, subscriber, sub.id, CONSENT_WORDING["subscribe"], now)


def confirm(session: Session, subscriber_id: int, who: Requester, now: datetime) -> None:
    """Double opt-in done: the subscriber becomes active (repeating it changes nothing)."""
    row = session.get(Subscriber, subscriber_id)
    if row.status == "active":
        return
    row.status, row.confirmed_at, row.unsubscribed_at = "active", now, None
    sub = latest_subscription(session, row.id)
    if sub is not None:
        # The window of the first digest starts at confirmation, not at the form.
        sub.created_at = sub.updated_at = now
    _consent(session, row, "confirm", who, now, preferences_of(sub))


def change_preferences(session: Session, subscriber_id: int, prefs: dict[str, Any], who: Requester,
                       now: datetime) -> None:
    """Save new preferences from the manage page."""
    row = session.get(Subscriber, subscriber_id)
    sub = _subscription_to_change(session, row.id, now)
    _apply(sub, prefs, now)
    session.flush()
    _consent(session, row, "change", who, now, prefs)


def unsubscribe(session: Session, subscriber_id: int, who: Requester, now: datetime) -> None:
    """Stop every digest to the subscriber (repeating it changes nothing)."""
    row = session.get(Subscriber, subscriber_id)
    if row.status == "unsubscribed":
        return
    row.status, row.unsubscribed_at = "unsubscribed", now
    for sub in session.execute(select(Subscription).where(Subscription.subscriber_id == row.id)).scalars():
        sub.active, sub.updated_at = False, now
    _consent(session, row, "unsubscribe", who, now)
