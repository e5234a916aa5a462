"""The outbox: digests (and opt-in emails) are rendered and stored before anything is sent, then sent exactly once.

Enqueue: for each due subscription, build → render → store one row per (subscription, period key) with the full
message (fixed Message-ID, sha256 = the audit copy). The unique key makes a second enqueue of the same period a no-op,
in the same process or another.

Send: only one sender runs at a time (the `outbox` ProcessLock). Each row is claimed (`pending` → `sending`, in its
own commit), handed to SMTP, and marked `sent` as soon as the server accepted it. A sender killed at any point leaves
every row either `sent` (never sent again) or `pending`/`sending` (sent on the next run). The one window left is a
crash after the SMTP server accepted a message and before `sent` was committed: that row is still `sending`, and the
next run sends it again with the same Message-ID, so a receiving system that de-duplicates on Message-ID (most do)
shows it once. No sender can close that window without the SMTP server's help; we report how many rows were in it.

Temporary SMTP failures (4xx, connection trouble) are retried with exponential back-off (`next_attempt_at`);
permanent ones (5xx) are recorded as `failed` with the server's reply.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.mail.digest import Digest, build_due
from tracker.mail.render import Rendered, personalize, render_confirm, render_shared
from tracker.mail.smtp import Mailer, PermanentFailure, TemporaryFailure, build_message, make_message_id, sender_address
from tracker.mail.tokens import link
from tracker.store.locks import ProcessLock
from tracker.store.models import Outbox, Subscriber
from tracker.store.write import insert_for

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CHUNK = 500
CONFIRM_RESEND_AFTER = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 1, 2, 4, ... minutes, at most 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _id_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", ".", text).strip(".")


def digest_message_id(settings: Settings, subscription_id: int, key: str) -> str:
    """The fixed Message-ID of a subscription's digest for a period (the same on every re-send)."""
    return make_message_id(f"digest.{_id_part(key)}.s{subscription_id}", settings.mail_from)


def sha256_hex(raw: bytes) -> str:
    """The audit hash of a stored message."""
    return hashlib.sha256(raw).hexdigest()


def digest_row(settings: Settings, digest: Digest, now: datetime, shared: Rendered | None = None) -> dict:
    """Render one digest and return the outbox row that stores it (message bytes, hash, Message-ID).

    `shared` is a rendering of the same items (render_shared) to reuse; only the subscriber's links differ.
    """
    rendered = personalize(
        shared or render_shared(digest, site_url=settings.public_base_url),
        manage_url=link(settings, "manage", digest.subscriber_id, digest.email),
        unsubscribe_url=link(settings, "unsubscribe", digest.subscriber_id, digest.email),
    )
    message_id = digest_message_id(settings, digest.subscription_id, digest.period_key)
    raw = build_message(
        mail_from=settings.mail_from, to=digest.email, subject=rendered.subject, text=rendered.text,
        html=rendered.html, message_id=message_id, date=now,
        unsubscribe_url=link(settings, "unsubscribe", digest.subscriber_id, digest.email),
        list_id=f"NMPA AI Tracker digests <digest.{_id_part(message_id.split('@')[1].rstrip('>'))}>",
    )
    return {
        "subscription_id": digest.subscription_id, "subscriber_id": digest.subscriber_id,
        "period_key": digest.period_key, "kind": "digest", "status": "pending", "message_id": message_id,
        "recipient": digest.email, "subject": rendered.subject, "raw_message": raw.decode("ascii"),
        "sha256": sha256_hex(raw), "item_count": len(digest.entries), "window_start": digest.window_start,
        "window_end": digest.window_end, "attempts": 0, "created_at": now,
    }


@dataclass
class EnqueueResult:
    """What an enqueue did: subscriptions due, digests stored, empty windows (nothing stored)."""

    frequency: str
    period_key: str
    due: int = 0
    queued: int = 0
    empty: int = 0
    digests: list[Digest] = field(default_factory=list, repr=False)


def enqueue_digests(
    sessions: sessionmaker[Session], settings: Settings, frequency: str, now: datetime, *, dry_run: bool = False,
    email: str | None = None,
) -> EnqueueResult:
    """Build, render and store the digests due for `frequency` at `now`; with dry_run nothing is written."""
    with sessions() as session:
        digests = build_due(session, frequency, now, tz=settings.timezone, base_url=settings.public_base_url,
                            email=email)
    key = digests[0].period_key if digests else ""
    result = EnqueueResult(frequency=frequency, period_key=key, due=len(digests), digests=digests)
    full = [d for d in digests if not d.is_empty]
    result.empty = len(digests) - len(full)
    if dry_run:
        result.queued = len(full)
        return result
    # Subscribers who get the same items share one rendering (many people pick the same filters).
    same_items: dict[tuple, list[Digest]] = {}
    for digest in full:
        same_items.setdefault(digest.entries, []).append(digest)
    rows: list[dict] = []
    for group in same_items.values():
        shared = render_shared(group[0], site_url=settings.public_base_url)
        for digest in group:
            rows.append(digest_row(settings, digest, now, shared))
            if len(rows) >= CHUNK:
                result.queued += _store(sessions, rows)
                rows = []
    result.queued += _store(sessions, rows)
    return result


def _store(sessions: sessionmaker[Session], rows: list[dict]) -> int:
    """Insert outbox rows, skipping any (subscription, period) already there; returns how many were new."""
    if not rows:
        return 0
    with sessions.begin() as session:
        stmt = insert_for(session, Outbox.__table__).on_conflict_do_nothing(
            index_elements=["subscription_id", "period_key"]).returning(Outbox.__table__.c.id)
        return len(session.execute(stmt, rows).all())


def queue_confirmation(session: Session, settings: Settings, subscriber: Subscriber, subscription_id: int,
                       wording: str, now: datetime) -> Outbox | None:
    """Store the double opt-in email for a pending subscriber (sent by the next outbox run).

    Returns None when one was queued less than 10 minutes ago: a form cannot be used to flood an address.
    """
    recent = session.execute(
        select(Outbox.id).where(Outbox.subscriber_id == subscriber.id, Outbox.kind == "confirm",
                                Outbox.created_at >= now - CONFIRM_RESEND_AFTER).limit(1)
    ).scalar_one_or_none()
    if recent is not None:
        return None
    key = f"confirm:{now:%Y%m%dT%H%M%S%f}"
    message_id = make_message_id(f"confirm.{_id_part(key)}.u{subscriber.id}", settings.mail_from)
    rendered = render_confirm(email=subscriber.email, site_url=settings.public_base_url, wording=wording,
                              confirm_url=link(settings, "confirm", subscriber.id, subscriber.email))
    raw = build_message(mail_from=settings.mail_from, to=subscriber.email, subject=rendered.subject,
                        text=rendered.text, html=rendered.html, message_id=message_id, date=now)
    row = Outbox(subscription_id=subscription_id, subscriber_id=subscriber.id, period_key=key, kind="confirm",
                 status="pending", message_id=message_id, recipient=subscriber.email, subject=rendered.subject,
                 raw_message=raw.decode("ascii"), sha256=sha256_hex(raw), item_count=0, attempts=0, created_at=now)
    session.add(row)
    session.flush()
    return row


@dataclass
class SendResult:
    """What a send run did."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    cancelled: int = 0
    resent_after_crash: int = 0
    skipped_locked: bool = False
    stopped_early: str | None = None


def send_pending(
    sessions: sessionmaker[Session], settings: Settings, *, now: Clock, mailer: Mailer | None = None,
    limit: int | None = None, should_stop: Callable[[], bool] = lambda: False,
) -> SendResult:
    """Send every due outbox row once. Returns at once (skipped_locked) if another sender is running."""
    result = SendResult()
    lock = ProcessLock(settings, "outbox")
    if not lock.try_acquire():
        result.skipped_locked = True
        return result
    own_mailer = mailer is None
    mailer = mailer or Mailer.from_url(settings.smtp_url)
    try:
        result.resent_after_crash = _recover_sending(sessions)
        _send_loop(sessions, settings, mailer, now, limit, should_stop, result)
    finally:
        if own_mailer:
            mailer.close()
        lock.release()
    return result


def _recover_sending(sessions: sessionmaker[Session]) -> int:
    # We hold the outbox lock, so no live sender owns a `sending` row: its sender died mid-send.
    with sessions.begin() as session:
        count = session.execute(
            update(Outbox).where(Outbox.status == "sending").values(
                status="pending", next_attempt_at=None,
                last_error="the sender stopped during SMTP; sent again with the same Message-ID")
        ).rowcount or 0
    if count:
        log.warning("outbox: %d message(s) may have been delivered before a crash; re-sending them with the same "
                    "Message-ID", count)
    return count


_T = Outbox.__table__
# Core statements, compiled once: the loop runs one short transaction per message.
_CLAIM = update(_T).where(_T.c.id == bindparam("row_id"), _T.c.status == "pending").values(
    status="sending", attempts=_T.c.attempts + 1)
_SENT = update(_T).where(_T.c.id == bindparam("row_id")).values(
    status="sent", sent_at=bindparam("when"), next_attempt_at=None)


def _send_loop(sessions, settings, mailer, now: Clock, limit, should_stop, result: SendResult) -> None:
    engine = sessions.kw["bind"]
    sender = sender_address(settings.mail_from)
    last_id = 0
    sent: dict | None = None  # the row just accepted by SMTP, marked `sent` in the same commit as the next claim
    try:
        while True:
            with sessions() as session:
                batch = session.execute(
                    select(Outbox.id, Outbox.recipient, Outbox.raw_message, Outbox.kind, Outbox.attempts,
                           Subscriber.status)
                    .join(Subscriber, Subscriber.id == Outbox.subscriber_id)
                    .where(Outbox.status == "pending", Outbox.id > last_id,
                           or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now()))
                    .order_by(Outbox.id).limit(200)
                ).all()
            if not batch:
                return
            for row_id, recipient, raw, kind, attempts, subscriber_status in batch:
                last_id = row_id
                if should_stop():
                    result.stopped_early = "asked to stop"
                    return
                if limit is not None and result.sent >= limit:
                    result.stopped_early = "limit reached"
                    return
                if kind == "digest" and subscriber_status != "active":
                    _finish(sessions, row_id, status="cancelled", error=f"subscriber is {subscriber_status}")
                    result.cancelled += 1
                    continue
                with engine.begin() as conn:
                    if sent is not None:
                        conn.execute(_SENT, sent)
                        sent = None
                    claimed = conn.execute(_CLAIM, {"row_id": row_id}).rowcount == 1
                if not claimed:
                    continue
                try:
                    mailer.send(raw.encode("ascii"), sender, [recipient])
                except PermanentFailure as exc:
                    _finish(sessions, row_id, status="failed", error=str(exc))
                    result.failed += 1
                    continue
                except TemporaryFailure as exc:
                    tries = attempts + 1
                    if tries >= MAX_ATTEMPTS:
                        _finish(sessions, row_id, status="failed", error=f"gave up after {tries} tries: {exc}")
                        result.failed += 1
                    else:
                        _finish(sessions, row_id, status="pending", error=str(exc),
                                retry_at=now() + backoff(tries))
                        result.retry += 1
                    if exc.code is None:
                        # The server is unreachable: every other row would fail the same way right now.
                        result.stopped_early = f"SMTP unavailable: {exc}"
                        return
                    continue
                sent = {"row_id": row_id, "when": now()}
                result.sent += 1
    finally:
        if sent is not None:
            with engine.begin() as conn:
                conn.execute(_SENT, sent)


def _finish(sessions: sessionmaker[Session], row_id: int, *, status: str, error: str | None = None,
            sent_at: datetime | None = None, retry_at: datetime | None = None) -> None:
    values: dict = {"status": status, "next_attempt_at": retry_at}
    if error is not None:
        values["last_error"] = error[:2000]
    if sent_at is not None:
        values["sent_at"] = sent_at
    with sessions.begin() as session:
        session.execute(update(Outbox).where(Outbox.id == row_id).values(**values))
