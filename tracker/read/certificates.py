"""A certificate's life as the sources tell it: the events of one device (its timeline), events since a day (for
digests, feeds and "renewals this month"), and the list condition "has an event of this kind in this period".

Events are written by tracker.store.events; their kinds are `EVENT_KINDS` there.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased

from tracker.store.events import EVENT_KINDS
from tracker.store.models import CertificateEvent, Device

__all__ = ["EVENT_KINDS", "timeline", "events_since", "has_event", "events_of_devices", "last_recorded", "recorded_between",
           "devices_with_events_recorded"]


def _period(kinds: Iterable[str] | None, date_from: date | None, date_to: date | None,
            events: Any = CertificateEvent) -> list[Any]:
    conds: list[Any] = []
    kinds = list(kinds or [])
    if kinds:
        conds.append(events.kind.in_(kinds))
    if date_from is not None:
        conds.append(events.event_date >= date_from)
    if date_to is not None:
        conds.append(events.event_date <= date_to)
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
    # An alias of its own: inside a query over events (an events feed) it must not correlate with the outer rows.
    events = aliased(CertificateEvent)
    return exists().where(and_(events.device_id == device_id_column,
                               *_period([kind] if kind else None, date_from, date_to, events)))


def events_of_devices(device_conditions: Iterable[Any], kind: str | None, date_from: date | None,
                      date_to: date | None) -> Select:
    """(event, device) pairs: the events of the kind and period (all when not given) of the devices matching
    `device_conditions` (a device list's filter), most recently recorded first (what an events feed lists)."""
    return (select(CertificateEvent, Device).join(Device, Device.id == CertificateEvent.device_id)
            .where(*device_conditions, *_period([kind] if kind else None, date_from, date_to))
            .order_by(CertificateEvent.recorded_at.desc(), CertificateEvent.id.desc()))


def last_recorded() -> Select:
    """When the newest event was recorded (an events feed's Last-Modified)."""
    return select(func.max(CertificateEvent.recorded_at))


def recorded_between(start: datetime, end: datetime, device_ids: Iterable[int] | None = None) -> Select:
    """(device id, recorded at, kind, event date) of the events recorded in [start, end), oldest first, optionally
    only of these devices: what a digest announces beside new and changed rows, and what a team watch says happened
    to a certificate ("renewal", "cancellation", …) rather than "changed"."""
    query = (select(CertificateEvent.device_id, CertificateEvent.recorded_at, CertificateEvent.kind,
                    CertificateEvent.event_date)
             .where(CertificateEvent.recorded_at >= start, CertificateEvent.recorded_at < end)
             .order_by(CertificateEvent.recorded_at, CertificateEvent.id))
    if device_ids is not None:
        query = query.where(CertificateEvent.device_id.in_(sorted(set(device_ids))))
    return query


def devices_with_events_recorded(start: datetime, end: datetime) -> Select:
    """The ids of devices with an event recorded in [start, end) (a subquery for IN)."""
    return select(CertificateEvent.device_id).where(CertificateEvent.recorded_at >= start,
                                                    CertificateEvent.recorded_at < end)
