"""Source-health alerts: administrators hear once when a source turns bad and once when it recovers, not on every run.

What "bad" means is tracker.read.health's rule, the one the sources page and the dashboard show: an alert goes out
exactly when a source becomes `bad` there, and a recovery notice when it leaves `bad`. The state (`healthy` /
`alerting`) is kept per source in `source_alert` (its reason as a code with parameters); an email goes out only when
that state changes. The email is sent before the new state is committed: if sending fails, the state stays and the
next check tries again (an administrator may get a notice twice after a crash at that exact point, never zero times).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.mail.render import render_alert
from tracker.mail.smtp import Mailer, MailError, build_message, make_message_id, sender_address
from tracker.read.health import Judgement, Reason, judge_source
from tracker.records import SourceModule
from tracker.store.models import SourceAlert

log = logging.getLogger(__name__)
HEALTHY, ALERTING = "healthy", "alerting"


def alert_state(judgement: Judgement) -> str:
    """The alert state a health judgement calls for: alerting exactly when the source is bad."""
    return ALERTING if judgement.is_bad else HEALTHY


def bilingual(reason: Reason) -> str:
    """The reason as the notices write every line: Chinese / English."""
    return f"{reason.text('zh')} / {reason.text('en')}"


@dataclass(frozen=True)
class Transition:
    """A change of a source's alert state (what the administrators were told)."""

    source: str
    state: str
    reason: Reason
    notified: tuple[str, ...]


def check_sources(
    sessions: sessionmaker[Session], settings: Settings, sources: Iterable[SourceModule], now: datetime, *,
    mailer: Mailer | None = None,
) -> list[Transition]:
    """Judge every source; email administrators about each change of state; return the changes."""
    changes: list[Transition] = []
    own_mailer = mailer is None and bool(settings.admin_emails)
    if own_mailer:
        mailer = Mailer.from_url(settings.smtp_url)
    try:
        for module in sources:
            change = _check_one(sessions, settings, module, now, mailer)
            if change is not None:
                changes.append(change)
    finally:
        if own_mailer and mailer is not None:
            mailer.close()
    return changes


def _check_one(sessions, settings: Settings, module: SourceModule, now: datetime,
               mailer: Mailer | None) -> Transition | None:
    source = module.SLUG
    with sessions() as session:
        judgement = judge_source(session, source, module.STALE_AFTER, now)
        row = session.get(SourceAlert, source)
        previous = row.state if row is not None else HEALTHY
        runs = [{"id": r.id, "started_at": r.started_at.isoformat(timespec="minutes"), "outcome": r.outcome,
                 "error": r.error} for r in judgement.runs]
    state = alert_state(judgement)
    if state == previous:
        return None
    notified: tuple[str, ...] = ()
    if settings.admin_emails and mailer is not None:
        rendered = render_alert(source=source, state=state, reason=bilingual(judgement.reason), runs=runs,
                                site_url=settings.public_base_url)
        raw = build_message(
            mail_from=settings.mail_from, to=", ".join(settings.admin_emails), subject=rendered.subject,
            text=rendered.text, html=None, date=now,
            message_id=make_message_id(f"alert.{source}.{state}.{int(now.timestamp())}", settings.mail_from),
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
            session.add(SourceAlert(source=source, state=state, reason=judgement.reason.stored(), changed_at=now))
        else:
            row.state, row.reason, row.changed_at = state, judgement.reason.stored(), now
    log.warning("source %s is now %s: %s", source, state, judgement.reason.text("en"))
    return Transition(source=source, state=state, reason=judgement.reason, notified=notified)
