"""Channel-health alerts: administrators hear once when a channel keeps failing and once when it works again, by
email, like the source-health alerts (tracker.schedule.alerts).

A channel is failing when ALERT_AFTER send runs in a row ended with a failed delivery to it and none delivered
(`channel.failures`, kept by the outbox). The notice is sent before the new state is committed: if the mail server is
down, the state stays and the next check tries again (a notice may come twice after a crash, never not at all).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.mail.smtp import Mailer, MailError, build_message, make_message_id, sender_address
from tracker.notify.channels import mask
from tracker.store.models import Channel, Delivery

log = logging.getLogger(__name__)
ALERT_AFTER = 3
HEALTHY, ALERTING = "healthy", "alerting"


@dataclass(frozen=True)
class ChannelChange:
    """A channel whose alert state changed, and who was told."""

    name: str
    state: str
    notified: tuple[str, ...]


def _notice(settings: Settings, channel: Channel, state: str, answer: str, now: datetime) -> bytes:
    if state == ALERTING:
        subject = f"[NMPA AI 追踪] 频道 {channel.name} 持续发送失败 / channel {channel.name} keeps failing"
        lines = [f"频道 {channel.name}（{channel.kind}，{mask(channel.url)}）连续 {channel.failures} 次发送失败。",
                 f"Channel {channel.name} ({channel.kind}, {mask(channel.url)}) failed {channel.failures} runs in a "
                 "row.", "", f"平台的回复 / the platform's answer: {answer or '-'}"]
    else:
        subject = f"[NMPA AI 追踪] 频道 {channel.name} 已恢复 / channel {channel.name} works again"
        lines = [f"频道 {channel.name} 又能送达了。", f"Channel {channel.name} delivers again."]
    lines += ["", f"{settings.public_base_url.rstrip('/')}/admin/deliveries?status=failed"]
    return build_message(mail_from=settings.mail_from, to=", ".join(settings.admin_emails), subject=subject,
                         text="\n".join(lines), html=None, date=now,
                         message_id=make_message_id(f"channel.{channel.id}.{state}.{int(now.timestamp())}",
                                                    settings.mail_from))


def check_channels(sessions: sessionmaker[Session], settings: Settings, now: datetime, *,
                   mailer: Mailer | None = None) -> list[ChannelChange]:
    """Move channels between healthy and alerting, emailing the administrators about each change."""
    with sessions() as session:
        due = session.execute(select(Channel).where(or_(
            (Channel.alert_state == HEALTHY) & (Channel.failures >= ALERT_AFTER),
            (Channel.alert_state == ALERTING) & (Channel.failures == 0)))).scalars().all()
        answers = {c.id: session.execute(select(Delivery.answer).where(Delivery.channel_id == c.id,
                                                                       Delivery.status != "sent",
                                                                       Delivery.answer.is_not(None))
                                         .order_by(Delivery.id.desc()).limit(1)).scalar_one_or_none() or ""
                   for c in due}
    changes: list[ChannelChange] = []
    if not due:
        return changes
    own = mailer is None and bool(settings.admin_emails)
    if own:
        mailer = Mailer.from_url(settings.smtp_url)
    try:
        for channel in due:
            state = ALERTING if channel.alert_state == HEALTHY else HEALTHY
            notified: tuple[str, ...] = ()
            if settings.admin_emails and mailer is not None:
                try:
                    mailer.send(_notice(settings, channel, state, answers[channel.id], now),
                                sender_address(settings.mail_from), list(settings.admin_emails))
                except MailError as exc:
                    log.error("channel alert for %s not sent (tried again at the next check): %s", channel.name, exc)
                    continue
                notified = tuple(settings.admin_emails)
            with sessions.begin() as session:
                session.get(Channel, channel.id).alert_state = state
            log.warning("channel %s is now %s", channel.name, state)
            changes.append(ChannelChange(channel.name, state, notified))
    finally:
        if own and mailer is not None:
            mailer.close()
    return changes
