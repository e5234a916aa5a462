"""The wall clock, in one place: every default "now" of the tracker is `utcnow` (tests pass their own clock)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A time read back from the store, as aware UTC: the UTC column type re-attaches the zone to column values, but
    an aggregate over one (max, min) comes back naive on SQLite."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
