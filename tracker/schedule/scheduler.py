"""The scheduler process (`tracker schedule`): cron jobs for every source, the digests, the outbox and source health.

Only one scheduler runs at a time (tracker.store.locks: a file lock on SQLite, a PostgreSQL advisory lock otherwise);
a second one waits as a hot standby and takes over when the first dies. Jobs are kept in the database
(APScheduler's SQLAlchemyJobStore, table `apscheduler_jobs`), so after a restart or a take-over a job missed within
its `misfire_grace_time` runs once (coalesce=True) and one missed for longer is skipped to its next time.

A scrape runs in a child process with a time limit: when the limit passes, the child is stopped and its run is
recorded as `failed` ("timed out after N s"); it stores per document in its own transactions (tracker.ingest.run), so
stopping it leaves no partial document. SIGTERM / Ctrl-C stop the scheduler gracefully: running scrapes are told to
stop (their runs end as `interrupted`), then the lock is released.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracker.config import Settings
from tracker.records import SourceModule
from tracker.schedule import jobs, watch_jobs
from tracker.schedule.jobs import Runtime, recover_stuck_runs
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.locks import ProcessLock

log = logging.getLogger("tracker.schedule")

# In settings.timezone (Beijing unless configured), like every source's SCHEDULE: the digests go out before the
# working day; the health check runs hourly.
DIGEST_CRONS = {"immediate": "*/5 * * * *", "daily": "0 8 * * *", "weekly": "10 8 * * mon"}
OTHER_JOBS = {"outbox:flush": "every 1m", "health:check": "15 * * * *"}
# How late a missed job may still run (seconds). A scrape hours late is still useful; a daily digest half a day
# late still covers its window; an immediate digest or an outbox flush is simply done by its next tick.
MISFIRE_GRACE = {"scrape": 2 * 3600, "digest:immediate": 4 * 60, "digest:daily": 12 * 3600,
                 "digest:weekly": 24 * 3600, "outbox:flush": 50, "health:check": 30 * 60}
LEADER_CHECK_SECONDS = 30
STOP_POLL = 0.2  # seconds between the main thread's looks at the stop event (see run_scheduler)


def parse_when(spec: str, tz: str):
    """A trigger from 'every 30s' / 'every 5m' / 'every 2h' or a 5-field crontab line (in `tz`)."""
    spec = spec.strip()
    if spec.startswith("every "):
        amount = spec[6:].strip()
        unit = {"s": "seconds", "m": "minutes", "h": "hours"}.get(amount[-1:])
        if unit is None or not amount[:-1].isdigit() or int(amount[:-1]) <= 0:
            raise ValueError(f"bad interval {spec!r}: use e.g. 'every 30s', 'every 5m', 'every 2h'")
        return IntervalTrigger(**{unit: int(amount[:-1])}, timezone=tz)
    return CronTrigger.from_crontab(spec, timezone=tz)


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its id, what it calls (a textual reference, as stored in the job store) and when."""

    id: str
    func: str
    args: tuple = ()
    when: str = ""
    misfire_grace_time: int = 600


def job_specs(settings: Settings, sources: Iterable[SourceModule],
              overrides: Mapping[str, str] | None = None) -> list[JobSpec]:
    """Every job of the scheduler: a scrape per source on its own SCHEDULE, the digests, the outbox, the health
    check, the team watches. `overrides` (job id → schedule) come from the command line and win over TRACKER_SCHEDULE_<JOB>."""
    overrides = {**settings.schedules, **(overrides or {})}
    specs = [JobSpec(f"scrape:{module.SLUG}", "tracker.schedule.jobs:scrape_job", (module.SLUG,), module.SCHEDULE,
                     MISFIRE_GRACE["scrape"])
             for module in sorted(sources, key=lambda m: m.SLUG)]
    specs += [JobSpec(f"digest:{freq}", "tracker.schedule.jobs:digest_job", (freq,), cron, MISFIRE_GRACE[f"digest:{freq}"])
              for freq, cron in DIGEST_CRONS.items()]
    specs += [JobSpec("outbox:flush", "tracker.schedule.jobs:flush_job", (), OTHER_JOBS["outbox:flush"],
                      MISFIRE_GRACE["outbox:flush"]),
              JobSpec("health:check", "tracker.schedule.jobs:health_job", (), OTHER_JOBS["health:check"],
                      MISFIRE_GRACE["health:check"]),
              JobSpec(watch_jobs.JOB_ID, "tracker.schedule.watch_jobs:watches_job", (), watch_jobs.EVERY,
                      watch_jobs.MISFIRE_GRACE)]
    unknown = set(overrides) - {s.id for s in specs}
    if unknown:
        raise ValueError(f"unknown job id(s) in schedule overrides: {', '.join(sorted(unknown))}")
    return [JobSpec(s.id, s.func, s.args, overrides.get(s.id, s.when), s.misfire_grace_time) for s in specs]


# ---------------------------------------------------------------------------------------------- building it

def make_scheduler(settings: Settings, *, blocking: bool = True) -> tuple[BaseScheduler, SQLAlchemyJobStore]:
    """A scheduler with the persistent job store on the tracker database and the job defaults of this project."""
    store = SQLAlchemyJobStore(engine=make_engine(settings.database_url), tablename="apscheduler_jobs")
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=settings.timezone,
        jobstores={"default": store, "local": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
    )
    return scheduler, store


def sync_jobs(scheduler: BaseScheduler, store: SQLAlchemyJobStore, specs: list[JobSpec], tz: str) -> dict[str, str]:
    """Make the job store hold exactly `specs`, before the scheduler starts; returns {job id: kept|new|changed}.

    A job whose function, arguments and trigger are unchanged keeps its stored next run time: that is what lets a
    run missed while no scheduler was up be caught up (or skipped) by the misfire rules after a restart.
    """
    store.jobs_t.create(store.engine, checkfirst=True)
    stored = {job.id: job for job in store.get_all_jobs()}
    status: dict[str, str] = {}
    for spec in specs:
        # The name records the schedule as written: an interval trigger's own repr carries its creation time.
        name = f"{spec.id} ({spec.when}, {tz})"
        old = stored.pop(spec.id, None)
        kwargs: dict[str, Any] = {}
        same = (old is not None and old.func_ref == spec.func and tuple(old.args) == tuple(spec.args)
                and old.name == name and old.misfire_grace_time == spec.misfire_grace_time)
        if same:
            kwargs["next_run_time"] = old.next_run_time
        status[spec.id] = "kept" if same else "changed" if old is not None else "new"
        scheduler.add_job(spec.func, parse_when(spec.when, tz), args=spec.args, id=spec.id, name=name,
                          replace_existing=True, misfire_grace_time=spec.misfire_grace_time, coalesce=True,
                          max_instances=1, jobstore="default", **kwargs)
    for job_id in stored:
        store.remove_job(job_id)
        status[job_id] = "removed"
    return status


# ---------------------------------------------------------------------------------------------- the process

def run_scheduler(
    settings: Settings, sources: Mapping[str, SourceModule], lookup: Callable[[str], SourceModule], *,
    overrides: Mapping[str, str] | None = None, time_limits: Mapping[str, float] | None = None,
    standby_poll: float = 5.0, stop: threading.Event | None = None,
) -> int:
    """Wait for leadership, then run the jobs until SIGTERM/SIGINT (or `stop`); returns the exit code.

    `sources` is the registry (scrapers.SOURCES); `lookup` finds a scraper by slug in a scrape's child process and
    must pickle (scrapers.source).
    """
    stop = stop or threading.Event()
    specs = job_specs(settings, sources.values(), overrides)  # fail on a bad schedule before waiting for the lock
    for spec in specs:
        parse_when(spec.when, settings.timezone)
    lock = ProcessLock(settings, "scheduler")
    previous = _install_signals(lambda: stop.set())
    try:
        if not lock.acquire(poll=standby_poll, stop=stop,
                            on_wait=lambda: log.info("another scheduler holds the lock; waiting as hot standby "
                                                     "(pid %d)", os.getpid())):
            log.info("stopped while on standby")
            return 0
        log.info("scheduler lock taken (%s, pid %d)", lock.backend, os.getpid())
        engine = make_engine(settings.database_url)
        rt = Runtime(settings=settings, sessions=make_session_factory(engine), sources=sources, lookup=lookup,
                     time_limits=dict(time_limits or {}), stopping=stop)
        jobs.install(rt)
        recover_stuck_runs(rt.sessions, rt.now(), rt.limit_for)
        scheduler, store = make_scheduler(settings, blocking=False)
        for job_id, state in sync_jobs(scheduler, store, specs, settings.timezone).items():
            log.info("job %s: %s", job_id, state)
        scheduler.add_listener(_log_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        lost = threading.Event()
        scheduler.add_job(_check_leader, IntervalTrigger(seconds=LEADER_CHECK_SECONDS), args=(lock, lost, stop),
                          id="leader:check", jobstore="local", misfire_grace_time=LEADER_CHECK_SECONDS)
        if stop.is_set():
            return 0
        scheduler.start()  # in its own thread
        # The main thread waits in short slices. Python runs signal handlers on the main thread only, and when the
        # kernel hands SIGINT/SIGTERM to another thread (a job's), a main thread asleep in one long timed wait (as
        # a BlockingScheduler's is, until the next job: up to a minute) hears it only when that wait ends: Ctrl-C
        # on `make run` then went unheard until `tracker dev` gave up and killed the scheduler.
        while not stop.wait(STOP_POLL):
            pass
        _shutdown(scheduler, rt)
        engine.dispose()
        return 3 if lost.is_set() else 0
    finally:
        jobs.install(None)
        lock.release()
        _restore_signals(previous)
        log.info("scheduler stopped (pid %d)", os.getpid())


def _log_job(event) -> None:
    if event.job_id == "leader:check":
        return
    if event.exception is not None:
        log.error("job %s failed: %s", event.job_id, event.exception)
    else:
        log.info("job %s done: %s", event.job_id, event.retval)


def _check_leader(lock, lost: threading.Event, stop: threading.Event) -> None:
    if not lock.check():
        log.error("the scheduler lock was lost (database connection gone); stopping so a standby can lead")
        lost.set()
        stop.set()


def _shutdown(scheduler: BaseScheduler, rt: Runtime) -> None:
    # Signal handlers only set the event: shutting APScheduler down from inside a handler could re-enter its locks.
    for proc in list(rt.children):
        if proc.is_alive():
            proc.terminate()  # the child turns SIGTERM into SystemExit: its run ends as `interrupted`
    scheduler.shutdown(wait=True)


def _install_signals(on_stop: Callable[[], None]) -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda signum, frame: on_stop())
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
