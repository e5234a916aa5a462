"""Exactly-once sending across a crash: a real `tracker digest send` process is SIGKILLed in the middle of a batch
sent to a real SMTP server, then restarted; every subscriber ends up with exactly one digest (one Message-ID)."""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta

import pytest
from mailkit import ROOT, T0, add_device, add_subscriber, by_recipient, run_tracker, tracker_cmd, tracker_env
from sqlalchemy import func, select

from tracker.dev.mailsink import MailSink
from tracker.mail.outbox import enqueue_digests
from tracker.store.models import Outbox

SUBSCRIBERS = 30


@pytest.fixture
def slow_sink(tmp_path):
    """A real SMTP server that takes 25 ms per message, so a batch is long enough to be interrupted."""
    with MailSink(tmp_path / "mail", delay=0.025) as sink:
        yield sink


def test_sigkill_mid_batch_then_restart_sends_each_digest_once(settings, sessions, slow_sink):
    settings = settings.replace(smtp_url=slow_sink.url, mail_from="Tracker <digest@tracker.example.org>",
                                public_base_url="https://tracker.example.org")
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=T0 + timedelta(hours=1), areas=["medical_imaging"])
        for n in range(SUBSCRIBERS):
            add_subscriber(s, f"reader{n:02d}@example.org", created=T0)
    assert enqueue_digests(sessions, settings, "daily", T0 + timedelta(days=1)).queued == SUBSCRIBERS

    sender = subprocess.Popen(tracker_cmd("digest", "send", "--pending-only"), env=tracker_env(settings), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while slow_sink.handler.accepted < 10 and time.monotonic() < deadline and sender.poll() is None:
        time.sleep(0.01)
    sender.send_signal(signal.SIGKILL)
    sender.wait(10)
    assert sender.returncode == -signal.SIGKILL, "the sender finished before it could be killed"
    with sessions() as s:
        left = s.execute(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")).scalar_one()
    assert 0 < left < SUBSCRIBERS  # killed mid-batch

    finished = run_tracker(settings, "digest", "send", "--pending-only")
    assert finished.returncode == 0, finished.stdout + finished.stderr

    counts = by_recipient(slow_sink.messages())
    assert set(counts) == {f"reader{n:02d}@example.org" for n in range(SUBSCRIBERS)}
    # Exactly one digest per subscriber: one Message-ID each. Only a message the server had accepted when the
    # sender died, before it could record that, may arrive twice, and then with the same Message-ID.
    assert all(len(ids) == 1 for ids in counts.values())
    duplicates = sum(n - 1 for ids in counts.values() for n in ids.values())
    assert duplicates <= 1
    with sessions() as s:
        statuses = s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
    assert dict(statuses) == {"sent": SUBSCRIBERS}
