"""`tracker digest preview EMAIL` and `tracker digest send [--dry-run]` through the real command line."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.mail.mailkit import BASE_URL, add_device, add_subscriber
from tracker.cli.main import main
from tracker.store.models import Outbox


@pytest.fixture
def cli(mail_settings, monkeypatch):
    for name, value in {"TRACKER_DATABASE_URL": mail_settings.database_url,
                        "TRACKER_VAR_DIR": str(mail_settings.var_dir), "TRACKER_SMTP_URL": mail_settings.smtp_url,
                        "TRACKER_PUBLIC_BASE_URL": BASE_URL, "TRACKER_MAIL_FROM": mail_settings.mail_from}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def reader(sessions):
    # The command uses the real clock, so the data is placed relative to it (whatever the machine's date).
    start = datetime.now(timezone.utc) - timedelta(days=2)
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=start + timedelta(hours=1), areas=["medical_imaging"])
        add_subscriber(s, "reader@example.org", created=start)


def outbox_rows(sessions) -> int:
    with sessions() as s:
        return s.execute(select(func.count()).select_from(Outbox)).scalar_one()


def test_preview_prints_the_digest_and_stores_nothing(cli, sessions, reader, sink):
    result = cli("digest", "preview", "reader@example.org")
    assert result.exit_code == 0
    assert "Subject: [NMPA AI 追踪] 每日摘要 Daily digest" in result.output
    assert "肺结节CT图像辅助检测软件" in result.output and f"{BASE_URL}/devices/" in result.output
    html = cli("digest", "preview", "reader@example.org", "--html")
    assert '<a href="https://tracker.example.org/devices/' in html.stdout
    assert html.stdout.lstrip().lower().startswith("<!doctype html") and html.stdout.rstrip().endswith("</html>")
    assert "Subject: " in html.stderr and "Subject: " not in html.stdout
    assert outbox_rows(sessions) == 0 and sink.messages() == []
    assert cli("digest", "preview", "nobody@example.org").exit_code == 1


def test_preview_since_a_date_shows_what_came_before_the_subscription(cli, sessions, reader):
    before = datetime.now(timezone.utc) - timedelta(days=5)
    with sessions.begin() as s:
        add_device(s, "糖尿病视网膜病变眼底图像辅助诊断软件", seen=before, areas=["medical_imaging"])
    plain = cli("digest", "preview", "reader@example.org")
    assert "糖尿病视网膜病变" not in plain.output and "肺结节" in plain.output  # seen before the subscription
    since = cli("digest", "preview", "reader@example.org", "--since", f"{before - timedelta(days=1):%Y-%m-%d}")
    assert since.exit_code == 0 and "糖尿病视网膜病变" in since.output and "肺结节" in since.output
    assert outbox_rows(sessions) == 0
    assert cli("digest", "preview", "reader@example.org", "--since", "yesterday").exit_code == 2


def test_send_dry_run_then_send(cli, sessions, reader, sink):
    dry = cli("digest", "send", "--dry-run", "--frequency", "daily")
    assert dry.exit_code == 0 and "would queue=1" in dry.output and "reader@example.org: 1 item(s)" in dry.output
    assert outbox_rows(sessions) == 0 and sink.messages() == []
    sent = cli("digest", "send")
    assert sent.exit_code == 0 and "sent=1" in sent.output
    again = cli("digest", "send")
    assert "sent=0" in again.output
    assert [str(m["To"]) for m in sink.messages()] == ["reader@example.org"]
