"""Select builders shared by the web UI, exports, feeds, the JSON API and digests: a filter in, a `Select` out.

Nothing here opens a session or executes anything, and nothing imports Flask: a filter is a frozen dataclass parsed
from any string mapping (`from_args`) and turned back into one (`to_args`), so every list state is a shareable URL
and a digest subscription can store the same dict.

Search is a parameterised, escaped LIKE over a few text columns. Word-based full-text indexes do not segment Chinese
(a two-character term such as 器械 or 肺炎 is invisible to them), while a substring match finds it on SQLite and
PostgreSQL alike. On SQLite a bigram index (tracker.store.search) first narrows the rows the LIKE must read; the
LIKE still decides, so results are the same with or without it. The query is only ever data: `%`, `_` and `\\` are
escaped, the value is a bound parameter, and the index expression quotes every token.

Tag filters come from tracker.read.tags (the store's effective-tag rule as SQL). A count reads them in the
plan that counts fastest and a page in the plan that pages fastest for that count (`list_count`, `list_page`).
"""
from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Select, and_, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tracker.store import search as search_index
from tracker.classify import taxonomy
from tracker.read.tags import has_tag, page_lookup
from tracker.config import DEFAULT_TIMEZONE
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.records import ORIGINS
from tracker.store.models import Company, Device, Policy, ScrapeRun

MAX_QUERY_CHARS = 100
MAX_TERMS = 8
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_EXPORT_ROWS = 50_000
MAX_PAGE = 10_000
DATA_KINDS = ("live", "sample")


def escape_like(text: str) -> str:
    """`text` with LIKE wildcards and the escape character escaped (use with ``escape='\\\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(query: str | None) -> tuple[str, ...]:
    """The terms of a search box value: NFKC-normalised, cut to MAX_QUERY_CHARS, split on blanks, de-duplicated."""
    if not query:
        return ()
    text = unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS])
    terms: list[str] = []
    for term in text.split():
        if term not in terms:
            terms.append(term)
    return tuple(terms[:MAX_TERMS])


class contains_ci(FunctionElement):
    """`column` contains the LIKE pattern `pattern` (escaped with backslash), ignoring case: ILIKE on PostgreSQL.

    On SQLite, plain LIKE already ignores ASCII case and the built-in lower() folds only ASCII, so SQLAlchemy's
    `ilike` (lower(col) LIKE lower(?)) gives the same answer at about twice the cost of a scan; this compiles to LIKE.
    """

    type = Boolean()
    inherit_cache = True
    name = "contains_ci"

    def self_group(self, against=None):
        # Already a predicate: render it as it is, not as `(… LIKE …) = 1` on databases without a boolean type.
        return self


@compiles(contains_ci)
def _contains_ci(element, compiler, **kw):
    column, pattern = element.clauses
    return compiler.process(column.ilike(pattern, escape="\\"), **kw)


@compiles(contains_ci, "sqlite")
def _contains_ci_sqlite(element, compiler, **kw):
    column, pattern = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)


def _matches_all(terms: Iterable[str], columns: Iterable[Any]):
    """Every term must occur (case-insensitively) in at least one of the columns."""
    columns = list(columns)
    return and_(*(
        or_(*(contains_ci(col, f"%{escape_like(term)}%") for col in columns)) for term in terms
    ))


def _search(entity_type: str, terms: tuple[str, ...]) -> list[Any]:
    """The clauses of a search over an entity type's searchable columns: the index's candidates, then the match."""
    narrowed = search_index.search_clause(entity_type, terms)
    match = _matches_all(terms, search_index.SEARCHABLE[entity_type])
    return [match] if narrowed is None else [narrowed, match]


# ---------------------------------------------------------------- argument parsing (lenient: bad values are ignored)

def _text(args: Mapping[str, Any], name: str, limit: int = 100) -> str | None:
    value = args.get(name)
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())[:limit]
    return value or None


def _int(args: Mapping[str, Any], name: str, lo: int, hi: int) -> int | None:
    value = _text(args, name, 12)
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and lo <= number <= hi else None


def _date(args: Mapping[str, Any], name: str) -> date | None:
    value = _text(args, name, 10)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _flag(args: Mapping[str, Any], name: str) -> bool:
    return _text(args, name, 5) in ("1", "true", "on", "yes")


def _choice(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = _text(args, name, 40)
    return value if value in tuple(allowed) else None


def _code(args: Mapping[str, Any], name: str, facet: str, *, top: bool | None = None) -> str | None:
    """A taxonomy code of `facet` (top=True: a top-level area, top=False: a sub-area), else None."""
    value = _text(args, name, 80)
    if not value or not taxonomy.is_valid(value):
        return None
    node = taxonomy.get(value)
    if node.facet != facet or (top is True and node.parent) or (top is False and not node.parent):
        return None
    return value


def _sort(args: Mapping[str, Any], allowed: Iterable[str], default: str) -> str:
    value = _text(args, "sort", 20) or default
    return value if value.removeprefix("-") in tuple(allowed) else default


class _Filter:
    """What device and policy filters share: paging, sort and the round trip to URL arguments."""

    page: int
    per_page: int

    def to_args(self) -> dict[str, str]:
        """The URL arguments that reproduce this filter (defaults left out, so URLs stay short)."""
        out: dict[str, str] = {}
        defaults = type(self)()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == getattr(defaults, f.name) or value is None:
                continue
            name = f.metadata.get("arg", f.name)
            out[name] = "1" if value is True else value.isoformat() if isinstance(value, date) else str(value)
        return out

    def replace(self, **changes: Any):
        """A copy with some fields changed (a filter change goes back to page 1 unless `page` is given)."""
        changes.setdefault("page", 1)
        return dataclasses.replace(self, **changes)

    @property
    def offset(self) -> int:
        """Rows to skip for the current page."""
        return (self.page - 1) * self.per_page

    def is_empty(self) -> bool:
        """True when no filter (other than paging and sort) is set."""
        return not {k for k in self.to_args() if k not in ("page", "per_page", "sort")}


def _paging(args: Mapping[str, Any]) -> dict[str, int]:
    return {
        "page": _int(args, "page", 1, MAX_PAGE) or 1,
        "per_page": _int(args, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE,
    }


# ---------------------------------------------------------------------------------------------------- devices

DEVICE_SORTS = {
    "issued": Device.issued_on, "seen": Device.first_seen, "name": Device.product_name,
    "registrant": Device.registrant, "year": Device.first_reg_year, "cert": Device.cert_no,
}


@dataclass(frozen=True)
class DeviceFilter(_Filter):
    """Every filter of the approvals list; the field metadata names the URL argument where it differs."""

    q: str | None = None
    area: str | None = None
    sub: str | None = None
    function: str | None = None
    disease: str | None = None
    site: str | None = None
    signal: str | None = None
    ai: bool = False
    mgmt_class: int | None = dataclasses.field(default=None, metadata={"arg": "class"})
    origin: str | None = None
    year: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    seen_from: date | None = None
    registrant: str | None = None
    catalogue: str | None = None
    company: int | None = None
    data: str | None = None
    sort: str = "-issued"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "DeviceFilter":
        """Parse URL arguments (a MultiDict or any mapping of strings); unknown or malformed values are dropped."""
        return cls(
            q=_text(args, "q", MAX_QUERY_CHARS), area=_code(args, "area", "area", top=True),
            sub=_code(args, "sub", "area", top=False), function=_code(args, "function", "function"),
            disease=_code(args, "disease", "disease"), site=_code(args, "site", "site"),
            signal=_code(args, "signal", "signal"), ai=_flag(args, "ai"), mgmt_class=_int(args, "class", 1, 3),
            origin=_choice(args, "origin", ORIGINS), year=_int(args, "year", 1980, 2100),
            issued_from=_date(args, "issued_from"), issued_to=_date(args, "issued_to"),
            seen_from=_date(args, "seen_from"), registrant=_text(args, "registrant", 300),
            catalogue=_text(args, "catalogue", 32), company=_int(args, "company", 1, 2**31 - 1),
            data=_choice(args, "data", DATA_KINDS), sort=_sort(args, DEVICE_SORTS, "-issued"), **_paging(args),
        )


def _day_start(day: date) -> datetime:
    # Dates in filters are the dates shown on screen: days in the tracker's display time zone (Beijing time).
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(DEFAULT_TIMEZONE))


def device_conditions(f: DeviceFilter, lookup: str = "exists") -> list[Any]:
    """The WHERE clauses of a device filter (`lookup`: how tag filters find rows, see TAG_LOOKUPS)."""
    conds: list[Any] = []
    if terms := search_terms(f.q):
        conds += _search("device", terms)
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
    if f.registrant:
        conds.append(Device.registrant.ilike(f"%{escape_like(f.registrant)}%", escape="\\"))
    if f.catalogue:
        conds.append(Device.catalogue_code.like(f"{escape_like(f.catalogue)}%", escape="\\"))
    if f.company is not None:
        conds.append(Device.company_id == f.company)
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

POLICY_SORTS = {"date": Policy.published_on, "seen": Policy.first_seen, "title": Policy.title, "issuer": Policy.issuer}
# Policy.doc_type holds the Chinese label of TAXONOMY.md §4 (tracker.ids.policytype); URLs carry the stable code.
POLICY_TYPE_LABELS = {node.code: node.zh for node in taxonomy.nodes("policy_type")}


@dataclass(frozen=True)
class PolicyFilter(_Filter):
    """Every filter of the policies list."""

    q: str | None = None
    area: str | None = None
    doc_type: str | None = dataclasses.field(default=None, metadata={"arg": "type"})
    issuer: str | None = None
    stage: str | None = None
    scenario: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    ai: bool = False
    data: str | None = None
    sort: str = "-date"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "PolicyFilter":
        """Parse URL arguments; unknown or malformed values are dropped."""
        return cls(
            q=_text(args, "q", MAX_QUERY_CHARS), area=_code(args, "area", "area"),
            doc_type=_code(args, "type", "policy_type"), issuer=_code(args, "issuer", "issuer"),
            stage=_choice(args, "stage", POLICY_STAGES), scenario=_code(args, "scenario", "scenario"),
            date_from=_date(args, "date_from"), date_to=_date(args, "date_to"), ai=_flag(args, "ai"),
            data=_choice(args, "data", DATA_KINDS), sort=_sort(args, POLICY_SORTS, "-date"), **_paging(args),
        )


def policy_conditions(f: PolicyFilter, lookup: str = "exists") -> list[Any]:
    """The WHERE clauses of a policy filter (`lookup`: how tag filters find rows, see TAG_LOOKUPS)."""
    conds: list[Any] = []
    if terms := search_terms(f.q):
        conds += _search("policy", terms)
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
        stmt = stmt.where(_matches_all(terms, (Company.name, Company.name_en, Company.credit_code)))
    return stmt


def runs_select(source: str | None = None, outcome: str | None = None) -> Select:
    """Scrape runs, newest first, optionally of one source and/or one outcome."""
    stmt = select(ScrapeRun).order_by(ScrapeRun.started_at.desc(), ScrapeRun.id.desc())
    if source:
        stmt = stmt.where(ScrapeRun.source == source)
    if outcome:
        stmt = stmt.where(ScrapeRun.outcome == outcome)
    return stmt

