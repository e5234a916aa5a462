"""The chat outbox against the stand-ins' faults: 5xx and timeouts are retried with back-off, 429 waits for
Retry-After, a 200 with an error code is a failure, tries are bounded, a second enqueue adds nothing, and a crash
between posting and committing re-posts with the same delivery id (the receiver sees one distinct delivery)."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tracker.dev.chatsinks import Fault
from tracker.notify.channels import add_channel
from tracker.notify.outbox import MAX_ATTEMPTS, Message, enqueue, send_pending
from tracker.store.models import Channel, Delivery


def _channel(sessions, clock, name, kind, url, secret=None) -> int:
    with sessions.begin() as session:
        return add_channel(session, name=name, kind=kind, url=url, secret=secret, actor="test", now=clock())[0].id


def _payload(text="肺结节CT图像辅助检测软件"):
    return {"lang": "zh", "headline": f"新注册证：{text}", "watch": "w", "count": 1, "more_url": None,
            "items": [{"label": "新注册证", "title": text, "company": "某公司", "ref": "国械注准20263219999",
                       "areas": "医学影像", "date": "2026-11-19", "url": "https://t.example/devices/1",
                       "sample": True}]}


def _queue(sessions, clock, channel_id, *keys):
    with sessions.begin() as session:
        return enqueue(session, [Message(channel_id, k, _payload()) for k in keys], clock())


def _rows(sessions):
    with sessions() as session:
        return session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


@pytest.fixture
def client():
    with httpx.Client(timeout=0.5) as c:
        yield c


def test_enqueue_twice_adds_nothing(sessions, clock, chats):
    cid = _channel(sessions, clock, "s", "slack", chats.slack_url("T/B/X"))
    assert _queue(sessions, clock, cid, "device:1:new", "device:2:new") == 2
    assert _queue(sessions, clock, cid, "device:1:new", "device:2:new") == 0


def test_5xx_and_timeout_are_retried_with_backoff_then_delivered(sessions, settings, clock, chats, client):
    cid = _channel(sessions, clock, "w", "wecom", chats.wecom_url("k"))
    chats.fail("wecom:k", Fault(status=502), Fault(hold=1.0))
    _queue(sessions, clock, cid, "a")
    first = send_pending(sessions, settings, now=clock, client=client)
    assert (first.sent, first.retry) == (0, 1)
    [row] = _rows(sessions)
    assert row.status == "pending" and "HTTP 502" in row.answer and row.next_attempt_at == clock() + timedelta(seconds=30)
    assert send_pending(sessions, settings, now=clock, client=client).retry == 0   # not due yet
    clock.advance(seconds=30)
    second = send_pending(sessions, settings, now=clock, client=client)
    assert second.retry == 1 and "timed out" in _rows(sessions)[0].answer
    assert _rows(sessions)[0].next_attempt_at == clock() + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert send_pending(sessions, settings, now=clock, client=client).sent == 1
    [row] = _rows(sessions)
    assert row.status == "sent" and row.attempts == 3 and len(chats.messages("wecom:k")) == 1


def test_429_waits_for_retry_after_and_pauses_the_channel(sessions, settings, clock, chats, client):
    cid = _channel(sessions, clock, "s", "slack", chats.slack_url("T/B/X"))
    chats.fail("slack:T/B/X", Fault(status=429, retry_after="600"))
    _queue(sessions, clock, cid, "a", "b", "c")
    result = send_pending(sessions, settings, now=clock, client=client)
    assert (result.sent, result.retry) == (0, 1)   # b and c were not tried: the channel asked us to wait
    rows = _rows(sessions)
    assert rows[0].next_attempt_at == clock() + timedelta(seconds=600)
    assert [r.status for r in rows] == ["pending"] * 3 and rows[1].attempts == 0
    clock.advance(seconds=600)
    assert send_pending(sessions, settings, now=clock, client=client).sent == 3


@pytest.mark.parametrize("kind, route, code", [("wecom", "wecom:k", 93000), ("dingtalk", "dingtalk:k", 310000),
                                               ("feishu", "feishu:k", 19021)])
def test_an_error_code_in_a_200_answer_is_a_failure(sessions, settings, clock, chats, client, kind, route, code):
    url = {"wecom": chats.wecom_url, "dingtalk": chats.dingtalk_url, "feishu": chats.feishu_url}[kind]("k")
    cid = _channel(sessions, clock, "c", kind, url)
    chats.fail(route, Fault(code=code))
    _queue(sessions, clock, cid, "a")
    result = send_pending(sessions, settings, now=clock, client=client)
    assert result.failed == 1
    [row] = _rows(sessions)
    assert row.status == "failed" and str(code) in row.answer
    with sessions() as session:
        assert session.get(Channel, cid).failures == 1


def test_tries_are_bounded(sessions, settings, clock, chats, client):
    cid = _channel(sessions, clock, "w", "wecom", chats.wecom_url("k"))
    chats.fail("wecom:k", *[Fault(status=503)] * MAX_ATTEMPTS)
    _queue(sessions, clock, cid, "a")
    for _ in range(MAX_ATTEMPTS):
        send_pending(sessions, settings, now=clock, client=client)
        clock.advance(hours=3)
    [row] = _rows(sessions)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.answer.startswith("gave up after 6")
    assert chats.messages("wecom:k") == []


class _DiesAfterPosting(httpx.Client):
    """A client whose process 'dies' right after the platform accepted the n-th post (before `sent` is committed)."""

    def __init__(self, die_at: int):
        super().__init__(timeout=2)
        self.posts, self.die_at = 0, die_at

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        self.posts += 1
        if self.posts == self.die_at:
            raise SystemExit("killed")
        return response


def test_a_crash_between_posting_and_committing_reposts_with_the_same_delivery_id(sessions, settings, clock, chats):
    cid = _channel(sessions, clock, "hook", "webhook", chats.webhook_url("team", "k"), secret="k")
    _queue(sessions, clock, cid, *[f"device:{n}:new" for n in range(5)])
    with pytest.raises(SystemExit), _DiesAfterPosting(die_at=3) as dying:
        send_pending(sessions, settings, now=clock, client=dying)
    statuses = [r.status for r in _rows(sessions)]
    assert statuses == ["sent", "sent", "sending", "pending", "pending"]
    result = send_pending(sessions, settings, now=clock)
    assert result.resent_after_crash == 1 and result.sent == 3
    ids = [m.headers["X-Tracker-Delivery"] for m in chats.messages("webhook:team")]
    assert len(ids) == 6 and len(set(ids)) == 5          # one re-post, of the same delivery id
    assert {r.uid for r in _rows(sessions)} == set(ids)


def test_a_channel_failing_three_runs_in_a_row_alerts_the_administrators_once(sessions, mail_settings, clock,
                                                                            chats, client, sink):
    from tracker.notify.health import check_channels

    cid = _channel(sessions, clock, "w", "wecom", chats.wecom_url("k"))
    chats.fail("wecom:k", *[Fault(status=503)] * 3)
    _queue(sessions, clock, cid, "a")
    changes = []
    for _ in range(3):
        send_pending(sessions, mail_settings, now=clock, client=client)
        changes.append(check_channels(sessions, mail_settings, clock()))
        clock.advance(hours=3)
    assert [len(c) for c in changes] == [0, 0, 1] and changes[2][0].state == "alerting"
    assert check_channels(sessions, mail_settings, clock()) == []      # told once
    [alert] = sink.messages()
    assert "keeps failing" in alert["Subject"] and "HTTP 503" in alert.get_content() and "key=k" not in str(alert)
    assert send_pending(sessions, mail_settings, now=clock, client=client).sent == 1
    [change] = check_channels(sessions, mail_settings, clock())
    assert change.state == "healthy" and change.notified == ("ops@example.org",)
    assert "works again" in sink.messages()[-1]["Subject"]
