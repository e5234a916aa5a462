"""The scheduler: its jobs, misfire behaviour after a restart, the time limit of a scrape, stuck runs, the leader lock
between two real scheduler processes, and graceful shutdown."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from sqlalchemy import select

import scrapers
from tests.mail.mailkit import ROOT, T0, tracker_cmd, tracker_env
from tracker.config import Settings
from tracker.schedule import jobs as schedjobs
from tracker.schedule.jobs import Runtime, recover_stuck_runs, run_scrape, time_limit
from tracker.schedule.scheduler import job_specs, make_scheduler, parse_when, sync_jobs
from tracker.store.locks import ProcessLock
from tracker.store.models import ScrapeRun, SourceDocument


@pytest.fixture
def sqlite_settings(tmp_path, sqlite_template) -> Settings:
    """SQLite-only settings, for the slow process tests whose subject is not the database."""
    path = tmp_path / "tracker.sqlite3"
    shutil.copy(sqlite_template, path)
    return Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{path}", secret_key="test-secret")


def test_every_source_and_digest_has_a_job_with_explicit_misfire_rules(settings):
    specs = {s.id: s for s in job_specs(settings, scrapers.SOURCES.values())}
    assert {f"scrape:{slug}" for slug in scrapers.SOURCES} <= set(specs)
    assert {"digest:immediate", "digest:daily", "digest:weekly", "outbox:flush", "health:check"} <= set(specs)
    assert specs["scrape:nmpa_approvals"].when == "0 11,17 * * *"  # the source's own SCHEDULE: twice a day
    assert all(specs[f"scrape:{slug}"].when == m.SCHEDULE for slug, m in scrapers.SOURCES.items())
    assert all(s.misfire_grace_time > 0 for s in specs.values())
    tz = "Asia/Shanghai"
    daily = parse_when(specs["digest:daily"].when, tz)
    after = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing: the next one is tomorrow 08:00
    assert daily.get_next_fire_time(None, after) == datetime(2026, 11, 24, 8, 0, tzinfo=daily.timezone)
    overridden = {s.id: s.when for s in job_specs(settings, [scrapers.udi], {"scrape:udi": "every 6h"})}
    assert overridden["scrape:udi"] == "every 6h"
    from_env = settings.replace(schedules={"scrape:udi": "0 3 * * *", "digest:daily": "0 7 * * *"})
    specs = {s.id: s.when for s in job_specs(from_env, [scrapers.udi])}
    assert specs["scrape:udi"] == "0 3 * * *" and specs["digest:daily"] == "0 7 * * *"
    assert {s.id: s.when for s in job_specs(from_env, [scrapers.udi], {"scrape:udi": "every 6h"})}[
        "scrape:udi"] == "every 6h"  # the command line wins over the environment
    with pytest.raises(ValueError):
        job_specs(settings, [scrapers.udi], {"scrape:nope": "every 1h"})
    with pytest.raises(ValueError):
        parse_when("every 0m", tz)
    scheduler, _ = make_scheduler(settings, blocking=False)
    assert scheduler._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}


def test_misfires_after_a_restart(settings, sessions, monkeypatch):
    """After downtime, a job missed within its grace time runs once (coalesced); one missed longer is skipped."""
    overrides = {"digest:daily": "every 1h", "outbox:flush": "every 1h"}
    specs = [s for s in job_specs(settings, [], overrides) if s.id in overrides]
    first, store = make_scheduler(settings, blocking=False)
    assert set(sync_jobs(first, store, specs, settings.timezone).values()) == {"new"}
    first.start(paused=True)  # writes the jobs to the database
    first.shutdown()
    now = datetime.now(timezone.utc)
    # Then no scheduler ran for a while: daily missed four times (the last time 10 s ago, grace 12 h);
    # the flush missed three times, the last 30 minutes ago (grace 50 s).
    for job_id, missed_since in (("digest:daily", timedelta(hours=3, seconds=10)),
                                 ("outbox:flush", timedelta(hours=2, minutes=30))):
        job = store.lookup_job(job_id)
        job.next_run_time = now - missed_since
        store.update_job(job)

    monkeypatch.setattr(schedjobs, "_RUNTIME", Runtime(settings=settings, sessions=sessions,
                                                       sources=scrapers.SOURCES, lookup=scrapers.source))
    second, store = make_scheduler(settings, blocking=False)
    assert sync_jobs(second, store, specs, settings.timezone) == {"digest:daily": "kept", "outbox:flush": "kept"}
    events: list[tuple[str, int]] = []
    done = threading.Event()

    def record(event):
        events.append((event.job_id, event.code))
        if len(events) >= 2:
            done.set()

    second.add_listener(record, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    second.start()
    try:
        assert done.wait(10), events
        time.sleep(0.3)  # a second (wrong) execution would show up here
    finally:
        second.shutdown()
    assert sorted(events) == [("digest:daily", EVENT_JOB_EXECUTED), ("outbox:flush", EVENT_JOB_MISSED)]
    jobs = {job.id: job for job in store.get_all_jobs()}
    later = datetime.now(timezone.utc)
    assert jobs["digest:daily"].next_run_time - later < timedelta(hours=1)
    assert timedelta(minutes=25) < jobs["outbox:flush"].next_run_time - later <= timedelta(minutes=30)

    # A changed schedule is a new job (its next run computed afresh); a job no longer wanted is removed.
    time.sleep(1.1)  # an interval trigger made a second later must still count as the same schedule
    third, store = make_scheduler(settings, blocking=False)
    changed = [s for s in job_specs(settings, [], {**overrides, "digest:daily": "every 2h"}) if s.id in overrides]
    assert sync_jobs(third, store, changed[:1], settings.timezone) == {"digest:daily": "changed",
                                                                       "outbox:flush": "removed"}


@pytest.fixture
def hanging_server():
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_scrape_past_its_time_limit_is_stopped_and_recorded(settings, sessions, hanging_server):
    settings = settings.replace(source_urls={"udi": hanging_server})
    started = time.monotonic()
    assert run_scrape(settings, sessions, "udi", lookup=scrapers.source, limit=3) == "timed out"
    assert time.monotonic() - started < 3 + schedjobs.STOP_GRACE
    with sessions() as s:
        (run,) = s.execute(select(ScrapeRun)).scalars().all()
        documents = s.execute(select(SourceDocument)).scalars().all()
    assert (run.source, run.trigger, run.outcome) == ("udi", "schedule", "failed")
    assert run.error.startswith("timed out after 3 s") and run.finished_at is not None
    assert documents == []


def never_ready(slug: str):
    """A source lookup that never returns: the child is stopped before it could write its run (a slow start)."""
    time.sleep(60)


def test_a_scrape_stopped_before_it_wrote_its_run_is_still_recorded(settings, sessions):
    assert run_scrape(settings, sessions, "udi", lookup=never_ready, limit=1) == "timed out"
    with sessions() as s:
        (run,) = s.execute(select(ScrapeRun)).scalars().all()
    assert (run.source, run.trigger, run.outcome) == ("udi", "schedule", "failed")
    assert run.error.startswith("timed out after 1 s") and run.finished_at is not None


def test_time_limits_come_from_the_source_unless_overridden(settings):
    sources = scrapers.SOURCES
    assert time_limit(settings, "udi", sources) == scrapers.udi.TIME_LIMIT == 3 * 3600
    assert time_limit(settings, "nmpa_news", sources) == scrapers.nmpa_news.TIME_LIMIT
    from_env = settings.replace(job_time_limits={"udi": 600.0})  # TRACKER_TIME_LIMIT_UDI
    assert time_limit(from_env, "udi", sources) == 600
    assert time_limit(from_env, "udi", sources, {"udi": 60}) == 60  # `tracker schedule --time-limit udi=60`
    # A source no longer registered gets the longest limit of any (its run may still be going).
    assert time_limit(settings, "retired_source", sources) == max(m.TIME_LIMIT for m in sources.values())


def test_runs_stuck_in_running_are_ended_on_startup(sessions):
    with sessions.begin() as s:
        s.add(ScrapeRun(source="udi", trigger="schedule", started_at=T0, outcome="running"))
        s.add(ScrapeRun(source="cmde_guidance", trigger="cli", started_at=T0 + timedelta(minutes=50),
                        outcome="running"))
    assert recover_stuck_runs(sessions, T0 + timedelta(hours=1), lambda source: 1800) == 1
    with sessions() as s:
        runs = {r.source: r for r in s.execute(select(ScrapeRun)).scalars()}
    assert runs["udi"].outcome == "interrupted" and "no end state" in runs["udi"].error
    assert runs["cmde_guidance"].outcome == "running"  # younger than its limit: its process may be alive


class Proc:
    """A `tracker schedule` process whose log lines are collected as they come."""

    def __init__(self, settings: Settings, *args: str):
        self.popen = subprocess.Popen(tracker_cmd("schedule", "--standby-poll", "0.2", *args),
                                      env=tracker_env(settings), cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for(self, text: str, n: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < n:
            assert time.monotonic() < deadline and self.popen.poll() is None, "".join(self.lines)
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def test_only_one_scheduler_runs_jobs_and_a_standby_takes_over(settings):
    every_second = ("--job", "outbox:flush=every 1s")
    leader = Proc(settings, *every_second)
    try:
        leader.wait_for("scheduler lock taken")
        standby = Proc(settings, *every_second)
        try:
            standby.wait_for("waiting as hot standby")
            leader.wait_for("job outbox:flush done", n=2)
            assert standby.count("job outbox:flush done") == 0 and standby.count("lock taken") == 0

            leader.popen.send_signal(signal.SIGKILL)  # the leader dies without any clean-up
            leader.popen.wait(10)
            standby.wait_for("scheduler lock taken")
            standby.wait_for("job outbox:flush done")

            standby.popen.send_signal(signal.SIGTERM)
            assert standby.popen.wait(20) == 0
            assert standby.count("scheduler stopped") == 1
        finally:
            standby.stop()
    finally:
        leader.stop()
    with ProcessLock(settings, "scheduler"):  # released on a clean stop
        pass


def test_sigterm_stops_a_running_scrape_cleanly(sqlite_settings, hanging_server):
    from tracker.store.engine import make_engine, make_session_factory
    from tracker.store.migrate import upgrade

    upgrade(sqlite_settings.database_url)
    env_settings = sqlite_settings
    proc = subprocess.Popen(
        tracker_cmd("schedule", "--job", "scrape:udi=every 1s"), cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=tracker_env(env_settings, TRACKER_SOURCE_UDI_URL=hanging_server))
    engine = make_engine(sqlite_settings.database_url)
    sessions = make_session_factory(engine)
    try:
        deadline = time.monotonic() + 20
        while True:
            with sessions() as s:
                if s.execute(select(ScrapeRun).where(ScrapeRun.outcome == "running")).first():
                    break
            assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, proc.stdout.read()
        with sessions() as s:
            runs = s.execute(select(ScrapeRun)).scalars().all()
        assert [(r.source, r.outcome) for r in runs] == [("udi", "interrupted")]
        assert runs[0].finished_at is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()


# A `tracker schedule` whose SIGINT lands on a thread other than the main one (as the kernel may choose when a job's
# thread exists): a poker thread signals itself once the scheduler is up.
_POKED = """
import signal, sys, threading, time
from tracker.cli.main import main
def poke():
    time.sleep(float(sys.argv[1]))
    print("poke", flush=True)
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)
threading.Thread(target=poke, daemon=True).start()
sys.argv = ["tracker", "schedule"]
main()
"""


def test_a_signal_on_another_thread_stops_the_scheduler_at_once(settings):
    import sys

    from tracker.store.migrate import upgrade

    upgrade(settings.database_url)
    proc = subprocess.Popen([sys.executable, "-c", _POKED, "4"], env=tracker_env(settings), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=15)  # the next job is 30-60 s away: that wait must not hide the signal
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "scheduler lock taken" in out.split("poke")[0] and "scheduler stopped" in out
