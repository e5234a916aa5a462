"""Aggregates for the dashboard and the taxonomy page, built on the tracker.read.lists builders (source health is
tracker.read.health).

Counts of a taxonomy node always use the same condition as the list its link opens, so the number on a page and
the length of the list behind it agree: device facets and policy areas/issuers/scenarios count effective tags;
policy types and stages count the `doc_type` / `stage` columns the policy filter uses.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.classify import taxonomy
from tracker.read import filters, lists
from tracker.read import tags as read_tags
from tracker.store.models import Device, Policy


@dataclass(frozen=True)
class NewCounts:
    """New AI devices (by first recorded) and new policies (by publication date) over the last 7 and 30 days."""

    week_start: date
    month_start: date
    devices_week: int
    devices_month: int
    policies_week: int
    policies_month: int
    ai_devices: int
    policies: int


def _count(session: Session, f) -> int:
    return session.execute(lists.list_count(f)).scalar_one()


def new_counts(session: Session, today: date) -> NewCounts:
    """The dashboard's headline numbers, relative to `today` (a local date)."""
    week, month = today - timedelta(days=7), today - timedelta(days=30)
    device = lambda since: filters.DeviceFilter(ai=True, seen_from=since)  # noqa: E731
    policy = lambda since: filters.PolicyFilter(date_from=since)  # noqa: E731
    return NewCounts(
        week_start=week, month_start=month,
        devices_week=_count(session, device(week)), devices_month=_count(session, device(month)),
        policies_week=_count(session, policy(week)), policies_month=_count(session, policy(month)),
        ai_devices=_count(session, filters.DeviceFilter(ai=True)),
        policies=_count(session, filters.PolicyFilter()),
    )


def totals(session: Session) -> tuple[int, int]:
    """How many devices and policies the store holds (the unfiltered lists' lengths)."""
    return _count(session, filters.DeviceFilter()), _count(session, filters.PolicyFilter())


def _ai_area_rows(session: Session) -> list[tuple[int, str, int | None]]:
    et = read_tags.effective_tags("device", ["area"]).subquery()
    stmt = (select(et.c.entity_id, et.c.code, Device.first_reg_year)
            .join(Device, Device.id == et.c.entity_id).where(Device.is_ai.is_(True)))
    return [tuple(row) for row in session.execute(stmt)]


def area_counts(session: Session) -> list[tuple[taxonomy.Node, int]]:
    """AI devices per top-level application area (a device tagged CT counts once for 医学影像), largest first."""
    devices: dict[str, set[int]] = defaultdict(set)
    for device_id, code, _year in _ai_area_rows(session):
        devices[code.split(".")[0]].add(device_id)
    rows = [(node, len(devices.get(node.code, ()))) for node in taxonomy.nodes("area") if not node.parent]
    return sorted(rows, key=lambda r: -r[1])


def area_year_matrix(session: Session) -> dict[str, dict[int, int]]:
    """AI devices per top-level area per first-registration year: {area: {year: count}}."""
    cells: dict[tuple[str, int], set[int]] = defaultdict(set)
    for device_id, code, year in _ai_area_rows(session):
        if year is not None:
            cells[(code.split(".")[0], year)].add(device_id)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for (area, year), ids in cells.items():
        out[area][year] = len(ids)
    return dict(out)


@dataclass(frozen=True)
class DiseaseCount:
    """One disease of TAXONOMY.md §3: its AI devices and where the 2024 trends report places it."""

    node: taxonomy.Node
    count: int
    group: str  # "crowded" | "open" | "unplaced"


def disease_counts(session: Session) -> list[DiseaseCount]:
    """AI devices per disease, crowded ones first, then open, then the rest; largest first within a group."""
    et = read_tags.effective_tags("device", ["disease"]).subquery()
    stmt = (select(et.c.code, func.count(func.distinct(et.c.entity_id)))
            .join(Device, Device.id == et.c.entity_id).where(Device.is_ai.is_(True)).group_by(et.c.code))
    counts = dict(session.execute(stmt).tuples().all())
    order = {"crowded": 0, "open": 1, "unplaced": 2}
    rows = [
        DiseaseCount(node, counts.get(node.code, 0),
                     "crowded" if node.code in taxonomy.CROWDED_DISEASES
                     else "open" if node.code in taxonomy.OPEN_DISEASES else "unplaced")
        for node in taxonomy.nodes("disease")
    ]
    return sorted(rows, key=lambda r: (order[r.group], -r.count))


def taxonomy_counts(session: Session) -> dict[str, dict[str, int]]:
    """{"device": {code: n}, "policy": {code: n}} for every taxonomy node (area parents count their subtree)."""
    out: dict[str, dict[str, int]] = {}
    for entity_type in ("device", "policy"):
        et = read_tags.effective_tags(entity_type).subquery()
        grouped = select(et.c.code, func.count(func.distinct(et.c.entity_id))).group_by(et.c.code)
        counts = Counter(dict(session.execute(grouped).tuples().all()))
        for node in taxonomy.nodes("area"):
            if taxonomy.children(node.code):
                subtree = (select(func.count(func.distinct(et.c.entity_id)))
                           .where(read_tags.code_matches(et.c.code, node.code, subtree=True)))
                counts[node.code] = session.execute(subtree).scalar_one()
        out[entity_type] = dict(counts)
    policy = out["policy"]
    for node in taxonomy.nodes("policy_type") + taxonomy.nodes("stage"):
        policy.pop(node.code, None)
    types = dict(session.execute(select(Policy.doc_type, func.count()).group_by(Policy.doc_type)).tuples().all())
    for code, zh in lists.POLICY_TYPE_LABELS.items():
        policy[code] = types.get(zh, 0)
    stages = dict(session.execute(select(Policy.stage, func.count()).group_by(Policy.stage)).tuples().all())
    for node in taxonomy.nodes("stage"):
        policy[node.code] = stages.get(node.code, 0)
    return out
