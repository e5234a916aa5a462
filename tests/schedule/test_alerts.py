"""Source-health alerts through a real SMTP server: one email when a source breaks, none while it stays broken,
one when it recovers; staleness counts too."""
from __future__ import annotations

from datetime import timedelta

from tests.mail.mailkit import T0, mail_settings, sink  # noqa: F401
from sqlalchemy import select

from tracker.schedule.alerts import check_sources, source_health
from tracker.store.models import ScrapeRun, SourceAlert


def add_run(sessions, source: str, outcome: str, at, error: str | None = None) -> None:
    with sessions.begin() as s:
        s.add(ScrapeRun(source=source, trigger="schedule", started_at=at, finished_at=at + timedelta(minutes=1),
                        outcome=outcome, error=error))


def test_three_blocked_runs_alert_once_and_recovery_is_announced(sessions, mail_settings, sink):
    add_run(sessions, "nmpa_approvals", "ok", T0 - timedelta(hours=12))
    for n in range(2):
        add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=n), "blocked by an anti-bot challenge")
        assert check_sources(sessions, mail_settings, ["nmpa_approvals"], T0 + timedelta(hours=n, minutes=5)) == []
    add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=2), "blocked by an anti-bot challenge")
    (change,) = check_sources(sessions, mail_settings, ["nmpa_approvals"], T0 + timedelta(hours=2, minutes=5))
    assert change.state == "alerting" and change.notified == ("ops@example.org",)
    (alert,) = sink.messages()
    assert alert["To"] == "ops@example.org" and "nmpa_approvals" in str(alert["Subject"])
    text = alert.get_body(("plain",)).get_content()
    assert "blocked, blocked, blocked" in text and "anti-bot" in text

    # Still broken: no second email.
    add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=3))
    assert check_sources(sessions, mail_settings, ["nmpa_approvals"], T0 + timedelta(hours=3, minutes=5)) == []
    assert len(sink.messages()) == 1

    add_run(sessions, "nmpa_approvals", "ok", T0 + timedelta(hours=4))
    (recovered,) = check_sources(sessions, mail_settings, ["nmpa_approvals"], T0 + timedelta(hours=4, minutes=5))
    assert recovered.state == "healthy"
    assert len(sink.messages()) == 2 and "已恢复" in str(sink.messages()[1]["Subject"])
    with sessions() as s:
        assert s.get(SourceAlert, "nmpa_approvals").state == "healthy"


def test_mixed_failures_count_and_a_single_success_breaks_the_row(sessions, mail_settings, sink):
    for n, outcome in enumerate(("failed", "empty", "ok", "failed", "blocked")):
        add_run(sessions, "cmde_guidance", outcome, T0 + timedelta(hours=n))
    with sessions() as s:
        assert source_health(s, "cmde_guidance", T0 + timedelta(hours=5)).state == "healthy"
    add_run(sessions, "cmde_guidance", "empty", T0 + timedelta(hours=6))
    with sessions() as s:
        health = source_health(s, "cmde_guidance", T0 + timedelta(hours=7))
    assert health.state == "alerting" and "empty, blocked, failed" in health.reason


def test_no_good_run_for_longer_than_the_threshold(sessions, mail_settings, sink):
    add_run(sessions, "udi", "ok", T0)
    assert check_sources(sessions, mail_settings, ["udi"], T0 + timedelta(days=2)) == []
    (change,) = check_sources(sessions, mail_settings, ["udi"], T0 + timedelta(days=3, hours=1))
    assert change.state == "alerting" and "no good run since" in change.reason
    assert len(sink.messages()) == 1


def test_a_source_that_never_worked_alerts_after_its_threshold(sessions, mail_settings, sink):
    add_run(sessions, "govcn_policy", "running", T0)  # still running: not counted as a finished run
    with sessions() as s:
        assert source_health(s, "govcn_policy", T0 + timedelta(days=1)).state == "healthy"
        assert source_health(s, "govcn_policy", T0 + timedelta(days=8)).state == "alerting"


def test_an_unsent_alert_is_tried_again(sessions, mail_settings):
    from tracker.dev.mailsink import free_port

    down = mail_settings.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    for n in range(3):
        add_run(sessions, "udi", "failed", T0 + timedelta(hours=n), "LayoutChanged: no .els-down-con-info")
    assert check_sources(sessions, down, ["udi"], T0 + timedelta(hours=4)) == []
    with sessions() as s:
        assert s.execute(select(SourceAlert)).first() is None  # state unchanged: the next check sends it
