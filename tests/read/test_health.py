"""tracker.read.health: the reason of a level in both languages, the outcome sets it judges by, and the sources
overview (registered sources first, with their titles; a source no longer registered is not left out)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import scrapers
from tracker.read.health import (
    BAD,
    FAILED_OUTCOMES,
    GOOD_OUTCOMES,
    REASON_TEXTS,
    RUN_OUTCOMES,
    WARN,
    Reason,
    source_health,
)
from tracker.store.models import ScrapeRun

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("reason, zh, en", [
    (Reason("stale", {"age": 10 * 86400 + 3600, "limit": 3 * 86400}),
     "已 10 天没有成功的运行（上限 3 天）", "no good run for 10 days (limit 3 days)"),
    (Reason("never_ok", {"age": 30 * 3600, "limit": 2 * 86400}),
     "首次运行至今 30 小时，从未成功（上限 2 天）", "no good run in the 30 hours since the first run (limit 2 days)"),
    (Reason("failing", {"runs": 3}), "连续 3 次运行未成功", "the last 3 runs did not succeed"),
    (Reason("ok"), "最近一次运行成功", "the latest run succeeded"),
])
def test_a_reason_is_a_code_with_parameters_rendered_per_language(reason, zh, en):
    assert (reason.text("zh"), reason.text("en")) == (zh, en)
    assert reason.stored().startswith(f'{{"code": "{reason.code}"')


def test_every_reason_code_reads_in_both_languages():
    for code, texts in REASON_TEXTS.items():
        assert len(texts) == 2 and all(texts), code


def test_the_outcomes_it_judges_by_are_run_outcomes():
    assert set(GOOD_OUTCOMES) | set(FAILED_OUTCOMES) < set(RUN_OUTCOMES)
    assert not set(GOOD_OUTCOMES) & set(FAILED_OUTCOMES)
    assert {"running", "interrupted"} == set(RUN_OUTCOMES) - set(GOOD_OUTCOMES) - set(FAILED_OUTCOMES)


def test_the_overview_lists_registered_sources_then_others_with_runs(sessions):
    with sessions.begin() as s:
        s.add(ScrapeRun(source="retired", trigger="cli", started_at=NOW - timedelta(hours=1),
                        finished_at=NOW, outcome="ok"))
        s.add(ScrapeRun(source="udi", trigger="schedule", started_at=NOW - timedelta(days=4),
                        finished_at=NOW - timedelta(days=4), outcome="ok"))
    with sessions() as s:
        rows = source_health(s, scrapers.SOURCES, NOW)
    assert [r.slug for r in rows] == [*scrapers.SOURCES, "retired"]
    by_slug = {r.slug: r for r in rows}
    assert by_slug["udi"].title_zh == scrapers.udi.TITLE_ZH and by_slug["udi"].level == BAD  # 4 days > 3
    retired = by_slug["retired"]
    assert (retired.title_en, retired.level, retired.reason.code) == ("retired", WARN, "unregistered")
    assert retired.reason.text("en") == "not in the source registry: never scheduled"


def test_local_ingests_are_listed_apart_and_never_judged_as_the_source(sessions):
    from tracker.read.health import LOCAL_TRIGGER, OK, judge_source

    with sessions.begin() as s:
        s.add(ScrapeRun(source="nmpa_approvals", trigger="schedule", started_at=NOW - timedelta(hours=3),
                        finished_at=NOW - timedelta(hours=3), outcome="ok"))
        for hours in (2, 1.5, 1):  # three failed local ingests in a row: a wrong file, not the site failing
            s.add(ScrapeRun(source="nmpa_approvals", trigger=LOCAL_TRIGGER, started_at=NOW - timedelta(hours=hours),
                            finished_at=NOW - timedelta(hours=hours), outcome="failed", error="layout changed"))
    module = scrapers.SOURCES["nmpa_approvals"]
    with sessions() as s:
        assert judge_source(s, "nmpa_approvals", module.STALE_AFTER, NOW).level == OK
        row = {r.slug: r for r in source_health(s, scrapers.SOURCES, NOW)}["nmpa_approvals"]
    assert row.level == OK and [r.trigger for r in row.runs] == ["schedule"]
    assert [r.outcome for r in row.local_runs] == ["failed"] * 3
