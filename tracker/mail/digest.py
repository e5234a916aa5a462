"""Digest building (data only): which subscriptions are due, and what is new or changed for each since its last digest.

A subscription's filters are stored as a dict (`tracker.mail.filters.normalize_filters` is the one definition of that
dict, shared with the subscription pages). They become WHERE clauses through the same builders the web lists use
(`tracker.read.lists.device_conditions` / `policy_conditions`): one builder filter per chosen value, OR within a facet,
AND across facets. Policies are filtered by areas, policy types and keywords; devices by areas, functions,
diseases, companies (registrant) and keywords.

Windows chain: a digest covers [end of the subscription's last digest, now), or [subscription created, now) for the
first one, so an item is never skipped and never reported twice, whatever the schedule did. An empty window writes
no row, so the next digest simply covers a longer window.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tracker.classify.reasons import evidence_reason
from tracker.clock import as_utc
from tracker.mail.filters import filter_groups, normalize_filters
from tracker.read import certificates
from tracker.read.compare import change_lines, final_changes
from tracker.read.lists import device_conditions, policy_conditions
from tracker.read.tags import effective_by_entity, tags_for
from tracker.store.models import Device, Outbox, Policy, Subscriber, Subscription
from tracker.store.tag_rule import RULE

FREQUENCIES = ("immediate", "daily", "weekly")
IMMEDIATE_SLOT_MINUTES = 5
MAX_ID_LIST = 2000
# Where an item's page lives in the web UI (public_base_url + path).
ITEM_PATHS = {"device": "/devices/{id}", "policy": "/policies/{id}"}


# ---------------------------------------------------------------------------------------------- periods

def period_key(frequency: str, now: datetime, tz: str) -> str:
    """The period a digest belongs to, in local (Beijing) time: 'daily:2026-11-23', 'weekly:2026-W48',
    'immediate:2026-11-23T18:05' (a 5-minute slot). One outbox row per subscription and period key."""
    local = now.astimezone(ZoneInfo(tz))
    if frequency == "daily":
        return f"daily:{local.date().isoformat()}"
    if frequency == "weekly":
        year, week, _ = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    if frequency == "immediate":
        slot = local.replace(minute=local.minute - local.minute % IMMEDIATE_SLOT_MINUTES, second=0, microsecond=0)
        return f"immediate:{slot:%Y-%m-%dT%H:%M}"
    raise ValueError(f"unknown frequency {frequency!r}")


# ---------------------------------------------------------------------------------------------- digest data

@dataclass(frozen=True)
class Item:
    """One device or policy as a digest shows it."""

    kind: str                 # device | policy
    id: int
    title: str
    who: str | None           # registrant / issuer
    ref: str | None           # certificate number / document number
    day: date | None          # issued / published
    areas: tuple[str, ...]    # top-level area codes, taxonomy order
    url: str
    is_sample: bool
    first_seen: datetime
    extra: str | None = None  # document type (policies)
    # Why the rules call a device AI: each evidence entry in Chinese and English (digests are bilingual).
    why_ai: tuple[tuple[str, str], ...] = ()
    # A final version of a draft: the first lines of what changed from the draft, in Chinese and English.
    draft_changes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Entry:
    """An item in one digest, with whether it is new in that digest's window or an update of an older one."""

    item: Item
    change: str  # new | changed
    # Certificate events recorded in the window (kind, event date or None), oldest first: a renewal or a correction
    # is announced even when it changed no field of the device.
    events: tuple[tuple[str, date | None], ...] = ()


@dataclass(frozen=True)
class Digest:
    """Everything one subscriber gets for one period."""

    subscription_id: int
    subscriber_id: int
    email: str
    lang: str
    frequency: str
    period_key: str
    window_start: datetime
    window_end: datetime
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        """True when nothing is new or changed for this subscriber."""
        return not self.entries


@dataclass(frozen=True)
class Due:
    """A subscription whose digest for `period_key` has not been made yet."""

    subscription: Subscription
    email: str
    lang: str
    window_start: datetime


def due_subscriptions(session: Session, frequency: str, key: str, *, email: str | None = None) -> list[Due]:
    """Active subscriptions of confirmed subscribers with this frequency and no outbox row for `key` yet."""
    last_end = (select(Outbox.subscription_id, func.max(Outbox.window_end).label("end"))
                .where(Outbox.kind == "digest").group_by(Outbox.subscription_id).subquery())
    done = select(Outbox.subscription_id).where(Outbox.period_key == key)
    stmt = (
        select(Subscription, Subscriber.email, Subscriber.lang, last_end.c.end)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .outerjoin(last_end, last_end.c.subscription_id == Subscription.id)
        .where(Subscription.active.is_(True), Subscription.frequency == frequency, Subscriber.status == "active",
               Subscription.id.not_in(done))
        .order_by(Subscription.id)
    )
    if email is not None:
        stmt = stmt.where(Subscriber.email == email)
    out = []
    for sub, address, lang, end in session.execute(stmt).all():
        start = end if end is not None else sub.created_at
        out.append(Due(subscription=sub, email=address, lang=lang, window_start=as_utc(start)))
    return out


def _window(model, start: datetime, end: datetime) -> Any:
    return or_(and_(model.first_seen >= start, model.first_seen < end),
               and_(model.updated_at >= start, model.updated_at < end))


class DigestBuilder:
    """Builds the digests of many subscriptions at once for one window end, sharing queries and item data.

    Every distinct filter value (an area, a function, a keyword, ...) is one query through tracker.read.lists over
    the rows new or changed since the earliest window start; each subscription's match is then combined from those
    row sets (intersection across facets, union within one), so the cost grows with the number of distinct filter
    values, not with the number of subscribers.
    """

    def __init__(self, session: Session, *, base_url: str, window_end: datetime):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.window_end = window_end
        self._items: dict[tuple[str, int], Item] = {}
        self._updated: dict[tuple[str, int], datetime] = {}
        self._atoms: dict[Any, frozenset[int]] = {}
        self._windows: dict[tuple[str, datetime], frozenset[int]] = {}
        self._matches: dict[tuple, tuple[Entry, ...]] = {}
        self._candidates: dict[str, frozenset[int]] = {}
        self._earliest: datetime | None = None
        self._events: dict[int, list[tuple[datetime, str, date | None]]] = {}

    def build(self, dues: list[Due], frequency: str, key: str) -> list[Digest]:
        """One Digest per due subscription (possibly empty), in the order given."""
        if not dues:
            return []
        self._prepare(min(d.window_start for d in dues))
        digests = []
        for due in dues:
            sub = due.subscription
            digests.append(Digest(
                subscription_id=sub.id, subscriber_id=sub.subscriber_id, email=due.email, lang=due.lang,
                frequency=frequency, period_key=key, window_start=due.window_start, window_end=self.window_end,
                entries=self._match(sub, due.window_start),
            ))
        return digests

    def entries(self, wanted: Any, start: datetime) -> tuple[Entry, ...]:
        """What one subscription-like object (`filters`, `include_devices`, `include_policies`; a team watch is one)
        matches among the items new or changed in [start, window end): the digests' own matching, reused."""
        self._prepare(start)
        return self._match(wanted, start)

    def _prepare(self, earliest: datetime) -> None:
        """Everything new or changed since the earliest window start: the only rows any digest can contain."""
        if self._earliest is not None and self._earliest <= earliest:
            return
        self._earliest = earliest
        self._atoms.clear()
        self._matches.clear()
        self._windows.clear()
        self._events = {}
        for device_id, recorded, kind, day in self.session.execute(
                certificates.recorded_between(earliest, self.window_end)):
            self._events.setdefault(device_id, []).append((as_utc(recorded), kind, day))
        for kind, model in (("device", Device), ("policy", Policy)):
            self._candidates[kind] = frozenset(self.session.execute(
                select(model.id).where(_window(model, earliest, self.window_end))).scalars())
        self._candidates["device"] |= frozenset(self._events)
        self._load_items()

    def _atom(self, kind: str, flt: Any) -> frozenset[int]:
        """The candidate rows one builder filter matches (cached for the whole batch)."""
        if flt not in self._atoms:
            model, conditions = (Device, device_conditions) if kind == "device" else (Policy, policy_conditions)
            candidates = self._candidates[kind]
            if len(candidates) <= MAX_ID_LIST:
                # Primary-key lookups, not a scan: updated_at has no index, and the tag EXISTS clauses then run for
                # the candidate rows only.
                where = [model.id.in_(sorted(candidates))]
            else:
                where = [_window(model, self._earliest, self.window_end)]
                if kind == "device":
                    where = [or_(where[0], Device.id.in_(
                        certificates.devices_with_events_recorded(self._earliest, self.window_end)))]
            self._atoms[flt] = frozenset(self.session.execute(
                select(model.id).where(*where, *conditions(flt))).scalars()) if candidates else frozenset()
        return self._atoms[flt]

    def _match(self, sub: Subscription, start: datetime) -> tuple[Entry, ...]:
        filters = normalize_filters(sub.filters)
        cache_key = (json.dumps(filters, sort_keys=True), sub.include_devices, sub.include_policies, start)
        if cache_key in self._matches:
            return self._matches[cache_key]
        found: list[tuple[str, int]] = []
        for kind, wanted in (("device", sub.include_devices), ("policy", sub.include_policies)):
            if not wanted or not self._candidates[kind]:
                continue
            ids = set(self._windowed(kind, start))
            for group in filter_groups(kind, filters):
                if not ids:
                    break
                ids &= frozenset().union(*(self._atom(kind, flt) for flt in group))
            found += [(kind, i) for i in ids]
        found.sort(key=lambda k: _sort_key(self._items[k]))
        self._matches[cache_key] = tuple(
            Entry(item=self._items[k], change="new" if self._items[k].first_seen >= start else "changed",
                  events=self._events_in(k, start))
            for k in found)
        return self._matches[cache_key]

    def _windowed(self, kind: str, start: datetime) -> frozenset[int]:
        """Candidates new or changed in [start, window end); most subscriptions share a start, so it is cached."""
        key = (kind, start)
        if key not in self._windows:
            self._windows[key] = frozenset(i for i in self._candidates[kind] if self._in_window((kind, i), start))
        return self._windows[key]

    def _in_window(self, key: tuple[str, int], start: datetime) -> bool:
        # The same test as _window() in SQL, for windows that start later than the earliest one.
        first, updated = self._items[key].first_seen, self._updated[key]
        return start <= first < self.window_end or start <= updated < self.window_end or bool(
            self._events_in(key, start))

    def _events_in(self, key: tuple[str, int], start: datetime) -> tuple[tuple[str, date | None], ...]:
        kind, entity_id = key
        if kind != "device":
            return ()
        return tuple((k, day) for recorded, k, day in self._events.get(entity_id, ())
                     if start <= recorded < self.window_end)

    def _load_items(self) -> None:
        for kind, model in (("device", Device), ("policy", Policy)):
            missing = sorted(i for i in self._candidates[kind] if (kind, i) not in self._items)
            for chunk in (missing[n:n + 500] for n in range(0, len(missing), 500)):
                rows = self.session.execute(select(model).where(model.id.in_(chunk))).scalars().all()
                tag_rows = self.session.execute(tags_for(kind, chunk)).scalars().all()
                tags = effective_by_entity(tag_rows)
                why = _ai_evidence(tag_rows) if kind == "device" else {}
                for row in rows:
                    standing = tags.get(row.id, [])
                    self._items[(kind, row.id)] = self._item(
                        kind, row, standing, why.get(row.id, ()) if ("ai", "ai") in standing else ())
                    self._updated[(kind, row.id)] = row.updated_at

    def _item(self, kind: str, row: Any, tags: list[tuple[str, str]],
              why_ai: tuple[tuple[str, str], ...] = ()) -> Item:
        areas: list[str] = []
        for facet, code in tags:
            if facet == "area":
                top = code.split(".")[0]
                if top not in areas:
                    areas.append(top)
        url = self.base_url + ITEM_PATHS[kind].format(id=row.id)
        if kind == "device":
            return Item(kind=kind, id=row.id, title=row.product_name, who=row.registrant, ref=row.cert_no,
                        day=row.issued_on, areas=tuple(areas), url=url, is_sample=row.is_sample,
                        first_seen=row.first_seen, why_ai=why_ai)
        changes = final_changes(self.session, row.id)
        return Item(kind=kind, id=row.id, title=row.title, who=row.issuer_shown, ref=row.doc_no_shown, day=row.published_on,
                    areas=tuple(areas), url=url, is_sample=row.is_sample, first_seen=row.first_seen,
                    extra=row.doc_type, draft_changes=tuple(zip(change_lines(changes, "zh"),
                                                                change_lines(changes, "en"), strict=True)))


def _ai_evidence(tag_rows: Any) -> dict[int, tuple[tuple[str, str], ...]]:
    """Per device, the evidence of its active rule AI tag as (Chinese, English) sentences."""
    out: dict[int, tuple[tuple[str, str], ...]] = {}
    for t in tag_rows:
        if t.facet == "ai" and t.code == "ai" and t.method == RULE and t.active:
            out[t.entity_id] = tuple((r.text("zh"), r.text("en")) for r in (
                evidence_reason(e) for e in t.evidence or () if isinstance(e, dict) and "field" in e))
    return out


def _sort_key(item: Item) -> tuple:
    # Newest first within a digest; the renderer groups by area afterwards.
    return (item.kind != "device", -(item.day.toordinal() if item.day else 0), item.title, item.id)


def build_due(session: Session, frequency: str, now: datetime, *, tz: str, base_url: str,
              email: str | None = None) -> list[Digest]:
    """The digests due for `frequency` at `now` (one per due subscription, empty ones included)."""
    key = period_key(frequency, now, tz)
    dues = due_subscriptions(session, frequency, key, email=email)
    return DigestBuilder(session, base_url=base_url, window_end=now).build(dues, frequency, key)
