"""Tables of the tracker's own operation: subscribers, their consents and subscriptions, the mail outbox, source
alerts, accounts, login attempts and the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.store.models.base import Base


class Subscriber(Base):
    """An email address that asked for digests; `status` pending until the double opt-in link is followed."""

    __tablename__ = "subscriber"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | active | unsubscribed
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class Consent(Base):
    """Append-only record of what a subscriber agreed to: time, address, the wording shown, IP."""

    __tablename__ = "consent"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # subscribe | confirm | change | unsubscribe
    email: Mapped[str] = mapped_column(String(320))
    wording: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]


class Subscription(Base):
    """What a subscriber wants (filters as data) and how often."""

    __tablename__ = "subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id"), index=True)
    include_devices: Mapped[bool] = mapped_column(Boolean, default=True)
    include_policies: Mapped[bool] = mapped_column(Boolean, default=True)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    frequency: Mapped[str] = mapped_column(String(16), default="daily")  # immediate | daily | weekly
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Outbox(Base):
    """One digest per subscription and period: the unique key makes sending exactly-once across crashes.

    The rendered message (fixed Message-ID) and its sha256 are kept as the audit copy of what was sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("subscription_id", "period_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="digest")  # digest | alert | confirm
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|sent|failed|empty
    message_id: Mapped[str] = mapped_column(String(300))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    raw_message: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SourceAlert(Base):
    """Alerting state per source, so administrators hear once when it breaks and once when it recovers."""

    __tablename__ = "source_alert"
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="healthy")  # healthy | alerting
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime]


class User(Base):
    """An account for the admin side: viewer, reviewer or admin; scrypt password hash.

    `session_version` is part of every login session's id: logout, a password or role change and disabling the
    account raise it, which ends every session opened before (tracker.audit.users.end_sessions).
    """

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginAttempt(Base):
    """Login attempts by address and username, for login throttling (tracker.audit.throttle), shared by all workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_ip_at", "ip", "at"),
                      Index("ix_login_attempt_username_at", "username", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]


class AuditLog(Base):
    """Append-only log of every action that changes data or settings: who, when, what and why."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)


class DataStamp(Base):
    """One row: a counter every committed write raises (tracker.store.stamp), so a cache of pages can tell with one
    read whether anything it kept may be stale."""

    __tablename__ = "data_stamp"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
