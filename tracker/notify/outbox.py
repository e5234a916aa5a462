"""The chat outbox: every message is stored as a `delivery` row before it is posted, then posted once.

Enqueue inserts one row per (channel, event key) with INSERT … ON CONFLICT DO NOTHING: a second fan-out of the same
window, from this process or another, adds nothing, so a team never gets an event twice from a re-run.

Send: one sender at a time (the `notify-outbox` ProcessLock). Due rows are claimed in batches of up to BATCH
(`pending` → `sending`, one commit), posted one by one, and the whole batch is settled in the commit that claims the
next one: posted rows `sent` (or failed, or back to `pending` to retry), rows not posted (the run hit `limit`, was asked
to stop, or their channel answered 429) back to `pending` as if never claimed. Temporary failures (5xx, 429, timeouts,
a platform's rate-limit code) go back to `pending` with exponential back-off, or the platform's Retry-After when it is
longer; after MAX_ATTEMPTS tries, or at once on a permanent failure, the row is `failed` with the platform's answer.
A 429 also pauses the rest of that channel's rows for this run.

The one window left is a crash after a platform accepted a message and before its batch was settled. A run stopped by
an exception still settles on its way out, so only the row it was posting stays `sending`; a run killed outright
leaves its whole batch `sending`. The next run posts every `sending` row again with the same X-Tracker-Delivery id (a
webhook receiver de-duplicates on it; chat platforms have no such id, so a chat may show up to one batch of messages
twice — at least once, never zero times). BATCH bounds that window; a commit per delivery instead was most of the
outbox's own cost (bench/README.md, chat fan-out).
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
BATCH = 100  # rows per claim: also the most messages a killed sender can leave posted but not marked `sent`
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
            answer="the sender stopped before recording this row; posted again with the same delivery id")).rowcount or 0
    if count:
        log.warning("notify: %d message(s) may have been posted before a crash; posting them again", count)
    return count


_T = Delivery.__table__
# Core statements, compiled once. A claim takes up to BATCH due rows in one commit; the commit that claims the next
# batch also settles this one: each row's outcome (_SETTLE), and the rows not posted back to `pending` (_RELEASE).
_CLAIM = update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True)), _T.c.status == "pending").values(
    status="sending", attempts=_T.c.attempts + 1).returning(_T.c.id)
_SETTLE = update(_T).where(_T.c.id == bindparam("row_id")).values(
    status=bindparam("outcome"), sent_at=bindparam("when"), next_attempt_at=bindparam("retry_at"),
    answer=bindparam("note"))
_RELEASE = update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True)), _T.c.status == "sending").values(
    status="pending", attempts=_T.c.attempts - 1)


@dataclass
class _Batch:
    """The rows of one claim, and the outcome of each row done so far."""

    rows: list = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    posting: int | None = None  # the row being posted: if the run dies now, it may have reached the platform

    def unposted(self) -> list[int]:
        """Rows claimed and never handed to the platform: they go back to `pending` as if never claimed."""
        done = {o["row_id"] for o in self.outcomes} | {self.posting}
        return [r.id for r in self.rows if r.id not in done]

    def settle(self, conn) -> None:
        """Write the outcomes and release the unposted rows (in the caller's transaction)."""
        if self.outcomes:
            conn.execute(_SETTLE, self.outcomes)
        if unposted := self.unposted():
            conn.execute(_RELEASE, {"ids": unposted})


def _due(conn, now: datetime, after: int, paused: set[int], only: set[int] | None):
    stmt = (select(_T.c.id, _T.c.channel_id, _T.c.uid, _T.c.payload, _T.c.attempts)
            .join(Channel.__table__, Channel.__table__.c.id == _T.c.channel_id)
            .where(_T.c.status == "pending", _T.c.id > after, Channel.__table__.c.active.is_(True),
                   or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now))
            .order_by(_T.c.id).limit(BATCH))
    if paused:
        stmt = stmt.where(_T.c.channel_id.not_in(sorted(paused)))
    if only is not None:
        stmt = stmt.where(_T.c.id.in_(sorted(only)))
    return conn.execute(stmt).all()


def _targets(conn, ids: set[int]) -> dict[int, Target]:
    c = Channel.__table__.c
    rows = conn.execute(select(c.id, c.name, c.kind, c.url, c.secret, c.lang).where(c.id.in_(sorted(ids))))
    return {r.id: Target(id=r.id, name=r.name, kind=r.kind, url=r.url, secret=r.secret, lang=r.lang) for r in rows}


def _claim(conn, due: list, targets: dict[int, Target]) -> list:
    """Claim the due rows (those still `pending`), loading the targets of channels not seen yet."""
    if not due:
        return []
    claimed = set(conn.execute(_CLAIM, {"ids": [r.id for r in due]}).scalars())
    rows = [r for r in due if r.id in claimed]
    if missing := {r.channel_id for r in rows} - targets.keys():
        targets.update(_targets(conn, missing))
    return rows


def _send_loop(sessions, client: httpx.Client, now: Clock, limit: int | None, should_stop, result: SendResult,
               only: set[int] | None) -> None:
    # One connection for the whole run, and one commit per batch: a commit per delivery was most of its cost.
    conn = sessions.kw["bind"].connect()
    last_id = 0
    paused: set[int] = set()  # channels that answered 429 in this run
    targets: dict[int, Target] = {}
    batch = _Batch()
    try:
        while True:
            room = BATCH if limit is None else limit - result.sent  # never claim more than the limit lets us post
            with conn.begin():
                batch.settle(conn)
                due = _due(conn, now(), last_id, paused, only)
                fresh = [] if room <= 0 else _claim(conn, due[:room], targets)
            batch = _Batch(rows=fresh)  # only once the commit holds: a rolled-back settle is done again on the way out
            if not due:
                return
            if room <= 0:
                result.stopped_early = "limit reached"
                return
            due = due[:room]
            last_id = due[-1].id
            for row in batch.rows:
                if should_stop():
                    result.stopped_early = "asked to stop"
                    return
                if row.channel_id in paused:
                    continue  # released with the batch: not tried, so not counted as a try
                batch.posting = row.id
                batch.outcomes.append(_post(client, targets[row.channel_id], row, now, paused, result))
                batch.posting = None
    finally:
        # Also on the way out of an exception: what was posted is recorded, what was not goes back to `pending`;
        # only a row caught mid-post stays `sending`, for the next run to post again (see the module docstring).
        with conn.begin():
            batch.settle(conn)
        conn.close()


def _post(client: httpx.Client, target: Target, row, now: Clock, paused: set[int], result: SendResult) -> dict:
    """Post one claimed row and return its outcome (a _SETTLE row); a 429 pauses the channel for the run."""
    outcome = {"row_id": row.id, "outcome": "failed", "when": None, "retry_at": None}
    try:
        answer = kind(target.kind).send(client, target, row.payload, row.uid, now())
    except PermanentFailure as exc:
        result.failed += 1
        result.failed_channels.add(target.id)
        return {**outcome, "note": f"{exc}: {exc.answer}"[:2000]}
    except TemporaryFailure as exc:
        result.failed_channels.add(target.id)
        tries = row.attempts + 1
        if tries >= MAX_ATTEMPTS:
            result.failed += 1
            return {**outcome, "note": f"gave up after {tries} tries: {exc}: {exc.answer}"[:2000]}
        wait = backoff(tries)
        if exc.retry_after is not None:
            wait = max(wait, timedelta(seconds=exc.retry_after))
            paused.add(target.id)
        result.retry += 1
        return {**outcome, "outcome": "pending", "retry_at": now() + wait, "note": f"{exc}: {exc.answer}"[:2000]}
    result.sent += 1
    result.ok_channels.add(target.id)
    return {**outcome, "outcome": "sent", "when": now(), "note": answer[:500]}


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
