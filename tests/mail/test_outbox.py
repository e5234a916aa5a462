"""The outbox against a real SMTP server: one message per subscriber and period, RFC 8058 headers, multipart
structure, audit copies, retries with back-off, permanent failures, and re-sending after a crash."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from mailkit import BASE_URL, T0, add_device, add_policy, add_subscriber, by_recipient
from sqlalchemy import select, update

from tracker.dev.mailsink import FolderHandler, free_port
from tracker.mail.outbox import backoff, enqueue_digests, send_pending
from tracker.mail.smtp import Mailer, PermanentFailure, SmtpConfig, TemporaryFailure
from tracker.store.models import Outbox, Subscriber

DAY1 = T0 + timedelta(days=1)


@pytest.fixture
def two_subscribers(sessions):
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=T0 + timedelta(hours=1),
                   areas=["medical_imaging", "medical_imaging.ct"], functions=["detection"])
        add_device(s, "心电图自动分析软件", seen=T0 + timedelta(hours=1), areas=["clinical_decision_support"])
        add_policy(s, "人工智能医疗器械注册审查指导原则", seen=T0 + timedelta(hours=2), doc_type="指导原则",
                   areas=["medical_imaging"])
        add_subscriber(s, "alice@example.org", created=T0)
        add_subscriber(s, "bob@example.com", created=T0, filters={"areas": ["clinical_decision_support"]},
                       policies=False)


def clock(at):
    return lambda: at


def test_each_subscriber_gets_one_digest_per_period(sessions, mail_settings, sink, two_subscribers):
    assert enqueue_digests(sessions, mail_settings, "daily", DAY1).queued == 2
    assert enqueue_digests(sessions, mail_settings, "daily", DAY1 + timedelta(hours=1)).queued == 0
    first = send_pending(sessions, mail_settings, now=clock(DAY1))
    again = send_pending(sessions, mail_settings, now=clock(DAY1 + timedelta(minutes=5)))
    assert (first.sent, again.sent) == (2, 0)
    counts = by_recipient(sink.messages())
    assert {k: sum(v.values()) for k, v in counts.items()} == {"alice@example.org": 1, "bob@example.com": 1}
    with sessions() as s:
        rows = s.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
    assert {r.status for r in rows} == {"sent"} and all(r.sent_at == DAY1 for r in rows)


def test_message_headers_structure_and_audit_copy(sessions, mail_settings, sink, two_subscribers):
    enqueue_digests(sessions, mail_settings, "daily", DAY1)
    send_pending(sessions, mail_settings, now=clock(DAY1))
    msg = next(m for m in sink.messages() if m["To"] == "alice@example.org")
    with sessions() as s:
        row = s.execute(select(Outbox).where(Outbox.recipient == "alice@example.org")).scalar_one()

    # RFC 8058: one HTTPS URI, and the exact One-Click POST header.
    unsubscribe = str(msg["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{BASE_URL}/unsubscribe/") and unsubscribe.endswith(">")
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert str(msg["Message-ID"]) == row.message_id == "<digest.daily.2026.11.21.s1@tracker.example.org>"
    assert "每日摘要" in str(msg["Subject"]) and "Daily digest" in str(msg["Subject"])

    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "器械批准 / Device approvals" in body and "政策文件 / Policies" in body
        assert "医学影像 / Medical imaging" in body  # grouped by application area, bilingual heading
        assert f"{BASE_URL}/subscribe/manage/" in body
    assert f'href="{BASE_URL}/devices/' in html and f"{BASE_URL}/policies/" in text

    # The stored copy is byte for byte what the server received, and its hash is recorded.
    (received,) = [p for p in sink.files() if b"alice@example.org" in p.read_bytes()]
    assert received.read_bytes() == row.raw_message.encode("ascii")
    assert hashlib.sha256(received.read_bytes()).hexdigest() == row.sha256


def test_filters_decide_what_each_subscriber_reads(sessions, mail_settings, sink, two_subscribers):
    enqueue_digests(sessions, mail_settings, "daily", DAY1)
    send_pending(sessions, mail_settings, now=clock(DAY1))
    bodies = {str(m["To"]): m.get_body(("plain",)).get_content() for m in sink.messages()}
    assert "心电图自动分析软件" in bodies["bob@example.com"]
    assert "肺结节CT图像辅助检测软件" not in bodies["bob@example.com"]
    assert "人工智能医疗器械注册审查指导原则" not in bodies["bob@example.com"]
    assert "肺结节CT图像辅助检测软件" in bodies["alice@example.org"]


class FlakyHandler(FolderHandler):
    """Answers the first `failures` DATA commands with `reply`, then accepts."""

    def __init__(self, folder, reply: str, failures: int):
        super().__init__(folder)
        self.reply, self.failures = reply, failures

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.failures > 0:
            self.failures -= 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def flaky(tmp_path, request):
    reply, failures = request.param
    handler = FlakyHandler(tmp_path / "flaky", reply, failures)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", handler
    controller.stop()


@pytest.mark.parametrize("flaky", [("451 4.3.0 try again later", 2)], indirect=True)
def test_temporary_failures_are_retried_with_backoff(sessions, mail_settings, flaky, two_subscribers):
    url, handler = flaky
    settings = mail_settings.replace(smtp_url=url)
    enqueue_digests(sessions, settings, "daily", DAY1)
    first = send_pending(sessions, settings, now=clock(DAY1))
    assert (first.sent, first.retry) == (0, 2)
    with sessions() as s:
        rows = s.execute(select(Outbox)).scalars().all()
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {("pending", 1, DAY1 + backoff(1))}
    assert all("451" in r.last_error for r in rows)
    # Not due yet: nothing is tried.
    early = send_pending(sessions, settings, now=clock(DAY1 + timedelta(seconds=30)))
    assert early.sent == early.retry == 0
    later = send_pending(sessions, settings, now=clock(DAY1 + timedelta(minutes=2)))
    assert later.sent == 2 and handler.accepted == 2
    assert backoff(1) == timedelta(minutes=1) and backoff(3) == timedelta(minutes=4)
    assert backoff(30) == timedelta(hours=6)


@pytest.mark.parametrize("flaky", [("550 5.1.1 mailbox unavailable", 1)], indirect=True)
def test_permanent_failures_are_recorded_and_not_retried(sessions, mail_settings, flaky, two_subscribers):
    url, handler = flaky
    settings = mail_settings.replace(smtp_url=url)
    enqueue_digests(sessions, settings, "daily", DAY1)
    result = send_pending(sessions, settings, now=clock(DAY1))
    assert (result.sent, result.failed) == (1, 1)
    with sessions() as s:
        failed = s.execute(select(Outbox).where(Outbox.status == "failed")).scalar_one()
    assert "550" in failed.last_error
    assert send_pending(sessions, settings, now=clock(DAY1 + timedelta(days=1))).sent == 0


def test_unreachable_server_keeps_rows_pending(sessions, mail_settings, two_subscribers):
    settings = mail_settings.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    enqueue_digests(sessions, settings, "daily", DAY1)
    result = send_pending(sessions, settings, now=clock(DAY1))
    assert result.sent == 0 and result.stopped_early.startswith("SMTP unavailable")
    with sessions() as s:
        assert {r.status for r in s.execute(select(Outbox)).scalars()} == {"pending"}


def test_a_row_caught_mid_send_is_sent_again_with_the_same_message_id(sessions, mail_settings, sink,
                                                                      two_subscribers):
    enqueue_digests(sessions, mail_settings, "daily", DAY1)
    with sessions.begin() as s:
        # What a sender killed after SMTP accepted the message, before it could record that, leaves behind.
        s.execute(update(Outbox).where(Outbox.recipient == "alice@example.org").values(status="sending", attempts=1))
    result = send_pending(sessions, mail_settings, now=clock(DAY1))
    assert (result.sent, result.resent_after_crash) == (2, 1)
    with sessions() as s:
        row = s.execute(select(Outbox).where(Outbox.recipient == "alice@example.org")).scalar_one()
    assert row.status == "sent" and "same Message-ID" in row.last_error
    assert str(next(m for m in sink.messages() if m["To"] == "alice@example.org")["Message-ID"]) == row.message_id


def test_digests_of_people_who_left_are_not_sent(sessions, mail_settings, sink, two_subscribers):
    enqueue_digests(sessions, mail_settings, "daily", DAY1)
    with sessions.begin() as s:
        s.execute(update(Subscriber).where(Subscriber.email == "bob@example.com").values(status="unsubscribed"))
    result = send_pending(sessions, mail_settings, now=clock(DAY1))
    assert (result.sent, result.cancelled) == (1, 1)
    assert [str(m["To"]) for m in sink.messages()] == ["alice@example.org"]


def test_a_second_sender_stands_aside(sessions, mail_settings, two_subscribers):
    from tracker.store.locks import ProcessLock

    with ProcessLock(mail_settings, "outbox"):
        result = send_pending(sessions, mail_settings, now=clock(DAY1))
    assert result.skipped_locked and result.sent == 0


def test_smtp_urls():
    assert SmtpConfig.from_url("smtp://127.0.0.1:8025") == SmtpConfig("127.0.0.1", 8025)
    cfg = SmtpConfig.from_url("smtp+starttls://me%40corp.example:p%2Fw@mail.example.com?timeout=5")
    assert (cfg.security, cfg.port, cfg.username, cfg.password, cfg.timeout) == (
        "starttls", 587, "me@corp.example", "p/w", 5.0)
    assert SmtpConfig.from_url("smtps://u:p@mail.example.com").port == 465
    assert "p/w" not in cfg.redacted()
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail.example.com")


def test_a_refused_connection_is_a_temporary_failure_without_a_reply_code():
    mailer = Mailer(SmtpConfig("127.0.0.1", free_port(), timeout=2))
    with pytest.raises(TemporaryFailure) as caught:
        mailer.send(b"Subject: x\r\n\r\nx\r\n", "a@example.org", ["b@example.org"])
    assert caught.value.code is None and not isinstance(caught.value, PermanentFailure)
