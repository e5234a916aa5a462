"""A certificate's life as the sources tell it: the events of one device (its timeline), events since a day (for
digests, feeds and "renewals this month"), and the list condition "has an event of this kind in this period".

Events are written by tracker.store.events; their kinds are `EVENT_KINDS` there.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from sqlalchemy import Select, and_, exists, select

from tracker.store.events import EVENT_KINDS
from tracker.store.models import CertificateEvent

__all__ = ["EVENT_KINDS", "timeline", "events_since", "has_event"]


def _period(kinds: Iterable[str] | None, date_from: date | None, date_to: date | None) -> list[Any]:
    conds: list[Any] = []
    kinds = list(kinds or [])
    if kinds:
        conds.append(CertificateEvent.kind.in_(kinds))
    if date_from is not None:
        conds.append(CertificateEvent.event_date >= date_from)
    if date_to is not None:
        conds.append(CertificateEvent.event_date <= date_to)
    return conds


def timeline(device_id: int) -> Select:
    """A device's events, oldest first (undated ones last), in the order they were recorded within a day."""
    return (select(CertificateEvent).where(CertificateEvent.device_id == device_id)
            .order_by(CertificateEvent.event_date.asc().nulls_last(), CertificateEvent.id))


def events_since(since: date, *, kinds: Iterable[str] | None = None, until: date | None = None) -> Select:
    """Events dated on or after `since` (and on or before `until`), of the given kinds (all when none), newest
    first."""
    return (select(CertificateEvent).where(*_period(kinds, since, until))
            .order_by(CertificateEvent.event_date.desc(), CertificateEvent.id.desc()))


def has_event(device_id_column: Any, kind: str | None, date_from: date | None, date_to: date | None) -> Any:
    """SQL condition: the device has an event of `kind` (any kind when None) dated within the period."""
    return exists().where(and_(CertificateEvent.device_id == device_id_column,
                               *_period([kind] if kind else None, date_from, date_to)))
