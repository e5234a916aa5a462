"""Select builders shared by the web UI, exports, feeds, the JSON API and digests: a filter in, a `Select` out.

Nothing here opens a session or executes anything, and nothing imports Flask. Filters are parsed in
tracker.read.filters; text search is tracker.read.search's.

Tag filters come from tracker.read.tags (the store's effective-tag rule as SQL). A count reads them in the
plan that counts fastest and a page in the plan that pages fastest for that count (`list_count`, `list_page`).
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from tracker.classify import taxonomy
from tracker.config import DEFAULT_TIMEZONE
from tracker.read.certificates import has_event
from tracker.read.filters import DEVICE_SORTS, POLICY_SORTS, DeviceFilter, PolicyFilter, search_terms
from tracker.read.search import escape_like, matches_all, search_clauses
from tracker.read.tags import has_tag, page_lookup
from tracker.store.models import Company, Device, Policy, ScrapeRun

MAX_EXPORT_ROWS = 50_000


# ---------------------------------------------------------------------------------------------------- devices

def _day_start(day: date) -> datetime:
    # Dates in filters are the dates shown on screen: days in the tracker's display time zone (Beijing time).
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(DEFAULT_TIMEZONE))


def device_conditions(f: DeviceFilter, lookup: str = "exists") -> list[Any]:
    """The WHERE clauses of a device filter (`lookup`: how tag filters find rows, see TAG_LOOKUPS)."""
    conds: list[Any] = []
    if terms := search_terms(f.q):
        conds += search_clauses("device", terms)
    for facet, code in (("area", f.area), ("area", f.sub), ("function", f.function), ("disease", f.disease),
                        ("site", f.site), ("signal", f.signal)):
        if code:
            conds.append(has_tag("device", Device.id, facet, code, subtree=facet == "area", lookup=lookup))
    if f.ai:
        conds.append(Device.is_ai.is_(True))
    if f.mgmt_class is not None:
        conds.append(Device.mgmt_class == f.mgmt_class)
    if f.origin:
        conds.append(Device.origin == f.origin)
    if f.year is not None:
        conds.append(Device.first_reg_year == f.year)
    if f.issued_from:
        conds.append(Device.issued_on >= f.issued_from)
    if f.issued_to:
        conds.append(Device.issued_on <= f.issued_to)
    if f.seen_from:
        conds.append(Device.first_seen >= _day_start(f.seen_from))
    if f.event or f.event_from or f.event_to:
        conds.append(has_event(Device.id, f.event, f.event_from, f.event_to))
    if f.registrant:
        conds.append(Device.registrant.ilike(f"%{escape_like(f.registrant)}%", escape="\\"))
    if f.catalogue:
        conds.append(Device.catalogue_code.like(f"{escape_like(f.catalogue)}%", escape="\\"))
    if f.company is not None:
        conds.append(Device.company_id == f.company)
    if f.cert:
        conds.append(Device.cert_no == f.cert)
    if f.data:
        conds.append(Device.is_sample.is_(f.data == "sample"))
    return conds


def _ordering(sort: str, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    column = columns[sort.removeprefix("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    return [order.nulls_last(), tiebreak.desc()]


def device_select(f: DeviceFilter, lookup: str = "exists") -> Select:
    """Devices matching the filter, sorted, without paging (exports apply their own cap)."""
    return select(Device).where(*device_conditions(f, lookup)).order_by(*_ordering(f.sort, DEVICE_SORTS, Device.id))


def count_of(stmt: Select) -> Select:
    """SELECT count(*) over any list select (its ordering and paging dropped)."""
    return select(func.count()).select_from(stmt.order_by(None).limit(None).offset(None).subquery())


# ---------------------------------------------------------------------------------------------------- policies

# Policy.doc_type holds the Chinese label of TAXONOMY.md §4 (tracker.ids.policytype); URLs carry the stable code.
POLICY_TYPE_LABELS = {node.code: node.zh for node in taxonomy.nodes("policy_type")}


def policy_conditions(f: PolicyFilter, lookup: str = "exists") -> list[Any]:
    """The WHERE clauses of a policy filter (`lookup`: how tag filters find rows, see TAG_LOOKUPS)."""
    conds: list[Any] = []
    if terms := search_terms(f.q):
        conds += search_clauses("policy", terms)
    if f.area:
        conds.append(has_tag("policy", Policy.id, "area", f.area, subtree=True, lookup=lookup))
    if f.issuer:
        conds.append(has_tag("policy", Policy.id, "issuer", f.issuer, lookup=lookup))
    if f.scenario:
        conds.append(has_tag("policy", Policy.id, "scenario", f.scenario, lookup=lookup))
    if f.doc_type:
        conds.append(Policy.doc_type == POLICY_TYPE_LABELS[f.doc_type])
    if f.stage:
        conds.append(Policy.stage == f.stage)
    if f.date_from:
        conds.append(Policy.published_on >= f.date_from)
    if f.date_to:
        conds.append(Policy.published_on <= f.date_to)
    if f.ai:
        conds.append(Policy.is_ai.is_(True))
    if f.data:
        conds.append(Policy.is_sample.is_(f.data == "sample"))
    return conds


def policy_select(f: PolicyFilter, lookup: str = "exists") -> Select:
    """Policies matching the filter, sorted, without paging."""
    return select(Policy).where(*policy_conditions(f, lookup)).order_by(*_ordering(f.sort, POLICY_SORTS, Policy.id))


# ---------------------------------------------------------------------------------------------------- lists

def list_select(f: DeviceFilter | PolicyFilter, lookup: str = "exists") -> Select:
    """The devices or policies a filter matches, sorted, without paging."""
    return device_select(f, lookup) if isinstance(f, DeviceFilter) else policy_select(f, lookup)


def list_count(f: DeviceFilter | PolicyFilter) -> Select:
    """SELECT count(*) of the rows a filter matches (tag filters counted from the tag index)."""
    return count_of(list_select(f, "in"))


def list_page(f: DeviceFilter | PolicyFilter, total: int) -> Select:
    """The filter's current page, read the fastest way for `total` matching rows (from `list_count`)."""
    return list_select(f, page_lookup(total)).limit(f.per_page).offset(f.offset)


# ---------------------------------------------------------------------------------------------------- others

def companies_select(q: str | None = None) -> Select:
    """Registrants with their number of certificates, AI certificates and first/last registration year."""
    stmt = (
        select(Company, func.count(Device.id).label("devices"),
               func.count(Device.id).filter(Device.is_ai.is_(True)).label("ai_devices"),
               func.min(Device.first_reg_year).label("first_year"), func.max(Device.first_reg_year).label("last_year"))
        .outerjoin(Device, Device.company_id == Company.id)
        .group_by(Company.id)
        .order_by(func.count(Device.id).desc(), Company.name)
    )
    if terms := search_terms(q):
        stmt = stmt.where(matches_all(terms, (Company.name, Company.name_en, Company.credit_code)))
    return stmt


def runs_select(source: str | None = None, outcome: str | None = None) -> Select:
    """Scrape runs, newest first, optionally of one source and/or one outcome."""
    stmt = select(ScrapeRun).order_by(ScrapeRun.started_at.desc(), ScrapeRun.id.desc())
    if source:
        stmt = stmt.where(ScrapeRun.source == source)
    if outcome:
        stmt = stmt.where(ScrapeRun.outcome == outcome)
    return stmt

