"""Source-health alerts through a real SMTP server: one email when a source turns bad, none while it stays bad, one
when it recovers; and the alert state agrees with the level the sources page shows, over a table of run histories."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import scrapers
from tests.mail.mailkit import T0
from tracker.read.health import BAD, OK, WARN, judge_source, source_health
from tracker.schedule.alerts import ALERTING, HEALTHY, check_sources
from tracker.store.models import ScrapeRun, SourceAlert


def add_run(sessions, source: str, outcome: str, at, error: str | None = None) -> None:
    with sessions.begin() as s:
        s.add(ScrapeRun(source=source, trigger="schedule", started_at=at,
                        finished_at=None if outcome == "running" else at + timedelta(minutes=1),
                        outcome=outcome, error=error))


def test_three_blocked_runs_alert_once_and_recovery_is_announced(sessions, mail_settings, sink):
    source = scrapers.nmpa_approvals
    add_run(sessions, "nmpa_approvals", "ok", T0 - timedelta(hours=12))
    for n in range(2):
        add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=n), "blocked by an anti-bot challenge")
        assert check_sources(sessions, mail_settings, [source], T0 + timedelta(hours=n, minutes=5)) == []
    add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=2), "blocked by an anti-bot challenge")
    (change,) = check_sources(sessions, mail_settings, [source], T0 + timedelta(hours=2, minutes=5))
    assert change.state == ALERTING and change.notified == ("ops@example.org",)
    assert change.reason.code == "failing"
    (alert,) = sink.messages()
    assert alert["To"] == "ops@example.org" and "nmpa_approvals" in str(alert["Subject"])
    text = alert.get_body(("plain",)).get_content()
    assert "连续 3 次运行未成功 / the last 3 runs did not succeed" in text
    assert text.count("blocked: blocked by an anti-bot challenge") == 3  # the runs it judged, with their errors
    with sessions() as s:
        assert s.get(SourceAlert, "nmpa_approvals").reason == '{"code": "failing", "runs": 3}'

    # Still broken: no second email.
    add_run(sessions, "nmpa_approvals", "blocked", T0 + timedelta(hours=3))
    assert check_sources(sessions, mail_settings, [source], T0 + timedelta(hours=3, minutes=5)) == []
    assert len(sink.messages()) == 1

    add_run(sessions, "nmpa_approvals", "ok", T0 + timedelta(hours=4))
    (recovered,) = check_sources(sessions, mail_settings, [source], T0 + timedelta(hours=4, minutes=5))
    assert recovered.state == HEALTHY
    assert len(sink.messages()) == 2 and "已恢复" in str(sink.messages()[1]["Subject"])
    with sessions() as s:
        assert s.get(SourceAlert, "nmpa_approvals").state == HEALTHY


def test_mixed_failures_count_and_a_single_success_breaks_the_row(sessions):
    for n, outcome in enumerate(("failed", "empty", "ok", "failed", "blocked")):
        add_run(sessions, "cmde_guidance", outcome, T0 + timedelta(hours=n))
    with sessions() as s:
        health = judge_source(s, "cmde_guidance", scrapers.cmde_guidance.STALE_AFTER, T0 + timedelta(hours=5))
    assert (health.level, health.reason.code) == (WARN, "last_run")  # blocked, failed, then the ok
    add_run(sessions, "cmde_guidance", "empty", T0 + timedelta(hours=6))
    with sessions() as s:
        health = judge_source(s, "cmde_guidance", scrapers.cmde_guidance.STALE_AFTER, T0 + timedelta(hours=7))
    assert (health.level, health.reason.code) == (BAD, "failing")
    assert [r.outcome for r in health.runs] == ["empty", "blocked", "failed"]


def test_no_good_run_for_longer_than_the_sources_own_threshold(sessions, mail_settings, sink):
    add_run(sessions, "udi", "ok", T0)
    assert scrapers.udi.STALE_AFTER == timedelta(days=3)
    assert check_sources(sessions, mail_settings, [scrapers.udi], T0 + timedelta(days=2)) == []
    (change,) = check_sources(sessions, mail_settings, [scrapers.udi], T0 + timedelta(days=3, hours=1))
    assert change.state == ALERTING and change.reason.code == "stale"
    assert change.reason.text("en") == "no good run for 3 days (limit 3 days)"
    assert len(sink.messages()) == 1


def test_a_source_that_never_worked_alerts_after_its_threshold(sessions):
    add_run(sessions, "govcn_policy", "running", T0)  # still running: not a finished run, but its start counts
    stale = scrapers.govcn_policy.STALE_AFTER
    with sessions() as s:
        assert judge_source(s, "govcn_policy", stale, T0 + timedelta(days=1)).level == WARN
        health = judge_source(s, "govcn_policy", stale, T0 + timedelta(days=8))
    assert (health.level, health.reason.code) == (BAD, "never_ok")


def test_an_unsent_alert_is_tried_again(sessions, mail_settings):
    from tracker.dev.mailsink import free_port

    down = mail_settings.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    for n in range(3):
        add_run(sessions, "udi", "failed", T0 + timedelta(hours=n), "LayoutChanged: no .els-down-con-info")
    assert check_sources(sessions, down, [scrapers.udi], T0 + timedelta(hours=4)) == []
    with sessions() as s:
        assert s.execute(select(SourceAlert)).first() is None  # state unchanged: the next check sends it


# ----------------------------------------------------------------------------- the page and the alert agree

# nmpa_notices may go 7 days without a good run. Each history is (outcome, hours before "now"), newest first, and the
# level the sources page must show with its reason code; the alert job must be alerting exactly when it is bad.
DAY = 24
HISTORIES = {
    "no runs": ([], WARN, "no_finished_run"),
    "fresh ok": ([("ok", 1)], OK, "ok"),
    "stale ok": ([("ok", 8 * DAY)], BAD, "stale"),
    "empty after ok": ([("empty", 1), ("ok", 2)], WARN, "last_run"),
    "three empty": ([("empty", 1), ("empty", 2), ("empty", 3)], BAD, "failing"),
    "one blocked": ([("blocked", 1)], WARN, "last_run"),
    "three blocked after ok": ([("blocked", 1), ("blocked", 2), ("blocked", 3), ("ok", 4)], BAD, "failing"),
    "mixed three": ([("failed", 1), ("empty", 2), ("blocked", 3), ("ok", 4)], BAD, "failing"),
    "two failed after ok": ([("failed", 1), ("failed", 2), ("ok", 3)], WARN, "last_run"),
    "interrupted inside a row": ([("failed", 1), ("interrupted", 2), ("failed", 3), ("failed", 4), ("ok", 5)],
                                 BAD, "failing"),
    "interrupted after ok": ([("interrupted", 1), ("ok", 2)], WARN, "last_run"),
    "three interrupted after ok": ([("interrupted", 1), ("interrupted", 2), ("interrupted", 3), ("ok", 4)],
                                   WARN, "last_run"),
    "interrupted, never ok, stale": ([("interrupted", 8 * DAY)], BAD, "never_ok"),
    "first run running": ([("running", 1)], WARN, "no_finished_run"),
    "running after ok": ([("running", 1), ("ok", 2)], OK, "ok"),
    "ok ends a row": ([("ok", 1), ("failed", 2), ("failed", 3), ("failed", 4)], OK, "ok"),
    "failed, ok still fresh": ([("failed", 1), ("ok", 6 * DAY)], WARN, "last_run"),
    "failed, ok stale": ([("failed", 1), ("ok", 8 * DAY)], BAD, "stale"),
    "empty, never ok, stale": ([("empty", 10 * DAY)], BAD, "never_ok"),
}


@pytest.mark.parametrize("name", list(HISTORIES))
def test_the_page_shows_bad_exactly_when_the_alert_job_alerts(name, settings, sessions):
    history, level, code = HISTORIES[name]
    module = scrapers.nmpa_notices
    assert module.STALE_AFTER == timedelta(days=7)
    for outcome, hours in history:
        add_run(sessions, "nmpa_notices", outcome, T0 - timedelta(hours=hours))
    with sessions() as s:
        (page,) = source_health(s, {"nmpa_notices": module}, T0)
    assert (page.level, page.reason.code) == (level, code)
    changes = check_sources(sessions, settings, [module], T0)  # no administrators: the state changes, no email
    assert [c.state for c in changes] == ([ALERTING] if level == BAD else [])

    # A good run now: the page leaves bad and the alert job announces the recovery, at the same check.
    add_run(sessions, "nmpa_notices", "ok", T0 + timedelta(minutes=5))
    later = T0 + timedelta(minutes=10)
    with sessions() as s:
        (page,) = source_health(s, {"nmpa_notices": module}, later)
    assert page.level == OK
    assert [c.state for c in check_sources(sessions, settings, [module], later)] == (
        [HEALTHY] if level == BAD else [])
