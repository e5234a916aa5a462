"""The scraper → store contract: plain frozen dataclasses, no SQLAlchemy and no I/O, and what a scraper module provides.

A scraper's `parse` returns these; `tracker.store.write` is the only code that turns them into rows.
Dates are `datetime.date`; everything textual is already whitespace-normalised by the scraper.
`SourceModule` is the shape of a scraper module (scrapers/<slug>.py) as the tracker code that is handed one sees it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Union

if TYPE_CHECKING:  # the contract names the fetch layer's types without importing it at run time
    from tracker.fetch.base import Fetcher, Response

ORIGINS = ("domestic", "imported", "hmt")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a policy page (name as shown, absolute URL, lower-case extension)."""

    name: str
    url: str
    file_type: str


@dataclass(frozen=True)
class DeviceRecord:
    """One registration certificate as a source describes it; `cert_no` is already normalised."""

    cert_no: str
    product_name: str
    registrant: str | None = None
    registrant_en: str | None = None
    credit_code: str | None = None
    brand: str | None = None
    mgmt_class: int | None = None
    origin: str | None = None
    first_reg_year: int | None = None
    catalogue_code: str | None = None
    model_spec: str | None = None
    description: str | None = None
    device_kind: str | None = None
    issued_on: date | None = None
    acceptance_no: str | None = None
    udi_di: tuple[str, ...] = ()
    di_published_on: date | None = None
    withdrawn_on: date | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class FieldCorrection:
    """One field a correction notice corrects, in the notice's words: "注册人住所由“A”更正为“B”"."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ApprovalEvent:
    """A row of an NMPA approval-delivery notice (批准证明文件送达信息): one certificate issued or corrected.

    A correction row (`is_correction`) carries its `issued_on` as the correction's date, never the certificate's
    approval date, and `corrections` lists the fields it corrects when its 纠错内容 column reads as such.
    """

    cert_no: str
    product_name: str
    registrant: str | None
    acceptance_no: str | None
    issued_on: date | None
    notice_date: date | None
    is_correction: bool
    raw_row: str
    source_url: str | None = None
    corrections: tuple[FieldCorrection, ...] = ()


@dataclass(frozen=True)
class NewsRecord:
    """An NMPA news item announcing approvals (e.g. "批准…创新产品注册"), with the products it names."""

    title: str
    url: str
    published_on: date | None
    summary: str | None = None
    products: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    cert_nos: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyRecord:
    """One policy document (law, rule, notice, guidance, draft, interpretation) as a source lists it.

    `issuer` and `doc_no` are canonical (short issuer label, rebuilt number: what de-duplication and filters use);
    `issuer_printed` and `doc_no_printed` are the words the page prints (its 发文机关 / 文号 field, its title, its
    signature block), whitespace-normalised and nothing else, for a reader who quotes the record.
    """

    title: str
    url: str
    issuer: str | None = None
    doc_no: str | None = None
    issuer_printed: str | None = None
    doc_no_printed: str | None = None
    doc_type: str | None = None
    stage: str | None = None
    published_on: date | None = None
    written_on: date | None = None
    summary: str | None = None
    body: str | None = None
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()


Record = Union[DeviceRecord, ApprovalEvent, NewsRecord, PolicyRecord]


def to_json_dict(record: Record) -> dict[str, Any]:
    """A JSON-ready dict of a record: dates as ISO strings, tuples as lists, a `kind` key first."""

    def convert(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if dataclasses.is_dataclass(value):
            return {k: convert(v) for k, v in dataclasses.asdict(value).items()}
        if isinstance(value, (tuple, list)):
            return [convert(v) for v in value]
        return value

    out: dict[str, Any] = {"kind": type(record).__name__}
    for f in dataclasses.fields(record):
        out[f.name] = convert(getattr(record, f.name))
    return out



class LayoutChanged(Exception):
    """A page or file no longer has an element the parser anchors on (the list, the table, the XML root).

    The message names what was missing, so a run record says exactly what broke.
    """

    def __init__(self, what: str, *, url: str | None = None):
        self.what = what
        self.url = url
        super().__init__(f"layout changed: {what} not found" + (f" in {url}" if url else ""))


@dataclass(frozen=True)
class CrawlContext:
    """What a scraper's `crawl` may know about the store, handed in by the runs layer (scrapers never query it).

    `since` is the date of the last successful run (None on a first run); `known_keys` are keys the store already has
    for this source (e.g. UDI file names already ingested, detail URLs already stored); `options` carries
    source-specific settings (e.g. {"udi_scope": "class3"}).
    """

    base_url: str
    since: date | None = None
    known_keys: frozenset[str] = frozenset()
    bootstrap: bool = False
    max_pages: int = 5
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class ParseStats:
    """Counters a parser fills in while it streams records: what it left out and whether the listing is complete."""

    skipped: int = 0
    out_of_scope: int = 0
    listed: int = 0  # items a list page showed (known or not): a healthy list with nothing new is not "empty"
    complete: bool = False
    notes: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Page:
    """One fetched document and the records parsed from it; the runs layer archives `response` and links the records.

    `records` may be a lazy iterator (UDI streams millions of rows); `stats` is filled in while it is consumed:
    `stats.complete` True means the records are a complete listing of the source (only then may absent rows be marked
    missing). `key` is what goes into `known_keys` next time (a file name, a URL).
    """

    response: "Response"
    records: Iterable[Record]
    stats: ParseStats = dataclasses.field(default_factory=ParseStats)
    key: str | None = None
    local_file: Path | None = None  # an imported file whose bytes stay on disk (response.content is then empty)


class SourceModule(Protocol):
    """A scraper module, scrapers/<slug>.py: pure parsers, a network crawl, and the source's own settings.

    The tracker never imports scrapers: the composition roots (tracker.cli, web.create_app) take them from the
    `scrapers.SOURCES` registry and hand them down as this. Two optional functions are used when present:
    `parse_file(path, stats, *, options)` streams the records of a bulk file on disk (.zip / .xml), and
    `ingest_sort_key(path)` orders the files of a folder for `tracker ingest`.
    """

    SLUG: str  # the one name of the source: module, fixtures, tests, job id, `source` column
    TITLE_ZH: str
    TITLE_EN: str
    KIND: str  # "device" | "policy"
    NEEDS_BROWSER: bool  # behind an anti-bot challenge: fetch with the browser fetcher
    BROWSER_LIKE_HEADERS: bool  # the site refuses script User-Agents
    DEFAULT_BASE_URL: str  # overridden by TRACKER_SOURCE_<SLUG>_URL
    SCHEDULE: str  # when the scheduler runs it: a 5-field crontab in Beijing time (TRACKER_SCHEDULE_SCRAPE_<SLUG> wins)
    TIME_LIMIT: float  # seconds a scheduled run may take before it is stopped (TRACKER_TIME_LIMIT_<SLUG> wins)
    STALE_AFTER: timedelta  # how long it may go without a good run before its health is bad

    def parse(self, text: str, base_url: str = ...) -> list[Record]:
        """The records of one saved page (pure: no I/O); raises LayoutChanged naming a missing anchor."""

    def crawl(self, fetcher: "Fetcher", ctx: CrawlContext) -> Iterable[Page]:
        """Fetch what is new since ctx.since and yield one Page per fetched document."""
