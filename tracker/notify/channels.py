"""Chat channels: add (checked), list (credentials masked), remove, and send a test message through the outbox.

A channel's URL carries its token and its secret signs its messages: after saving, nothing shows either in full —
`mask` keeps the scheme, the host and the last four characters, for pages, the CLI, the audit log and error texts.
A webhook channel added without a secret gets a generated one, shown once to whoever added it.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tracker.audit.log import record
from tracker.clock import Clock
from tracker.config import Settings
from tracker.notify.apprise_kind import recognised
from tracker.notify.kinds import KINDS, SIGNED
from tracker.notify.message import probe_payload
from tracker.notify.outbox import Message, SendResult, enqueue, send_pending
from tracker.notify.refusal import NotifyRefusal
from tracker.notify.transport import where
from tracker.store.models import Channel, Delivery, Watch

LANGS = ("zh", "en")
NAME = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,80}$")
MAX_URL = 2000


class ChannelError(NotifyRefusal):
    """A channel refused: the message says why, and never holds the URL or the secret."""

    PREFIX = "channel_refused_"
    WORDING = {
        "name": "a channel name is 1-80 letters, digits, '.', '-' or '_'",
        "kind": "unknown channel kind {kind!r}: one of {kinds}",
        "lang": "the language is one of {langs}",
        "url": "the URL is empty, has blanks or is longer than {limit} characters",
        "apprise_url": "Apprise does not recognise this URL (see its list of services)",
        "http_url": "a {kind} channel needs an http(s) URL with a host",
        "secret": "the secret is empty or longer than 500 characters",
        "no_secret": "a {kind} channel takes no signing secret",
        "exists": "a channel named {name!r} exists already",
        "missing": "no channel named {name!r}",
    }


def mask(url: str) -> str:
    """A URL as it may be shown: scheme, host and the last four characters (none when what follows the host is
    shorter than 16 characters: four of a short token would give too much of it away)."""
    rest = url[len(where(url)):]
    return f"{where(url)}/…{url[-4:]}" if len(rest) >= 16 else f"{where(url)}/…"


@dataclass(frozen=True)
class ChannelView:
    """A channel as pages and the CLI show it: no credential in full."""

    id: int
    name: str
    kind: str
    masked_url: str
    signed: bool
    lang: str
    active: bool
    failures: int
    alert_state: str
    pending: int
    failed: int
    sent: int


def _check(name: str, kind: str, url: str, secret: str | None, lang: str) -> None:
    if not NAME.match(name or ""):
        raise ChannelError("name")
    if kind not in KINDS:
        raise ChannelError("kind", kind=kind, kinds=", ".join(KINDS))
    if lang not in LANGS:
        raise ChannelError("lang", langs=", ".join(LANGS))
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise ChannelError("url", limit=MAX_URL)
    if kind == "apprise":
        if not recognised(url):
            raise ChannelError("apprise_url")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelError("http_url", kind=kind)
    if secret is not None and (not secret.strip() or len(secret) > 500):
        raise ChannelError("secret")
    if secret and kind not in SIGNED:
        raise ChannelError("no_secret", kind=kind)


def add_channel(session: Session, *, name: str, kind: str, url: str, secret: str | None = None, lang: str = "zh",
                actor: str, now: datetime) -> tuple[Channel, str | None]:
    """Add a channel in the caller's transaction; returns it and the generated secret (shown once), if any."""
    _check(name, kind, url, secret, lang)
    if session.execute(select(Channel.id).where(Channel.name == name)).first() is not None:
        raise ChannelError("exists", name=name)
    generated = None
    if kind == "webhook" and not secret:
        secret = generated = secrets.token_urlsafe(32)
    channel = Channel(name=name, kind=kind, url=url, secret=secret, lang=lang, active=True, failures=0,
                      alert_state="healthy", created_at=now, updated_at=now)
    session.add(channel)
    session.flush()
    record(session, actor=actor, action="channel.add", now=now, target_type="channel", target_id=channel.id,
           detail={"name": name, "kind": kind, "url": mask(url), "signed": bool(secret), "lang": lang})
    return channel, generated


def get_channel(session: Session, name: str) -> Channel:
    """The channel called `name`; ChannelError otherwise."""
    channel = session.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
    if channel is None:
        raise ChannelError("missing", name=name)
    return channel


def remove_channel(session: Session, name: str, *, actor: str, now: datetime) -> None:
    """Remove a channel, its deliveries and its place in every watch (the audit log keeps that it existed)."""
    channel = get_channel(session, name)
    record(session, actor=actor, action="channel.remove", now=now, target_type="channel", target_id=channel.id,
           detail={"name": channel.name, "kind": channel.kind, "url": mask(channel.url)})
    session.delete(channel)


def list_channels(session: Session) -> list[ChannelView]:
    """Every channel with its delivery counts, by name."""
    counts: dict[tuple[int, str], int] = {
        (cid, status): n for cid, status, n in session.execute(
            select(Delivery.channel_id, Delivery.status, func.count()).group_by(Delivery.channel_id, Delivery.status))}
    return [ChannelView(id=c.id, name=c.name, kind=c.kind, masked_url=mask(c.url), signed=bool(c.secret),
                        lang=c.lang, active=c.active, failures=c.failures, alert_state=c.alert_state,
                        pending=counts.get((c.id, "pending"), 0) + counts.get((c.id, "sending"), 0),
                        failed=counts.get((c.id, "failed"), 0), sent=counts.get((c.id, "sent"), 0))
            for c in session.execute(select(Channel).order_by(Channel.name)).scalars()]


@dataclass(frozen=True)
class ProbeOutcome:
    """What a test message did: delivered or not, and the platform's answer (or why not)."""

    ok: bool
    status: str
    answer: str


def send_test_message(sessions: sessionmaker[Session], settings: Settings, name: str, *, now: Clock,
                      actor: str, wait: float = 30.0) -> ProbeOutcome:
    """Queue a test message for one channel and post it now, through the outbox like any other message."""
    when = now()
    with sessions.begin() as session:
        channel = get_channel(session, name)
        payload = probe_payload(channel.lang, channel.name, when)
        key = f"test:{when.isoformat()}:{secrets.token_hex(4)}"  # every test is a message of its own
        enqueue(session, [Message(channel.id, key, payload)], when)
        row_id = session.execute(select(Delivery.id).where(Delivery.channel_id == channel.id,
                                                           Delivery.event_key == key)).scalar_one()
        record(session, actor=actor, action="channel.test", now=when, target_type="channel", target_id=channel.id,
               detail={"name": channel.name})
    # The scheduler's sender may hold the outbox lock: then it posts the message, or we get the lock after it.
    deadline = time.monotonic() + wait
    while True:
        result: SendResult = send_pending(sessions, settings, now=now, only=[row_id])
        with sessions() as session:
            row = session.get(Delivery, row_id)
            if row.status in ("sent", "failed") or (not result.skipped_locked and row.status == "pending"):
                return ProbeOutcome(row.status == "sent", row.status, row.answer or "")
        if time.monotonic() > deadline:
            return ProbeOutcome(False, row.status, "another sender is running: the test message is queued")
        time.sleep(0.3)


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as the admin page shows it: where, what, its state and the platform's answer."""

    id: int
    channel: str
    watch: str | None
    event_key: str
    headline: str
    status: str
    attempts: int
    answer: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


DELIVERY_STATES = ("pending", "sending", "sent", "failed")


def list_deliveries(session: Session, *, status: str | None = None, limit: int = 50,
                    offset: int = 0) -> tuple[list[DeliveryView], int]:
    """Deliveries newest first (optionally of one state), and how many there are."""
    where = [Delivery.status == status] if status else []
    total = session.execute(select(func.count()).select_from(Delivery).where(*where)).scalar_one()
    rows = session.execute(
        select(Delivery, Channel.name, Watch.name).join(Channel, Channel.id == Delivery.channel_id)
        .outerjoin(Watch, Watch.id == Delivery.watch_id).where(*where)
        .order_by(Delivery.id.desc()).limit(limit).offset(offset)).all()
    return [DeliveryView(id=d.id, channel=channel, watch=watch, event_key=d.event_key,
                         headline=str((d.payload or {}).get("headline", "")), status=d.status, attempts=d.attempts,
                         answer=d.answer or "", created_at=d.created_at, sent_at=d.sent_at,
                         next_attempt_at=d.next_attempt_at)
            for d, channel, watch in rows], total
