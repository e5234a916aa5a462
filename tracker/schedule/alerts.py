"""Source-health alerts: administrators hear once when a source breaks and once when it recovers, not on every run.

A source is failing when its last `BAD_RUNS_IN_ROW` finished runs were all blocked, failed or empty, or when it has
had no good (`ok`) run for longer than its threshold (counted from its first run when it never had one). The state
(`healthy` / `alerting`) is kept per source in `source_alert`; an email goes out only when that state changes.
The email is sent before the new state is committed: if sending fails, the state stays and the next check tries
again (an administrator may get a notice twice after a crash at that exact point, never zero times).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.mail.render import render_alert
from tracker.mail.smtp import Mailer, MailError, build_message, make_message_id, sender_address
from tracker.store.models import ScrapeRun, SourceAlert

log = logging.getLogger(__name__)
BAD_OUTCOMES = ("blocked", "failed", "empty")
BAD_RUNS_IN_ROW = 3
# How long a source may go without a good run before someone should look (its schedule plus slack).
STALE_AFTER = {"udi": timedelta(days=3), "nmpa_approvals": timedelta(days=2), "nmpa_news": timedelta(days=3)}
DEFAULT_STALE_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class Health:
    """A source's health right now and why."""

    source: str
    state: str  # healthy | alerting
    reason: str
    runs: tuple[ScrapeRun, ...]


def stale_after(source: str, overrides: Mapping[str, timedelta] | None = None) -> timedelta:
    """The longest a source may go without a good run."""
    return (overrides or {}).get(source) or STALE_AFTER.get(source, DEFAULT_STALE_AFTER)


def source_health(session: Session, source: str, now: datetime, *, bad_in_row: int = BAD_RUNS_IN_ROW,
                  stale: timedelta | None = None) -> Health:
    """Judge one source from its run records."""
    stale = stale or stale_after(source)
    runs = tuple(session.execute(
        select(ScrapeRun).where(ScrapeRun.source == source, ScrapeRun.outcome != "running")
        .order_by(ScrapeRun.started_at.desc(), ScrapeRun.id.desc()).limit(bad_in_row)
    ).scalars())
    if len(runs) >= bad_in_row and all(r.outcome in BAD_OUTCOMES for r in runs):
        outcomes = ", ".join(r.outcome for r in runs)
        return Health(source, "alerting", f"the last {bad_in_row} runs did not succeed ({outcomes}); latest "
                                          f"error: {runs[0].error or '-'}", runs)
    last_ok = session.execute(
        select(func.max(ScrapeRun.started_at)).where(ScrapeRun.source == source, ScrapeRun.outcome == "ok")
    ).scalar_one_or_none()
    if last_ok is not None:
        last_ok = _aware(last_ok)
        if now - last_ok > stale:
            return Health(source, "alerting", f"no good run since {last_ok.isoformat(timespec='minutes')} "
                                              f"(threshold {_human(stale)})", runs)
    else:
        first = session.execute(select(func.min(ScrapeRun.started_at)).where(ScrapeRun.source == source)
                                ).scalar_one_or_none()
        if first is not None and now - _aware(first) > stale:
            return Health(source, "alerting", f"no good run at all since the first run on "
                                              f"{_aware(first).isoformat(timespec='minutes')} "
                                              f"(threshold {_human(stale)})", runs)
    return Health(source, "healthy", "the latest runs succeed", runs)


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


@dataclass(frozen=True)
class Transition:
    """A change of a source's alert state (what the administrators were told)."""

    source: str
    state: str
    reason: str
    notified: tuple[str, ...]


def check_sources(
    sessions: sessionmaker[Session], settings: Settings, sources: Iterable[str], now: datetime, *,
    mailer: Mailer | None = None,
) -> list[Transition]:
    """Judge every source; email administrators about each change of state; return the changes."""
    changes: list[Transition] = []
    own_mailer = mailer is None and bool(settings.admin_emails)
    if own_mailer:
        mailer = Mailer.from_url(settings.smtp_url)
    try:
        for source in sources:
            change = _check_one(sessions, settings, source, now, mailer)
            if change is not None:
                changes.append(change)
    finally:
        if own_mailer and mailer is not None:
            mailer.close()
    return changes


def _check_one(sessions, settings: Settings, source: str, now: datetime, mailer: Mailer | None) -> Transition | None:
    with sessions() as session:
        health = source_health(session, source, now)
        row = session.get(SourceAlert, source)
        previous = row.state if row is not None else "healthy"
        runs = [{"id": r.id, "started_at": r.started_at.isoformat(timespec="minutes"), "outcome": r.outcome,
                 "error": r.error} for r in health.runs]
    if health.state == previous:
        return None
    notified: tuple[str, ...] = ()
    if settings.admin_emails and mailer is not None:
        rendered = render_alert(source=source, state=health.state, reason=health.reason, runs=runs,
                                site_url=settings.public_base_url)
        raw = build_message(
            mail_from=settings.mail_from, to=", ".join(settings.admin_emails), subject=rendered.subject,
            text=rendered.text, html=None, date=now,
            message_id=make_message_id(f"alert.{source}.{health.state}.{int(now.timestamp())}", settings.mail_from),
        )
        try:
            mailer.send(raw, sender_address(settings.mail_from), list(settings.admin_emails))
        except MailError as exc:
            log.error("alert for %s could not be sent (will retry at the next check): %s", source, exc)
            return None
        notified = tuple(settings.admin_emails)
    with sessions.begin() as session:
        row = session.get(SourceAlert, source)
        if row is None:
            session.add(SourceAlert(source=source, state=health.state, reason=health.reason, changed_at=now))
        else:
            row.state, row.reason, row.changed_at = health.state, health.reason, now
    log.warning("source %s is now %s: %s", source, health.state, health.reason)
    return Transition(source=source, state=health.state, reason=health.reason, notified=notified)
