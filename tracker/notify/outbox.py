"""The chat outbox: every message is stored as a `delivery` row before it is posted, then posted once.

Enqueue inserts one row per (channel, event key) with INSERT … ON CONFLICT DO NOTHING: a second fan-out of the same
window, from this process or another, adds nothing, so a team never gets an event twice from a re-run.

Send: one sender at a time (the `notify-outbox` ProcessLock). Each row is claimed (`pending` → `sending`, committed
together with the previous row's `sent`), posted, and marked `sent`. Temporary failures (5xx, 429, timeouts, a
platform's rate-limit code) go back to `pending` with exponential back-off, or the platform's Retry-After when it is
longer; after MAX_ATTEMPTS tries, or at once on a permanent failure, the row is `failed` with the platform's answer.
A 429 also pauses the rest of that channel's rows for this run. The one window left is a crash after the platform
accepted a message and before `sent` was committed: the row is still `sending`, and the next run posts it again
with the same X-Tracker-Delivery id (a webhook receiver de-duplicates on it; chat platforms have no such id, so a
chat may show that one message twice — at least once, never zero times).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

import httpx
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tracker.clock import Clock
from tracker.config import Settings
from tracker.notify.kinds import kind
from tracker.notify.transport import TIMEOUT, PermanentFailure, Target, TemporaryFailure
from tracker.store.locks import ProcessLock
from tracker.store.models import Channel, Delivery
from tracker.store.write import insert_for

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
BATCH = 200
LOCK_NAME = "notify-outbox"


def backoff(attempts: int) -> timedelta:
    """Wait after `attempts` failed tries: 30 s, 1 min, 2 min, … at most 2 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


@dataclass(frozen=True)
class Message:
    """A message to enqueue: for which channel, as which event, from which watch (None: a test message)."""

    channel_id: int
    event_key: str
    payload: dict[str, Any]
    watch_id: int | None = None


def enqueue(session: Session, messages: Iterable[Message], now: datetime) -> int:
    """Store the messages in the caller's transaction, skipping any (channel, event key) already there; returns how
    many rows are new."""
    rows = [{"channel_id": m.channel_id, "watch_id": m.watch_id, "event_key": m.event_key[:160],
             "uid": uuid.uuid4().hex, "payload": m.payload, "status": "pending", "attempts": 0, "created_at": now}
            for m in messages]
    if not rows:
        return 0
    stmt = insert_for(session, Delivery.__table__).on_conflict_do_nothing(
        index_elements=["channel_id", "event_key"]).returning(Delivery.__table__.c.id)
    return len(session.execute(stmt, rows).all())


@dataclass
class SendResult:
    """What one send run did."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    resent_after_crash: int = 0
    skipped_locked: bool = False
    stopped_early: str | None = None
    failed_channels: set[int] = field(default_factory=set)
    ok_channels: set[int] = field(default_factory=set)


def send_pending(sessions: sessionmaker[Session], settings: Settings, *, now: Clock,
                 client: httpx.Client | None = None, limit: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False, only: Iterable[int] | None = None) -> SendResult:
    """Post every due delivery once (`only`: just these delivery ids). Returns at once if another sender runs."""
    result = SendResult()
    lock = ProcessLock(settings, LOCK_NAME)
    if not lock.try_acquire():
        result.skipped_locked = True
        return result
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        result.resent_after_crash = _recover_sending(sessions)
        _send_loop(sessions, client, now, limit, should_stop, result, set(only) if only is not None else None)
    finally:
        if own_client:
            client.close()
        lock.release()
    _record_channel_health(sessions, result)
    return result


def _recover_sending(sessions: sessionmaker[Session]) -> int:
    # We hold the lock, so no live sender owns a `sending` row: its sender died between posting and committing.
    with sessions.begin() as session:
        count = session.execute(update(Delivery).where(Delivery.status == "sending").values(
            status="pending", next_attempt_at=None,
            answer="the sender stopped while posting; posted again with the same delivery id")).rowcount or 0
    if count:
        log.warning("notify: %d message(s) may have been posted before a crash; posting them again", count)
    return count


_T = Delivery.__table__
_CLAIM = update(_T).where(_T.c.id == bindparam("row_id"), _T.c.status == "pending").values(
    status="sending", attempts=_T.c.attempts + 1)
_SENT = update(_T).where(_T.c.id == bindparam("row_id")).values(
    status="sent", sent_at=bindparam("when"), next_attempt_at=None, answer=bindparam("answer"))


def _targets(session: Session, ids: set[int]) -> dict[int, Target]:
    rows = session.execute(select(Channel).where(Channel.id.in_(sorted(ids)))).scalars()
    return {c.id: Target(id=c.id, name=c.name, kind=c.kind, url=c.url, secret=c.secret, lang=c.lang)
            for c in rows}


def _send_loop(sessions, client: httpx.Client, now: Clock, limit: int | None, should_stop, result: SendResult,
               only: set[int] | None) -> None:
    # One connection for the claims of the whole run: a pool checkout per delivery was a tenth of its time.
    conn = sessions.kw["bind"].connect()
    last_id = 0
    paused: set[int] = set()  # channels that answered 429 in this run
    targets: dict[int, Target] = {}
    sent: dict | None = None  # the row just delivered: marked `sent` in the same commit as the next claim
    try:
        while True:
            with sessions() as session:
                stmt = (select(Delivery.id, Delivery.channel_id, Delivery.uid, Delivery.payload, Delivery.attempts)
                        .join(Channel, Channel.id == Delivery.channel_id)
                        .where(Delivery.status == "pending", Delivery.id > last_id, Channel.active.is_(True),
                               or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now()))
                        .order_by(Delivery.id).limit(BATCH))
                if only is not None:
                    stmt = stmt.where(Delivery.id.in_(sorted(only)))
                batch = session.execute(stmt).all()
                missing = {r.channel_id for r in batch} - targets.keys()
                if missing:
                    targets.update(_targets(session, missing))
            if not batch:
                return
            for row_id, channel_id, uid, payload, attempts in batch:
                last_id = row_id
                if should_stop():
                    result.stopped_early = "asked to stop"
                    return
                if limit is not None and result.sent >= limit:
                    result.stopped_early = "limit reached"
                    return
                if channel_id in paused:
                    continue
                with conn.begin():
                    if sent is not None:
                        conn.execute(_SENT, sent)
                        sent = None
                    claimed = conn.execute(_CLAIM, {"row_id": row_id}).rowcount == 1
                if not claimed:
                    continue
                target = targets[channel_id]
                try:
                    answer = kind(target.kind).send(client, target, payload, uid, now())
                except PermanentFailure as exc:
                    _finish(sessions, row_id, "failed", f"{exc}: {exc.answer}")
                    result.failed += 1
                    result.failed_channels.add(channel_id)
                    continue
                except TemporaryFailure as exc:
                    tries = attempts + 1
                    if tries >= MAX_ATTEMPTS:
                        _finish(sessions, row_id, "failed", f"gave up after {tries} tries: {exc}: {exc.answer}")
                        result.failed += 1
                        result.failed_channels.add(channel_id)
                    else:
                        wait = backoff(tries)
                        if exc.retry_after is not None:
                            wait = max(wait, timedelta(seconds=exc.retry_after))
                            paused.add(channel_id)
                        _finish(sessions, row_id, "pending", f"{exc}: {exc.answer}", retry_at=now() + wait)
                        result.retry += 1
                        result.failed_channels.add(channel_id)
                    continue
                sent = {"row_id": row_id, "when": now(), "answer": answer[:500]}
                result.sent += 1
                result.ok_channels.add(channel_id)
    finally:
        if sent is not None:
            with conn.begin():
                conn.execute(_SENT, sent)
        conn.close()


def _finish(sessions: sessionmaker[Session], row_id: int, status: str, error: str,
            retry_at: datetime | None = None) -> None:
    with sessions.begin() as session:
        session.execute(update(Delivery).where(Delivery.id == row_id).values(
            status=status, answer=error[:2000], next_attempt_at=retry_at))


def _record_channel_health(sessions: sessionmaker[Session], result: SendResult) -> None:
    """Count, per channel, the send runs in a row that had a failed try and no delivery (tracker.notify.health
    alerts on it); a delivery that reached the platform resets the count."""
    if not (result.failed_channels or result.ok_channels):
        return
    with sessions.begin() as session:
        if result.ok_channels:
            session.execute(update(Channel).where(Channel.id.in_(sorted(result.ok_channels))).values(failures=0))
        bad = result.failed_channels - result.ok_channels
        if bad:
            session.execute(update(Channel).where(Channel.id.in_(sorted(bad))).values(failures=Channel.failures + 1))
