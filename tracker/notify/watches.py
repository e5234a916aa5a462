"""Watches: what a team follows (companies, certificates, areas, functions, diseases, keywords, policy types, issuers
and stages: the digest subscriptions' filter dict) and which channels hear about it, immediately or as one daily batch.

Matching is the digests' (tracker.mail.digest.DigestBuilder over tracker.read's list conditions): one definition
of "matches these filters" for lists, digests and chat. Each run covers [checked_until, now) and, in one transaction,
stores the messages and moves checked_until to now: a crashed run stores nothing and the next one covers the same
window; a re-run stores nothing twice (deliveries are unique per channel and event key). A new device is one event
(`device:<id>:new`), so two watches that both match it post it once into a channel they share.

Immediate watches post one message per event, or one batch when a run finds more than BATCH_OVER; daily watches
post one batch on the first run after their local hour (`daily_hour`, 0 = the first run of the day) each day, covering
everything since the last one (local time: Settings.timezone, the digests').
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tracker.audit.log import record
from tracker.config import Settings
from tracker.ids.certno import CertNoError
from tracker.mail.digest import DigestBuilder, Entry
from tracker.mail.filters import certificate_numbers, normalize_filters
from tracker.notify.message import event_payload
from tracker.notify.outbox import Message, enqueue
from tracker.notify.refusal import NotifyRefusal
from tracker.read.certificates import recorded_between
from tracker.read.filters import DeviceFilter, PolicyFilter
from tracker.store.models import Channel, Watch, WatchChannel

FREQUENCIES = ("immediate", "daily")
BATCH_OVER = 5
NAME = re.compile(r"^[\w.\-\u4e00-\u9fff ]{1,120}$")
CODE_FACETS = {"areas": "area", "functions": "function", "diseases": "disease", "policy_types": "policy_type",
               "issuers": "issuer", "stages": "stage"}


class WatchError(NotifyRefusal):
    """A watch refused, and why."""

    PREFIX = "watch_refused_"
    WORDING = {
        "certificate": "{number!r} is not a registration certificate number ({problem})",
        "code": "{code!r} is not a known {facet} code",
        "name": "a watch name is 1-120 letters, digits, blanks, '.', '-' or '_'",
        "frequency": "the frequency is one of {choices}",
        "content": "a watch follows devices, policies or both",
        "hour": "the daily batch's hour is a whole number from 0 to 23",
        "no_channels": "a watch posts into at least one channel",
        "certificates_need_devices": "certificates belong to devices: a watch that follows certificates follows devices",
        "unknown_channels": "no channel named {names}",
        "exists": "a watch named {name!r} exists already",
        "missing": "no watch named {name!r}",
    }


@dataclass(frozen=True)
class WatchView:
    """A watch as pages and the CLI show it."""

    id: int
    name: str
    filters: dict[str, Any]
    frequency: str
    channels: tuple[str, ...]
    include_devices: bool
    include_policies: bool
    active: bool
    created_by: str
    checked_until: datetime
    daily_hour: int


def _filters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical filter dict; a code that is not one of its facet's is refused rather than silently dropped."""
    try:
        certificate_numbers(raw.get("certificates"))
    except CertNoError as exc:
        raise WatchError("certificate", number=exc.text, problem=exc.problem) from None
    clean = normalize_filters(raw)
    for key, facet in CODE_FACETS.items():
        given = raw.get(key) or []
        for code in [given] if isinstance(given, str) else given:
            if code not in clean[key]:
                raise WatchError("code", code=code, facet=facet)
    return clean


def add_watch(session: Session, *, name: str, filters: Mapping[str, Any], channels: list[str], frequency: str,
              include_devices: bool = True, include_policies: bool = True, daily_hour: int = 0, actor: str,
              now: datetime) -> Watch:
    """Add a watch in the caller's transaction; it reports what arrives from `now` on (a daily one: once a day,
    after `daily_hour` local time)."""
    if not NAME.match(name or "") or name != name.strip():
        raise WatchError("name")
    if frequency not in FREQUENCIES:
        raise WatchError("frequency", choices=", ".join(FREQUENCIES))
    if not include_devices and not include_policies:
        raise WatchError("content")
    if not isinstance(daily_hour, int) or not 0 <= daily_hour <= 23:
        raise WatchError("hour")
    if not channels:
        raise WatchError("no_channels")
    clean = _filters(filters)
    if clean["certificates"] and not include_devices:
        raise WatchError("certificates_need_devices")
    # A policy holds no certificate (filter_groups matches none): say so in the stored watch.
    include_policies = include_policies and not clean["certificates"]
    found = dict(session.execute(select(Channel.name, Channel.id).where(Channel.name.in_(channels))).all())
    missing = [c for c in channels if c not in found]
    if missing:
        raise WatchError("unknown_channels", names=", ".join(missing))
    if session.execute(select(Watch.id).where(Watch.name == name)).first() is not None:
        raise WatchError("exists", name=name)
    watch = Watch(name=name, filters=clean, include_devices=include_devices, include_policies=include_policies,
                  frequency=frequency, daily_hour=daily_hour, active=True, created_by=actor, created_at=now,
                  checked_until=now)
    session.add(watch)
    session.flush()
    session.add_all(WatchChannel(watch_id=watch.id, channel_id=found[c]) for c in dict.fromkeys(channels))
    record(session, actor=actor, action="watch.add", now=now, target_type="watch", target_id=watch.id,
           detail={"name": name, "filters": clean, "frequency": frequency, "daily_hour": daily_hour,
                   "channels": list(channels)})
    return watch


def remove_watch(session: Session, name: str, *, actor: str, now: datetime) -> None:
    """Remove a watch (its sent deliveries stay, without it)."""
    watch = session.execute(select(Watch).where(Watch.name == name)).scalar_one_or_none()
    if watch is None:
        raise WatchError("missing", name=name)
    record(session, actor=actor, action="watch.remove", now=now, target_type="watch", target_id=watch.id,
           detail={"name": name})
    session.delete(watch)


def list_watches(session: Session) -> list[WatchView]:
    """Every watch with its channels' names, by name."""
    names: dict[int, list[str]] = {}
    for watch_id, channel in session.execute(select(WatchChannel.watch_id, Channel.name)
                                             .join(Channel, Channel.id == WatchChannel.channel_id)
                                             .order_by(Channel.name)):
        names.setdefault(watch_id, []).append(channel)
    return [WatchView(id=w.id, name=w.name, filters=w.filters, frequency=w.frequency,
                      channels=tuple(names.get(w.id, ())), include_devices=w.include_devices,
                      include_policies=w.include_policies, active=w.active, created_by=w.created_by,
                      checked_until=w.checked_until, daily_hour=w.daily_hour)
            for w in session.execute(select(Watch).order_by(Watch.name)).scalars()]


# ------------------------------------------------------------------------------------------------ fan-out

@dataclass
class FanOut:
    """What a run of the watches did."""

    watches: int = 0
    events: int = 0
    queued: int = 0


def list_url(base_url: str, watch: Watch, since: datetime, entries: tuple[Entry, ...]) -> str:
    """The tracker's list of what arrived since `since`, narrowed to the watch's area (or certificate) when it follows
    exactly one."""
    filters = normalize_filters(watch.filters)
    area = filters["areas"][0] if len(filters["areas"]) == 1 else None
    if any(e.item.kind == "device" for e in entries):
        top, sub = (area.split(".")[0], area) if area and "." in area else (area, None)
        cert = filters["certificates"][0] if len(filters["certificates"]) == 1 else None
        flt = DeviceFilter(seen_from=since.date(), area=top, sub=sub, cert=cert, ai=filters["ai_only"])
        return f"{base_url.rstrip('/')}/devices?{urlencode(flt.to_args())}"
    flt = PolicyFilter(date_from=since.date(), area=area, ai=filters["ai_only"])
    return f"{base_url.rstrip('/')}/policies?{urlencode(flt.to_args())}"


def _event_key(entry: Entry, now: datetime) -> str:
    # A new item is one event whoever reports it; a change is an event of this window.
    item = entry.item
    if entry.change == "new":
        return f"{item.kind}:{item.id}:new"
    return f"{item.kind}:{item.id}:changed:{now.isoformat(timespec='seconds')}"


def certificate_events(session: Session, entries: tuple[Entry, ...], since: datetime, until: datetime) -> dict[int, str]:
    """Per changed device, the kind of the last certificate event recorded for it in the window (renewal,
    correction, cancellation, …: the sources' word for what happened)."""
    changed = [e.item.id for e in entries if e.item.kind == "device" and e.change == "changed"]
    if not changed:
        return {}
    # Oldest first, so the last event recorded for a device is the one the dict keeps.
    return {row.device_id: row.kind for row in session.execute(recorded_between(since, until, changed))}


def batch_start(hour: int, now: datetime, tz: str) -> datetime:
    """The start of the current daily batch period: the latest `hour`:00 local time at or before `now`."""
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    # Aware arithmetic within one zone is wall-clock: the day before at the same hour, even across a DST change.
    return start if start <= local else start - timedelta(days=1)


def _due(watch: Watch, now: datetime, tz: str) -> bool:
    # A daily watch is due once its hour has come and its last window ended before that hour (hour 0: a new day).
    return watch.frequency == "immediate" or watch.checked_until < batch_start(watch.daily_hour, now, tz)


def _messages(watch: Watch, channels: list[Channel], entries: tuple[Entry, ...], settings: Settings,
              now: datetime, events: dict[int, str]) -> list[Message]:
    if not entries:
        return []
    more = list_url(settings.public_base_url, watch, watch.checked_until, entries)
    if watch.frequency == "immediate" and len(entries) <= BATCH_OVER:
        groups = [((e,), _event_key(e, now)) for e in entries]
    else:
        day = batch_start(watch.daily_hour, now, settings.timezone).date()
        stamp = day.isoformat() if watch.frequency == "daily" else now.isoformat(timespec="seconds")
        groups = [(entries, f"batch:w{watch.id}:{watch.frequency}:{stamp}")]
    payloads: dict[tuple[str, str], dict] = {}
    out = []
    for group, key in groups:
        for channel in channels:
            cache = (key, channel.lang)
            if cache not in payloads:
                payloads[cache] = event_payload(group, channel.lang, watch=watch.name,
                                                more_url=more if len(group) > 1 else None, events=events)
            out.append(Message(channel.id, key, payloads[cache], watch.id))
    return out


def run_watches(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> FanOut:
    """Fan out every due watch's new window into the outbox (one transaction per watch)."""
    result = FanOut()
    with sessions() as session:
        ids = session.execute(select(Watch.id).where(Watch.active.is_(True)).order_by(Watch.id)).scalars().all()
    for watch_id in ids:
        with sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None or not _due(watch, now, settings.timezone):
                continue
            channels = session.execute(select(Channel).join(WatchChannel, WatchChannel.channel_id == Channel.id)
                                       .where(WatchChannel.watch_id == watch.id, Channel.active.is_(True))
                                       .order_by(Channel.id)).scalars().all()
            builder = DigestBuilder(session, base_url=settings.public_base_url, window_end=now)
            entries = builder.entries(watch, watch.checked_until)
            result.watches += 1
            result.events += len(entries)
            events = certificate_events(session, entries, watch.checked_until, now)
            result.queued += enqueue(session, _messages(watch, channels, entries, settings, now, events), now)
            watch.checked_until = now
    return result
