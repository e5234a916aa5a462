"""`tracker digest …`: send due digests by hand (or check what would go out), and preview one subscriber's digest."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import click
from sqlalchemy import select

from tracker.cli.state import AppState
from tracker.clock import utcnow
from tracker.mail.digest import FREQUENCIES, DigestBuilder, Due, period_key
from tracker.mail.outbox import enqueue_digests, send_pending
from tracker.mail.render import render_digest
from tracker.mail.tokens import link
from tracker.store.models import Outbox, Subscriber, Subscription


@click.group("digest")
def digest_group() -> None:
    """Email digests for subscribers."""


@digest_group.command("send")
@click.option("--frequency", "frequencies", multiple=True, type=click.Choice(FREQUENCIES),
              help="Only these frequencies (default: all three).")
@click.option("--dry-run", is_flag=True, help="Build and render, print what would be sent; store and send nothing.")
@click.option("--limit", type=int, default=None, help="Send at most this many messages in this run.")
@click.option("--pending-only", is_flag=True, help="Enqueue nothing: only send what is already queued.")
@click.pass_obj
def digest_send(state: AppState, frequencies: tuple[str, ...], dry_run: bool, limit: int | None, pending_only: bool) -> None:
    """Enqueue the digests due now (one per subscription and period, never twice) and send everything pending."""
    settings, sessions = state.settings, state.sessions
    now = utcnow()
    for frequency in () if pending_only else frequencies or FREQUENCIES:
        result = enqueue_digests(sessions, settings, frequency, now, dry_run=dry_run)
        click.echo(f"{frequency:9} {result.period_key or '-':28} due={result.due} "
                   f"{'would queue' if dry_run else 'queued'}={result.queued} empty={result.empty}")
        if dry_run:
            for digest in result.digests:
                if not digest.is_empty:
                    click.echo(f"  {digest.email}: {len(digest.entries)} item(s) since "
                               f"{digest.window_start.isoformat(timespec='minutes')}")
    if dry_run:
        return
    sent = send_pending(sessions, settings, now=utcnow, limit=limit)
    if sent.skipped_locked:
        click.echo("another sender is running; nothing sent by this one")
        return
    click.echo(f"sent={sent.sent} retry={sent.retry} failed={sent.failed} cancelled={sent.cancelled}"
               + (f" re-sent-after-crash={sent.resent_after_crash}" if sent.resent_after_crash else "")
               + (f" (stopped: {sent.stopped_early})" if sent.stopped_early else ""))
    sys.exit(1 if sent.stopped_early and sent.stopped_early.startswith("SMTP") else 0)


@digest_group.command("preview")
@click.argument("email")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default=None,
              help="Which subscription (default: the subscriber's own frequency).")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the plain text.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Start the window at this date (UTC) instead of the last digest or the subscription: e.g. to "
                   "see a full digest of the samples, ingested before anyone could subscribe.")
@click.pass_obj
def digest_preview(state: AppState, email: str, frequency: str | None, as_html: bool, since: datetime | None) -> None:
    """Print the digest EMAIL would get if it were sent now (nothing is stored or sent)."""
    settings = state.settings
    now = utcnow()
    with state.sessions() as session:
        subscriber = session.execute(select(Subscriber).where(Subscriber.email == email)).scalar_one_or_none()
        if subscriber is None:
            raise click.ClickException(f"no subscriber {email}")
        subs = session.execute(select(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                                          Subscription.active.is_(True))).scalars().all()
        subs = [s for s in subs if frequency is None or s.frequency == frequency]
        if not subs:
            raise click.ClickException(f"{email} has no active subscription" + (f" ({frequency})" if frequency else ""))
        for sub in subs:
            last = session.execute(select(Outbox.window_end).where(Outbox.subscription_id == sub.id,
                                                                   Outbox.kind == "digest")
                                   .order_by(Outbox.window_end.desc()).limit(1)).scalar_one_or_none()
            start = since.replace(tzinfo=timezone.utc) if since else last or sub.created_at
            due = Due(subscription=sub, email=subscriber.email, lang=subscriber.lang, window_start=start)
            key = period_key(sub.frequency, now, settings.timezone)
            digest = DigestBuilder(session, base_url=settings.public_base_url, window_end=now).build(
                [due], sub.frequency, key)[0]
            rendered = render_digest(
                digest, site_url=settings.public_base_url,
                manage_url=link(settings, "manage", subscriber.id, subscriber.email),
                unsubscribe_url=link(settings, "unsubscribe", subscriber.id, subscriber.email))
            # With --html the standard output is the document alone (to save or open as it is); the subject and
            # status still reach the person, on standard error.
            click.echo(f"Subject: {rendered.subject}", err=as_html)
            click.echo(f"Status: subscriber {subscriber.status}; window {due.window_start.isoformat(timespec='minutes')}"
                       f" → {now.isoformat(timespec='minutes')}; {len(digest.entries)} item(s)\n", err=as_html)
            click.echo(rendered.html if as_html else rendered.text)
