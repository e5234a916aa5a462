"""Source health: one judgement of a source from its runs, shown on the sources page and the dashboard and acted on
by the alert job (tracker.schedule.alerts emails administrators exactly when a source turns `bad`, and again when it
leaves `bad`).

The rule, in order (runs still `running` are not finished; `interrupted` runs were stopped by us, not by the source,
so they say nothing about it and the row rule skips them):

1. bad: the source has had no good (`ok`) run for longer than its own `STALE_AFTER`, counted from its last good run,
   or from its first run when it never had one;
2. bad: its last `BAD_RUNS_IN_ROW` runs that were not interrupted all brought nothing (`empty`, `blocked`, `failed`);
3. warn: it has no finished run yet, or its latest finished run is not `ok` (one bad run is news, not an alarm);
4. ok otherwise.

Only official runs count (fetched from the source's site by the scheduler, `tracker scrape` or `tracker dev`): a
local ingest (`tracker ingest SLUG FILE`, trigger LOCAL_TRIGGER) says something about a file on someone's disk, not
about the site, so the rule never sees it and the sources page lists it apart, marked local.

A source no longer in the registry (it still has runs) is `warn`: nothing schedules it. The reason is a code with
parameters (durations in whole seconds), rendered in the reader's language by `Reason.text`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tracker.clock import as_utc
from tracker.read.lists import runs_select
from tracker.records import SourceModule
from tracker.store.models import RUN_OUTCOMES, RecordSource, ScrapeRun, SourceDocument

__all__ = ["RUN_OUTCOMES", "LOCAL_TRIGGER", "official", "local", "OK", "WARN", "BAD", "LEVELS", "GOOD_OUTCOMES", "FAILED_OUTCOMES", "BAD_RUNS_IN_ROW",
           "RECENT_RUNS", "REASON_TEXTS", "Reason", "Judgement", "judge", "judge_source", "SourceHealth",
           "source_health"]

# RUN_OUTCOMES (tracker.store.models) is re-exported here: web/ reads the vocabulary of runs from tracker.read.
OK, WARN, BAD = "ok", "warn", "bad"
LEVELS = (OK, WARN, BAD)
GOOD_OUTCOMES = ("ok",)
FAILED_OUTCOMES = ("empty", "blocked", "failed")  # finished, and brought nothing: these make a row
BAD_RUNS_IN_ROW = 3
LOCAL_TRIGGER = "ingest"  # ScrapeRun.trigger of a run over local files (tracker.ingest.run.ingest_path)
RECENT_RUNS = 5

# code → (Chinese, English); {age} and {limit} are durations, {runs} a count.
REASON_TEXTS: dict[str, tuple[str, str]] = {
    "ok": ("最近一次运行成功", "the latest run succeeded"),
    "last_run": ("最近一次运行未成功", "the latest run did not succeed"),
    "no_finished_run": ("尚无完成的运行", "no finished run yet"),
    "failing": ("连续 {runs} 次运行未成功", "the last {runs} runs did not succeed"),
    "stale": ("已 {age}没有成功的运行（上限 {limit}）", "no good run for {age} (limit {limit})"),
    "never_ok": ("首次运行至今 {age}，从未成功（上限 {limit}）", "no good run in the {age} since the first run (limit {limit})"),
    "unregistered": ("不在数据源登记表中，不会定时运行", "not in the source registry: never scheduled"),
}
_DURATION_PARAMS = ("age", "limit")


def _duration(seconds: int, lang: str) -> str:
    # Whole days from two days on, else whole hours: "3 天" / "3 days", "5 小时" / "5 hours".
    if seconds >= 2 * 86400:
        n, zh, en = seconds // 86400, "天", "days"
    else:
        n = seconds // 3600
        zh, en = "小时", "hour" if n == 1 else "hours"
    return f"{n} {zh}" if lang == "zh" else f"{n} {en}"


@dataclass(frozen=True)
class Reason:
    """Why a source has its level: a code of REASON_TEXTS and its parameters."""

    code: str
    params: Mapping[str, int] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The reason in `lang` ("zh" or "en")."""
        zh, en = REASON_TEXTS[self.code]
        values = {k: _duration(v, lang) if k in _DURATION_PARAMS else v for k, v in self.params.items()}
        return (zh if lang == "zh" else en).format(**values)

    def stored(self) -> str:
        """The reason as stored (a code with parameters, JSON), never as text in one language."""
        return json.dumps({"code": self.code, **self.params})


@dataclass(frozen=True)
class Judgement:
    """A source's health level and why; `runs` are its latest finished runs (newest first) for a notice."""

    level: str
    reason: Reason
    runs: tuple[ScrapeRun, ...] = ()

    @property
    def is_bad(self) -> bool:
        """Whether administrators are to be alerted about the source."""
        return self.level == BAD


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def judge(*, finished: tuple[ScrapeRun, ...], row: tuple[ScrapeRun, ...], last_good_at: datetime | None,
          first_run_at: datetime | None, stale_after: timedelta, now: datetime) -> Judgement:
    """The rule of this module's docstring, on what `judge_source` reads of a source's runs.

    `finished`: the latest finished runs, newest first; `row`: the latest runs that count for a row (not
    interrupted), newest first, at most BAD_RUNS_IN_ROW; `last_good_at` / `first_run_at`: start of the last `ok`
    run and of the first run of any outcome.
    """
    since = last_good_at or first_run_at
    if since is not None and now - as_utc(since) > stale_after:
        params = {"age": _seconds(now - as_utc(since)), "limit": _seconds(stale_after)}
        return Judgement(BAD, Reason("stale" if last_good_at else "never_ok", params), finished)
    if len(row) >= BAD_RUNS_IN_ROW and all(r.outcome in FAILED_OUTCOMES for r in row[:BAD_RUNS_IN_ROW]):
        return Judgement(BAD, Reason("failing", {"runs": BAD_RUNS_IN_ROW}), finished)
    if not finished:
        return Judgement(WARN, Reason("no_finished_run"), finished)
    if finished[0].outcome not in GOOD_OUTCOMES:
        return Judgement(WARN, Reason("last_run"), finished)
    return Judgement(OK, Reason("ok"), finished)


def official(stmt: Select) -> Select:
    """`stmt` over scrape runs, restricted to official runs (not local ingests)."""
    return stmt.where(ScrapeRun.trigger != LOCAL_TRIGGER)


def local(stmt: Select) -> Select:
    """`stmt` over scrape runs, restricted to local ingests."""
    return stmt.where(ScrapeRun.trigger == LOCAL_TRIGGER)


def judge_source(session: Session, slug: str, stale_after: timedelta, now: datetime) -> Judgement:
    """The health of one source now, from its official run records."""
    finished = tuple(session.execute(
        official(runs_select(slug)).where(ScrapeRun.outcome != "running").limit(BAD_RUNS_IN_ROW)).scalars())
    row = tuple(session.execute(
        official(runs_select(slug)).where(ScrapeRun.outcome.in_(GOOD_OUTCOMES + FAILED_OUTCOMES))
        .limit(BAD_RUNS_IN_ROW)).scalars())
    last_good_at = session.execute(official(select(func.max(ScrapeRun.started_at)).where(
        ScrapeRun.source == slug, ScrapeRun.outcome.in_(GOOD_OUTCOMES)))).scalar_one_or_none()
    first_run_at = session.execute(official(
        select(func.min(ScrapeRun.started_at)).where(ScrapeRun.source == slug))).scalar_one_or_none()
    return judge(finished=finished, row=row, last_good_at=last_good_at, first_run_at=first_run_at,
                 stale_after=stale_after, now=now)



# ---------------------------------------------------------------------------------------------------- the page

@dataclass
class SourceHealth:
    """One source at a glance: its recent official runs, its last good one, its local ingests, counts and health.

    The age of the last good run is counted from its start, as the rule counts it (`judge`): a page that said
    "last good run 9 days ago" beside "no good run for 10 days" would be two rules again."""

    slug: str
    title_zh: str
    title_en: str
    runs: list[ScrapeRun] = field(default_factory=list)
    local_runs: list[ScrapeRun] = field(default_factory=list)
    last_good: ScrapeRun | None = None
    documents: int = 0
    records: int = 0
    level: str = WARN
    reason: Reason = field(default_factory=lambda: Reason("no_finished_run"))

    @property
    def last(self) -> ScrapeRun | None:
        """The most recent run, if any."""
        return self.runs[0] if self.runs else None


def source_health(session: Session, sources: Mapping[str, SourceModule], now: datetime,
                  runs_per_source: int = RECENT_RUNS) -> list[SourceHealth]:
    """Every registered source (and any other that has runs), with its recent runs, counts and health."""
    slugs = list(sources) + sorted(
        s for s in session.execute(select(ScrapeRun.source).distinct()).scalars() if s not in sources)
    docs = dict(session.execute(
        select(SourceDocument.source, func.count()).group_by(SourceDocument.source)).tuples().all())
    linked = (select(SourceDocument.source, RecordSource.entity_type, RecordSource.entity_id)
              .join(RecordSource, RecordSource.document_id == SourceDocument.id).distinct().subquery())
    records = dict(session.execute(
        select(linked.c.source, func.count()).group_by(linked.c.source)).tuples().all())
    out = []
    for slug in slugs:
        module = sources.get(slug)
        health = SourceHealth(slug, module.TITLE_ZH if module else slug, module.TITLE_EN if module else slug,
                              documents=docs.get(slug, 0), records=records.get(slug, 0))
        health.runs = list(session.execute(official(runs_select(slug)).limit(runs_per_source)).scalars())
        health.local_runs = list(session.execute(local(runs_select(slug)).limit(runs_per_source)).scalars())
        health.last_good = session.execute(official(runs_select(slug, "ok")).limit(1)).scalar_one_or_none()
        judgement = (judge_source(session, slug, module.STALE_AFTER, now) if module
                     else Judgement(WARN, Reason("unregistered")))
        health.level, health.reason = judgement.level, judgement.reason
        out.append(health)
    return out
