"""The scheduler's team-notification job: fan the watches' new windows out into the chat outbox, post what is due,
then tell administrators about channels that keep failing. One job does it all so that an event reaches a chat
within a tick of its ingestion."""
from __future__ import annotations

from tracker.notify.health import check_channels
from tracker.notify.outbox import send_pending
from tracker.notify.watches import run_watches
from tracker.schedule.jobs import runtime

JOB_ID = "notify:watches"
EVERY = "every 1m"
MISFIRE_GRACE = 50  # a missed tick is simply done by the next one


def watches_job() -> str:
    """Job notify:watches: run the watches, then post pending chat messages."""
    rt = runtime()
    fan = run_watches(rt.sessions, rt.settings, rt.now())
    sent = send_pending(rt.sessions, rt.settings, now=rt.now, should_stop=rt.stopping.is_set)
    alerts = check_channels(rt.sessions, rt.settings, rt.now())
    return (f"watches={fan.watches} events={fan.events} queued={fan.queued} sent={sent.sent} retry={sent.retry} "
            f"failed={sent.failed} channel-alerts={len(alerts)}")
