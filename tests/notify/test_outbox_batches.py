"""The chat outbox claims deliveries in batches: a batch cut short (limit, should_stop, a 429, a crash) puts every row
it did not post back to `pending` with its tries untouched, a sender killed outright re-posts exactly the rows it
had not recorded, with the same delivery ids, and runs spanning many batches post each delivery once."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.notify.test_outbox import _channel, _queue, _rows
from tracker.dev.chatsinks import Fault
from tracker.notify import outbox
from tracker.notify.outbox import send_pending


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of three rows, so that a handful of deliveries spans several claims."""
    monkeypatch.setattr(outbox, "BATCH", 3)


def _hook(sessions, clock, chats, name="team"):
    return _channel(sessions, clock, name, "webhook", chats.webhook_url(name, "k"), secret="k")


def _delivery_ids(chats, name="team"):
    return [m.headers["X-Tracker-Delivery"] for m in chats.messages(f"webhook:{name}")]


def test_many_batches_post_every_delivery_once(sessions, settings, clock, chats, small_batches):
    cid = _hook(sessions, clock, chats)
    _queue(sessions, clock, cid, *[f"device:{n}:new" for n in range(8)])
    result = send_pending(sessions, settings, now=clock)
    assert (result.sent, result.stopped_early) == (8, None)
    rows = _rows(sessions)
    assert [r.status for r in rows] == ["sent"] * 8 and [r.attempts for r in rows] == [1] * 8
    assert sorted(_delivery_ids(chats)) == sorted(r.uid for r in rows)
    assert send_pending(sessions, settings, now=clock).sent == 0


@pytest.mark.parametrize("limit", [2, 3, 4])
def test_a_limit_inside_a_batch_returns_the_rest_to_pending(sessions, settings, clock, chats, small_batches, limit):
    cid = _hook(sessions, clock, chats)
    _queue(sessions, clock, cid, *[f"device:{n}:new" for n in range(6)])
    result = send_pending(sessions, settings, now=clock, limit=limit)
    assert (result.sent, result.stopped_early) == (limit, "limit reached")
    rows = _rows(sessions)
    assert [r.status for r in rows] == ["sent"] * limit + ["pending"] * (6 - limit)
    assert [r.attempts for r in rows[limit:]] == [0] * (6 - limit)      # never tried: no try counted
    assert send_pending(sessions, settings, now=clock).sent == 6 - limit
    assert sorted(_delivery_ids(chats)) == sorted(r.uid for r in _rows(sessions))   # six posts, six ids


def test_a_limit_that_is_exactly_the_work_is_not_a_stop(sessions, settings, clock, chats, small_batches):
    cid = _hook(sessions, clock, chats)
    _queue(sessions, clock, cid, "a", "b", "c")
    assert send_pending(sessions, settings, now=clock, limit=3).stopped_early is None


def test_asked_to_stop_inside_a_batch_returns_the_rest_to_pending(sessions, settings, clock, chats):
    cid = _hook(sessions, clock, chats)
    _queue(sessions, clock, cid, *[f"device:{n}:new" for n in range(5)])
    result = send_pending(sessions, settings, now=clock, should_stop=lambda: len(chats.messages("webhook:team")) >= 2)
    assert (result.sent, result.stopped_early) == (2, "asked to stop")
    rows = _rows(sessions)
    assert [r.status for r in rows] == ["sent", "sent", "pending", "pending", "pending"]
    assert [r.attempts for r in rows] == [1, 1, 0, 0, 0]
    assert send_pending(sessions, settings, now=clock).sent == 3
    assert len(set(_delivery_ids(chats))) == len(_delivery_ids(chats)) == 5


def test_a_429_inside_a_batch_pauses_only_that_channel(sessions, settings, clock, chats):
    slow = _channel(sessions, clock, "slow", "slack", chats.slack_url("T/B/X"))
    team = _hook(sessions, clock, chats)
    chats.fail("slack:T/B/X", Fault(status=429, retry_after="600"))
    for key in ("a", "b", "c"):          # the two channels' rows interleave in one batch
        _queue(sessions, clock, slow, key)
        _queue(sessions, clock, team, key)
    result = send_pending(sessions, settings, now=clock)
    assert (result.sent, result.retry) == (3, 1)
    rows = _rows(sessions)
    assert [(r.channel_id, r.status, r.attempts) for r in rows] == [
        (slow, "pending", 1), (team, "sent", 1), (slow, "pending", 0), (team, "sent", 1), (slow, "pending", 0),
        (team, "sent", 1)]
    assert rows[2].next_attempt_at is None and not chats.messages("slack:T/B/X")
    clock.advance(seconds=600)
    assert send_pending(sessions, settings, now=clock).sent == 3 and len(chats.messages("slack:T/B/X")) == 3


_KILLED_SENDER = """
import os, sys
from datetime import datetime
import httpx
from tracker.config import Settings
from tracker.notify import outbox
from tracker.store.engine import make_engine, make_session_factory

class Killed(httpx.Client):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        self.posts = getattr(self, "posts", 0) + 1
        if self.posts == int(sys.argv[3]):
            os._exit(9)          # killed outright: no finally, no commit
        return response

outbox.BATCH = 3
settings = Settings(var_dir=sys.argv[1], database_url=sys.argv[2])
now = datetime.fromisoformat(sys.argv[4])
outbox.send_pending(make_session_factory(make_engine(settings.database_url)), settings, now=lambda: now,
                    client=Killed(timeout=2))
"""


def test_a_sender_killed_mid_batch_reposts_exactly_the_unrecorded_rows_with_the_same_ids(sessions, settings, clock,
                                                                                       chats):
    cid = _hook(sessions, clock, chats)
    _queue(sessions, clock, cid, *[f"device:{n}:new" for n in range(5)])
    # Batches of three: rows 1-3 are recorded as sent when rows 4-5 are claimed; the sender dies after posting row 5.
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_SENDER), str(settings.var_dir),
                             settings.database_url, "5", clock().isoformat()], env={**os.environ}, timeout=60)
    assert killed.returncode == 9
    rows = _rows(sessions)
    assert [r.status for r in rows] == ["sent", "sent", "sent", "sending", "sending"]
    result = send_pending(sessions, settings, now=clock)
    assert (result.resent_after_crash, result.sent) == (2, 2)
    ids = _delivery_ids(chats)
    assert len(ids) == 7 and {u for u in ids if ids.count(u) == 2} == {rows[3].uid, rows[4].uid}
    assert {r.status for r in _rows(sessions)} == {"sent"}
