"""The append-only audit log: one row per action that changes data or settings (who, when, what, why), and its query.

Rows are only ever inserted; the database refuses UPDATE and DELETE on `audit_log` (triggers from migration 0002), so
an entry, once written in a committed transaction, is permanent. Writers call `record()` inside the same transaction as
the change it describes, so a change and its log entry commit or roll back together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.store.models import AuditLog


def record(
    session: Session, *, actor: str, action: str, now: datetime, target_type: str | None = None,
    target_id: str | int | None = None, detail: dict[str, Any] | None = None, reason: str | None = None,
) -> AuditLog:
    """Append one audit entry (flushed, so its id is known); the caller's transaction commits it with the change."""
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    entry = AuditLog(
        at=now, actor=actor, action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), detail=dict(detail or {}), reason=reason,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What to show of the log; every field optional (None = no restriction). `until` is exclusive."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def where(self) -> list:
        """The SQL conditions of this filter."""
        conditions = []
        if self.actor:
            conditions.append(AuditLog.actor == self.actor)
        if self.action:
            # "user" matches every "user.*" action: the UI offers the families as well as exact actions.
            conditions.append((AuditLog.action == self.action) | AuditLog.action.startswith(self.action + ".",
                                                                                              autoescape=True))
        if self.target_type:
            conditions.append(AuditLog.target_type == self.target_type)
        if self.target_id:
            conditions.append(AuditLog.target_id == str(self.target_id))
        if self.since:
            conditions.append(AuditLog.at >= self.since)
        if self.until:
            conditions.append(AuditLog.at < self.until)
        if self.text:
            conditions.append(AuditLog.reason.contains(self.text, autoescape=True))
        return conditions


def query(session: Session, flt: AuditFilter | None = None, *, limit: int = 100, offset: int = 0) -> list[AuditLog]:
    """Log entries matching `flt`, newest first."""
    stmt = select(AuditLog).where(*(flt or AuditFilter()).where())
    stmt = stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    return list(session.execute(stmt).scalars())


def count(session: Session, flt: AuditFilter | None = None) -> int:
    """How many entries match `flt`."""
    stmt = select(func.count()).select_from(AuditLog).where(*(flt or AuditFilter()).where())
    return session.execute(stmt).scalar_one()


def known_actors(session: Session) -> list[str]:
    """Who appears in the log (for the filter's choice list)."""
    return list(session.execute(select(AuditLog.actor).distinct().order_by(AuditLog.actor)).scalars())


def known_actions(session: Session) -> list[str]:
    """The actions present in the log (for the filter's choice list)."""
    return list(session.execute(select(AuditLog.action).distinct().order_by(AuditLog.action)).scalars())
