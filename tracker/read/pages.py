"""Answers the pages, the API and the exports ask for, executed on a session: one page of a list with its tags, the
tags of given entities, the registrants, the years a filter offers. Views call these and render; they build no
SELECT of their own (the builders are tracker.read.lists and tracker.read.tags).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from tracker.clock import as_utc
from tracker.read import certificates, lists, tags
from tracker.read.filters import DeviceFilter, PolicyFilter
from tracker.store import stamp, tag_rule
from tracker.store.models import Company, Device, Policy, ScrapeRun, SourceDocument, Tag

# What a row of the device list shows; the rest (description, model, field ownership JSON) is left unread, and
# raises if a template ever asks for it, rather than costing one query per row.
DEVICE_ROW_COLUMNS = (Device.id, Device.cert_no, Device.product_name, Device.registrant, Device.issued_on,
                      Device.first_reg_year, Device.status, Device.is_ai, Device.is_sample)
# Entities per IN list when reading tags (well under SQLite's bound-parameter limit).
TAG_BATCH = 900


@dataclass
class ListPage:
    """One page of a filtered list: the number of matches, the rows of the page, and their effective tags."""

    total: int
    rows: list[Any]
    tags: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def codes(self, entity_id: int) -> list[str]:
        """A row's effective tags as "facet:code" strings."""
        return as_codes(self.tags.get(entity_id, []))


def _entity_type(f: DeviceFilter | PolicyFilter) -> str:
    return "device" if isinstance(f, DeviceFilter) else "policy"


def as_codes(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """(facet, code) pairs as the "facet:code" strings the API and the exports print."""
    return [f"{facet}:{code}" for facet, code in pairs]


def effective_tags_of(session: Session, entity_type: str, ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Effective (facet, code) pairs per entity id, in taxonomy order (entities with none are left out)."""
    ids = list(ids)
    out: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(ids), TAG_BATCH):
        out.update(tags.effective_by_entity(session.execute(tags.tag_keys_for(entity_type, ids[start:start + TAG_BATCH]))))
    return out


def tag_codes_of(session: Session, entity_type: str, ids: Iterable[int]) -> dict[int, list[str]]:
    """Effective "facet:code" tags per entity id (the form the API and the exports print)."""
    return {entity_id: as_codes(pairs) for entity_id, pairs in effective_tags_of(session, entity_type, ids).items()}


def list_page(session: Session, f: DeviceFilter | PolicyFilter, *, columns: Sequence[Any] = ()) -> ListPage:
    """The page `f` asks for, its total and its rows' tags; `columns` limits what is loaded of each row (the rest
    raises if touched, rather than costing a query per row)."""
    total = session.execute(lists.list_count(f)).scalar_one()
    stmt = lists.list_page(f, total)
    if columns:
        stmt = stmt.options(load_only(*columns, raiseload=True))
    rows = list(session.execute(stmt).scalars())
    return ListPage(total, rows, effective_tags_of(session, _entity_type(f), [r.id for r in rows]))


def export_rows(session: Session, f: DeviceFilter | PolicyFilter, limit: int) -> tuple[list[Any], int,
                                                                                           dict[int, list[str]]]:
    """Up to `limit` rows of every match of `f` (no paging), the total, and their "facet:code" tags."""
    total = session.execute(lists.list_count(f)).scalar_one()
    # Up to `limit` rows: the tagged ids read once from the tag index beat a probe per row.
    rows = list(session.execute(lists.list_select(f, "in").limit(limit)).scalars())
    return rows, total, tag_codes_of(session, _entity_type(f), [r.id for r in rows])


def last_changed(session: Session, f: DeviceFilter | PolicyFilter) -> datetime | None:
    """When anything a list of `f`'s kind can show last changed: its newest row update or tag change, or None.

    Over the whole kind, not the filtered rows: a row leaving a filter (a tag removed by a reviewer) changes the list
    without touching any row that is still in it. The feeds' and exports' ETag and Last-Modified are built on it."""
    model = Device if isinstance(f, DeviceFilter) else Policy
    rows = session.execute(select(func.max(model.updated_at))).scalar_one_or_none()
    tagged = session.execute(select(func.max(Tag.updated_at)).where(
        Tag.entity_type == _entity_type(f))).scalar_one_or_none()
    return max((as_utc(t) for t in (rows, tagged) if t is not None), default=None)


def data_stamp(session: Session) -> int:
    """A number every committed write to the store changes (tracker.store.stamp): equal stamps, same data. The page
    cache keys its entries by it; `last_changed` is the date the feeds print, this is the cheap "changed at all?"."""
    return stamp.current(session)


def event_rows(session: Session, f: DeviceFilter, limit: int) -> list[tuple[Any, Any]]:
    """Up to `limit` (event, device) pairs for an events feed: the certificate events of the devices `f` lists, of
    `f.event` kind within `f.event_from`..`f.event_to` when given, most recently recorded first."""
    stmt = certificates.events_of_devices(lists.device_conditions(f), f.event, f.event_from, f.event_to)
    return [tuple(r) for r in session.execute(stmt.limit(limit))]


def events_last_changed(session: Session, f: DeviceFilter) -> datetime | None:
    """`last_changed` of an events feed: its devices' list, or a newer event."""
    recorded = session.execute(certificates.last_recorded()).scalar_one_or_none()
    return max((as_utc(t) for t in (last_changed(session, f), recorded) if t is not None), default=None)


def registration_years(session: Session) -> list[int]:
    """The first-registration years present, newest first (the device filter's year choices).

    Every list page asks, so the years are found by skipping through the year index, one probe per year (a
    recursive "next smaller year" query), rather than with DISTINCT, which reads all of it: 12 ms of every list
    request on 100,000 devices against 0.1 ms (SQLite; bench/README.md)."""
    year = Device.first_reg_year
    years = select(func.max(year).label("y")).cte("years", recursive=True)
    below = select(func.max(year)).where(year < years.c.y).scalar_subquery()
    years = years.union_all(select(below).where(years.c.y.is_not(None)))
    return list(session.execute(select(years.c.y).where(years.c.y.is_not(None)).order_by(years.c.y.desc())).scalars())


def companies_page(session: Session, q: str | None, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of registrants (with their certificate counts) matching `q`, and the total."""
    stmt = lists.companies_select(q)
    total = session.execute(lists.count_of(stmt)).scalar_one()
    return list(session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()), total


def company(session: Session, company_id: int) -> Company | None:
    """One registrant, or None."""
    return session.get(Company, company_id)


def company_devices(session: Session, company_id: int) -> list[Device]:
    """Every certificate of a registrant (up to the export cap), by first-registration year."""
    f = DeviceFilter(company=company_id, sort="-year")
    return list(session.execute(lists.device_select(f).limit(lists.MAX_EXPORT_ROWS)).scalars())


def runs_page(session: Session, source: str | None, outcome: str | None, page: int,
              per_page: int) -> tuple[list[ScrapeRun], int]:
    """One page of scrape runs, newest first, of one source and/or outcome, and the total."""
    stmt = lists.runs_select(source, outcome)
    total = session.execute(lists.count_of(stmt)).scalar_one()
    return list(session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars()), total


def latest_runs(session: Session, per_source: int, source: str | None = None) -> list[ScrapeRun]:
    """The newest `per_source` runs of every source (or of one), grouped by source."""
    stmt = select(ScrapeRun).order_by(ScrapeRun.source, ScrapeRun.started_at.desc(), ScrapeRun.id.desc())
    if source:
        stmt = stmt.where(ScrapeRun.source == source)
    shown: dict[str, int] = {}
    out = []
    for run in session.execute(stmt).scalars():
        if shown.get(run.source, 0) < per_source:
            shown[run.source] = shown.get(run.source, 0) + 1
            out.append(run)
    return out


def source_document(session: Session, document_id: int) -> SourceDocument | None:
    """One stored source document (its provenance row), or None."""
    return session.get(SourceDocument, document_id)


def ai_evidence_of(session: Session, entity_type: str, ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The evidence entries of the classifier's standing AI tag of each given entity (why the rules call it AI), in
    rule order; entities without one are left out. An export renders them in the reader's language."""
    out: dict[int, list[dict[str, Any]]] = {}
    for batch in _batches(list(ids)):
        for entity_id, evidence in session.execute(select(Tag.entity_id, Tag.evidence).where(
                Tag.entity_type == entity_type, Tag.entity_id.in_(batch), Tag.facet == "ai", Tag.code == "ai",
                Tag.method == tag_rule.RULE, Tag.active.is_(True))):
            out[entity_id] = [e for e in evidence or () if isinstance(e, dict) and "field" in e]
    return out


def _batches(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
