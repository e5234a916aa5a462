"""Tables of team notifications: chat channels (WeCom, DingTalk, Feishu, Slack, signed webhooks, Apprise URLs),
watches (what a team follows, where it goes) and deliveries (the chat outbox: one row per channel and event).

A channel's `url` and `secret` are credentials: nothing shows them in full after saving (tracker.notify.channels
masks them for pages, the CLI, the audit log and error texts).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.store.models.base import Base


class Channel(Base):
    """A named chat destination. `kind` says how a message is posted (tracker.notify.kinds); `lang` which language
    its messages are written in; `alert_state` whether administrators were told it keeps failing."""

    __tablename__ = "channel"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # deliveries failed in a row
    alert_state: Mapped[str] = mapped_column(String(16), default="healthy")  # healthy | alerting
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Watch(Base):
    """What a team follows (filters as data, the digest subscriptions' dict), how often and into which channels.

    `checked_until` is the end of the last window fanned out: the next run covers [checked_until, now), so an item is
    neither skipped nor announced twice, whatever the schedule did.
    """

    __tablename__ = "watch"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    include_devices: Mapped[bool] = mapped_column(Boolean, default=True)
    include_policies: Mapped[bool] = mapped_column(Boolean, default=True)
    frequency: Mapped[str] = mapped_column(String(16), default="immediate")  # immediate | daily
    # A daily watch's batch goes out on the first run after this local hour (0-23; 0 = the first run of the day).
    daily_hour: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    checked_until: Mapped[datetime]


class WatchChannel(Base):
    """Which channels a watch posts into."""

    __tablename__ = "watch_channel"
    watch_id: Mapped[int] = mapped_column(ForeignKey("watch.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True)


class Delivery(Base):
    """One message for one channel: the chat outbox. Unique per (channel, event key), so an event two watches match
    reaches a channel once, and a second fan-out of the same window inserts nothing.

    `payload` is the message as neutral JSON (tracker.notify.message); each kind turns it into its platform's body at
    send time (signatures carry the time of sending). `uid` is the X-Tracker-Delivery id, the same on every retry.
    """

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("channel_id", "event_key"),
                      Index("ix_delivery_status_next", "status", "next_attempt_at"),
                      # The sender's claims walk pending rows in id order (tracker.notify.outbox._due).
                      Index("ix_delivery_status_id", "status", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), index=True)
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watch.id", ondelete="SET NULL"))
    event_key: Mapped[str] = mapped_column(String(160))
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)  # the platform's last answer, or why it failed
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
