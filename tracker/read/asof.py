"""Rebuild a device or policy as it stood at a past moment, from the append-only `revision` table alone.

The store writes one revision per non-empty field when a row is created (old value NULL) and one per field change
after that, so replaying the revisions with ``changed_at <= moment`` in order gives the row as it was then. Values
come back as the text the store wrote (ISO dates, "true"/"false", newline-joined lists). Two fields are not plain
overwrites: each ``udi_di`` revision adds one identifier (a certificate gains DIs, it never swaps them), and
``tags`` holds the whole newline-joined list of effective ``facet:code`` tags after the change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tracker.store.models import Revision

ACCUMULATING_FIELDS = frozenset({"udi_di"})


@dataclass
class AsOf:
    """An entity's state at `moment`: field → text value, plus its DIs and tags as lists."""

    moment: datetime
    fields: dict[str, str | None] = field(default_factory=dict)
    identifiers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    revisions: int = 0
    last_change: datetime | None = None

    @property
    def existed(self) -> bool:
        """False when the store had not seen the entity yet at `moment`."""
        return self.revisions > 0


def end_of_day(day: date, tz: str = "Asia/Shanghai") -> datetime:
    """The last instant of `day` in the time zone `tz` (an "as of 2026-11-20" view includes that whole day)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(tz)) - timedelta(microseconds=1)


def revisions_until(entity_type: str, entity_id: int, moment: datetime) -> Select:
    """The revisions of an entity made at or before `moment`, oldest first (the replay order)."""
    return select(Revision).where(
        Revision.entity_type == entity_type, Revision.entity_id == entity_id, Revision.changed_at <= moment,
    ).order_by(Revision.changed_at, Revision.id)


def replay(revisions: Iterable[Revision], moment: datetime) -> AsOf:
    """Apply revisions (oldest first) to an empty record; a pure function of the rows."""
    state = AsOf(moment=moment)
    for rev in revisions:
        state.revisions += 1
        state.last_change = rev.changed_at
        if rev.field in ACCUMULATING_FIELDS:
            if rev.new_value and rev.new_value not in state.identifiers:
                state.identifiers.append(rev.new_value)
            if rev.old_value and rev.new_value is None and rev.old_value in state.identifiers:
                state.identifiers.remove(rev.old_value)
        elif rev.field == "tags":
            state.tags = [line for line in (rev.new_value or "").split("\n") if line]
        else:
            state.fields[rev.field] = rev.new_value
    state.identifiers.sort()
    return state


def as_of(session: Session, entity_type: str, entity_id: int, moment: datetime) -> AsOf:
    """The state of one entity at `moment` (an aware datetime), rebuilt from its revisions."""
    if moment.tzinfo is None:
        raise ValueError("as_of needs a timezone-aware moment")
    rows = session.execute(revisions_until(entity_type, entity_id, moment)).scalars()
    return replay(rows, moment)
