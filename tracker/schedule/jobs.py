"""What the scheduler's jobs do: one time-limited scrape in a child process, digests, the outbox, source health.

APScheduler keeps jobs in the database by textual reference (``tracker.schedule.jobs:scrape_job``), so a job cannot
close over the objects it needs: `tracker schedule` puts them in the `Runtime` here before it starts, the source
registry among them (the tracker never imports scrapers; the CLI hands them down).

A scrape runs in a child process (a fresh interpreter: no inherited connections or threads), which finds its scraper
through the registry's lookup function (a module does not pickle; a module-level function pickles by reference).
When its time limit passes, the child is stopped (SIGTERM, then SIGKILL) and its run is recorded as `failed` with
"timed out after N s"; tracker.ingest.run stores each document in its own transaction, so a stopped scrape leaves no
partial document. A child whose parent dies ends itself, so no orphan keeps a run `running`; a run left `running`
anyway (a crash of the whole machine) is ended as `interrupted` by `recover_stuck_runs` at the next start or health
check.
"""
from __future__ import annotations

import _thread
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tracker.clock import Clock, utcnow
from tracker.config import Settings
from tracker.ingest.run import run_source
from tracker.mail.outbox import enqueue_digests, send_pending
from tracker.records import SourceModule
from tracker.schedule.alerts import check_sources
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.models import ScrapeRun

log = logging.getLogger("tracker.schedule")

STOP_GRACE = 10.0


def time_limit(settings: Settings, slug: str, sources: Mapping[str, SourceModule],
               overrides: Mapping[str, float] | None = None) -> float:
    """Seconds a scrape of `slug` may run before it is stopped: `overrides` (the command line), then
    TRACKER_TIME_LIMIT_<SLUG>, then the source's own TIME_LIMIT."""
    merged = {**settings.job_time_limits, **(overrides or {})}
    if slug in merged:
        return float(merged[slug])
    if slug in sources:
        return float(sources[slug].TIME_LIMIT)
    # A source no longer registered may still have a run going (started by an older `tracker scrape`): it gets the
    # longest limit any source has before its run is taken for stuck.
    return max((float(m.TIME_LIMIT) for m in sources.values()), default=0.0)


@dataclass
class Runtime:
    """What running jobs need. APScheduler stores jobs by textual reference, so jobs find it here, not in a closure."""

    settings: Settings
    sessions: sessionmaker[Session]
    sources: Mapping[str, SourceModule]  # the registry (scrapers.SOURCES)
    lookup: Callable[[str], SourceModule]  # slug → module that pickles, for the scrape child (scrapers.source)
    time_limits: Mapping[str, float] = field(default_factory=dict)
    children: set = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    now: Clock = utcnow

    def limit_for(self, slug: str) -> float:
        """The time limit of a scrape of `slug` in this process."""
        return time_limit(self.settings, slug, self.sources, self.time_limits)


_RUNTIME: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Hand the jobs what they need (the scheduler process does this once, before it starts)."""
    global _RUNTIME
    _RUNTIME = runtime


def runtime() -> Runtime:
    """The Runtime the scheduler process installed (the jobs of watch_jobs read it too)."""
    if _RUNTIME is None:
        raise RuntimeError("scheduler jobs run only inside `tracker schedule`")
    return _RUNTIME


def scrape_job(slug: str) -> str:
    """Job scrape:<slug>: one run of a source in a child process under its time limit, then its health check."""
    rt = runtime()
    outcome = run_scrape(rt.settings, rt.sessions, slug, lookup=rt.lookup, limit=rt.limit_for(slug),
                         children=rt.children, stopping=rt.stopping, now=rt.now)
    if not rt.stopping.is_set():
        check_sources(rt.sessions, rt.settings, [rt.sources[slug]], rt.now())
    return outcome


def digest_job(frequency: str) -> str:
    """Job digest:<frequency>: enqueue the period's digests, then send what is pending."""
    rt = runtime()
    queued = enqueue_digests(rt.sessions, rt.settings, frequency, rt.now())
    sent = send_pending(rt.sessions, rt.settings, now=rt.now, should_stop=rt.stopping.is_set)
    return (f"{queued.period_key}: due={queued.due} queued={queued.queued} sent={sent.sent} retry={sent.retry} "
            f"failed={sent.failed}")


def flush_job() -> str:
    """Job outbox:flush: send pending mail (opt-in confirmations, retries)."""
    rt = runtime()
    sent = send_pending(rt.sessions, rt.settings, now=rt.now, should_stop=rt.stopping.is_set)
    return f"sent={sent.sent} retry={sent.retry} failed={sent.failed}"


def health_job() -> str:
    """Job health:check: end runs stuck in `running`, then judge every source (staleness alerts)."""
    rt = runtime()
    stuck = recover_stuck_runs(rt.sessions, rt.now(), rt.limit_for)
    changes = check_sources(rt.sessions, rt.settings, rt.sources.values(), rt.now())
    return f"stuck={stuck} changes={len(changes)}"


def recover_stuck_runs(sessions: sessionmaker[Session], now: datetime, limit_for: Callable[[str], float]) -> int:
    """Runs still `running` well past their source's time limit lost their process: mark them `interrupted`."""
    count = 0
    with sessions.begin() as session:
        for run in session.execute(select(ScrapeRun).where(ScrapeRun.outcome == "running")).scalars():
            limit = limit_for(run.source) + 2 * STOP_GRACE
            if now - run.started_at > timedelta(seconds=limit):
                run.outcome = "interrupted"
                run.finished_at = now
                run.error = (f"no end state {int((now - run.started_at).total_seconds())} s after it started: the "
                             "process running it stopped (found by the scheduler)")
                count += 1
    if count:
        log.warning("marked %d stuck run(s) as interrupted", count)
    return count


def run_scrape(
    settings: Settings, sessions: sessionmaker[Session], slug: str, *, lookup: Callable[[str], SourceModule],
    limit: float, children: set | None = None, stopping: threading.Event | None = None, now: Clock = utcnow,
) -> str:
    """Run one source in a child process; stop it after `limit` seconds and record the run as timed out.

    `lookup` finds the scraper of `slug` in the child: it must pickle (a module-level function, e.g. scrapers.source).
    """
    started = now() - timedelta(seconds=1)
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited DB connections or threads
    proc = ctx.Process(target=_scrape_child, args=(settings, lookup, slug, os.getpid()), name=f"scrape:{slug}")
    proc.start()
    if children is not None:
        children.add(proc)
    try:
        proc.join(limit)
        timed_out = proc.is_alive()
        if timed_out:
            _stop(proc)
    finally:
        if children is not None:
            children.discard(proc)
    if stopping is not None and stopping.is_set():
        return "interrupted"
    if timed_out:
        _end_runs(settings, sessions, slug, started, now(), f"timed out after {limit:g} s: the scrape was stopped")
        log.error("scrape:%s timed out after %g s", slug, limit)
        return "timed out"
    if proc.exitcode != 0:
        _end_runs(settings, sessions, slug, started, now(), f"the scrape process died (exit code {proc.exitcode})")
        return f"died ({proc.exitcode})"
    return "done"


def _stop(proc) -> None:
    proc.terminate()
    proc.join(STOP_GRACE)
    if proc.is_alive():
        proc.kill()
        proc.join()


def _end_runs(settings: Settings, sessions: sessionmaker[Session], slug: str, since: datetime, now: datetime,
              error: str) -> None:
    # The child's run is the one of this source it started after we launched it; if SIGTERM got through, it
    # already wrote `interrupted`, which a timeout overrides with the reason. A child stopped or dead before it
    # wrote its run (still starting up on a busy machine) gets one written here, so the failure and its reason are
    # on record and source health sees it.
    with sessions.begin() as session:
        ended = session.execute(
            update(ScrapeRun).where(ScrapeRun.source == slug, ScrapeRun.started_at >= since,
                                    ScrapeRun.outcome.in_(("running", "interrupted")))
            .values(outcome="failed", finished_at=now, error=error)
        ).rowcount
        if not ended:
            session.add(ScrapeRun(source=slug, trigger="schedule", started_at=since + timedelta(seconds=1),
                                  finished_at=now, outcome="failed", error=error, is_sample=settings.sample_mode))


def _raise_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


def watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Interrupt this process's main thread when its parent dies (so an orphaned scrape ends as `interrupted`)."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                _thread.interrupt_main()
                return

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _scrape_child(settings: Settings, lookup: Callable[[str], SourceModule], slug: str, parent_pid: int) -> None:
    signal.signal(signal.SIGTERM, _raise_exit)
    watch_parent(parent_pid)
    engine = make_engine(settings.database_url)
    try:
        result = run_source(settings, make_session_factory(engine), lookup(slug), trigger="schedule")
        print(result.summary(), flush=True)
    finally:
        engine.dispose()
