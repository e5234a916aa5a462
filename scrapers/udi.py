"""NMPA UDI database bulk download (udi.nmpa.gov.cn/download.html): the primary structured device feed.

The download page lists ZIP files (full release, weekly and daily updates) with a creation date, record count, size
and MD5 (SOURCES.md §1). `crawl` picks the files not yet ingested, downloads each with a size cap, checks its MD5
before anything is parsed, and hands the runs layer a lazy stream of `DeviceRecord`s: one per certificate, with the
certificate's DIs grouped across all XML parts of the file (in a scratch SQLite file, so memory stays flat however
many rows are in scope; see `_Grouper`). The archive/XML reading itself, and its defences against hostile files, live
in `scrapers.udi_xml`.

Scope: by default only class-III registrations are kept (every category: whether a device is AI is a classifier
facet, not a filter here); `udi_scope="all_registrations"` widens it to class II. Filings (备案) are never kept.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
import tempfile
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping
from urllib.parse import urljoin

from bs4 import Tag
from lxml import etree

from scrapers._dates import find_date, parse_date
from scrapers._html import element_text, make_soup, normalise_space
from scrapers.udi_xml import ArchiveLimits, UdiArchiveError, iter_devices, iter_parts
from tracker import certno
from tracker.records import CrawlContext, DeviceRecord, LayoutChanged, Page, ParseStats

SLUG = "udi"
TITLE_ZH = "UDI 数据库批量下载"
TITLE_EN = "UDI database bulk download"
KIND = "device"
NEEDS_BROWSER = False
BROWSER_LIKE_HEADERS = False
DEFAULT_BASE_URL = "https://udi.nmpa.gov.cn"

LISTING_PATH = "download.html"
SCOPES = ("class3", "all_registrations")
DEFAULT_MAX_DOWNLOAD_BYTES = 2**30  # the full release is about 285 MB
MODEL_SPEC_MAX_CHARS = 1000
_KINDS = (("UDID_FULL_RELEASE_", "full"), ("UDID_WEEKLY_UPDATE_", "weekly"), ("UDID_DAY_UPDATE_", "daily"))
_KIND_ORDER = {"full": 0, "weekly": 1, "daily": 2}
_FILE_DATE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
_MD5 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
_COUNT = re.compile(r"(?:记录数|记录|条数|数量)\D{0,4}?(\d[\d,]*)")
_HTML_START = re.compile(r"\ufeff?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # survives as character references (&#1;)

# UDI tag → DeviceRecord field for the per-certificate facts (taken from the newest version of any of its DIs).
_CERT_FIELDS = {
    "cpmctymc": "product_name", "spmc": "brand", "cpms": "description", "flbm": "catalogue_code",
    "qxlb": "device_kind", "ylqxzcrbarmc": "registrant", "ylqxzcrbarywmc": "registrant_en",
    "tyshxydm": "credit_code",
}
_ROW_TAGS = frozenset(_CERT_FIELDS) | {"zxxsdycpbs", "cpbsfbrq", "tsrq", "ggxh", "versionNumber", "versionTime",
                                       "versionStauts", "deviceRecordKey"}
CERT_TAG = "zczbhhzbapzbh"


@dataclass(frozen=True)
class UdiFile:
    """One file offered on download.html (not a store record): name, absolute URL and the facts listed with it."""

    name: str
    url: str
    created_on: date | None
    record_count: int | None
    size_text: str | None
    md5: str
    kind: str  # "full" | "weekly" | "daily"

    @property
    def file_date(self) -> date | None:
        """The date the file's name carries (a weekly file's end date), else the listing's creation date."""
        return name_date(self.name) or self.created_on


def file_kind(name: str) -> str | None:
    """"full", "weekly" or "daily" from a UDI file name; None for any other file."""
    upper = name.upper()
    return next((kind for prefix, kind in _KINDS if upper.startswith(prefix)), None)


def name_date(name: str) -> date | None:
    """The last YYYYMMDD date in a UDI file name (a weekly file's end date), or None."""
    found = _FILE_DATE.findall(name)
    return parse_date(found[-1]) if found else None


def listing_url(base_url: str) -> str:
    """The URL of download.html below a base URL (the real site or a local sample server)."""
    return base_url if base_url.endswith(LISTING_PATH) else base_url.rstrip("/") + "/" + LISTING_PATH


def parse_listing(text: str, base_url: str = DEFAULT_BASE_URL) -> list[UdiFile]:
    """The UDI files listed on download.html, in page order (newest first on the real site).

    Each `.els-down-con-info` block holds an `<a download=NAME>`, a div of creation date / record count / size
    and a div with the MD5. A page without blocks, a block without its link or MD5, or a page with no UDID_* file
    raises LayoutChanged naming the missing part. Files of unknown kinds (not full/weekly/daily) are left out.
    """
    page_url = listing_url(base_url)
    soup = make_soup(text)
    blocks = soup.select(".els-down-con-info")
    if not blocks:
        raise LayoutChanged(".els-down-con-info", url=page_url)
    files = []
    for block in blocks:
        link = block.find("a", attrs={"download": True}) or block.find("a", href=True)
        if link is None or not link.get("href"):
            raise LayoutChanged(".els-down-con-info > a[download]", url=page_url)
        name = normalise_space(str(link.get("download") or "")) or element_text(link)
        kind = file_kind(name)
        if kind is None:
            continue
        divs = block.find_all("div", recursive=False)
        info = divs[0] if divs else None
        md5_match = _MD5.search(element_text(divs[1]) if len(divs) > 1 else element_text(block))
        if md5_match is None:
            raise LayoutChanged(f"MD5 of {name} in .els-down-con-info", url=page_url)
        created_on, record_count, size_text = _info_facts(info)
        files.append(UdiFile(name=name, url=urljoin(page_url, str(link["href"]).strip()), created_on=created_on,
                             record_count=record_count, size_text=size_text, md5=md5_match.group().lower(),
                             kind=kind))
    if not files:
        raise LayoutChanged("UDID_* file names in .els-down-con-info", url=page_url)
    return files


def _info_facts(info: Tag | None) -> tuple[date | None, int | None, str | None]:
    """Creation date, record count and size text from the info div: label/value pairs of children, in this order.

    The values are taken by position (children 1, 3, 5), as the page is known to lay them out; the count falls back
    to a label search so a reordered div does not yield a wrong number. All three are informational only.
    """
    if info is None:
        return None, None, None
    parts = [element_text(child) for child in info.find_all(True, recursive=False)]
    whole = element_text(info)
    created_on = find_date(parts[1]) if len(parts) > 1 else None
    created_on = created_on or find_date(whole)
    count_text = parts[3] if len(parts) > 3 and re.fullmatch(r"[\d,]+", parts[3]) else None
    if count_text is None:
        labelled = _COUNT.search(whole)
        count_text = labelled.group(1) if labelled else None
    record_count = int(count_text.replace(",", "")) if count_text else None
    size_text = (parts[5] if len(parts) > 5 else None) or None
    return created_on, record_count, size_text


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[DeviceRecord]:
    """The in-scope (class III) certificates of one small UDI XML document, one DeviceRecord per certificate.

    The download page is a list page with no records of its own: it gives [] (after checking its layout with
    `parse_listing`, which raises LayoutChanged when the file blocks are gone). Any other text that is not a
    `<udid>` document raises LayoutChanged("udid root").
    """
    if _HTML_START.match(text[:2048]):
        parse_listing(text, base_url)
        return []
    stats = ParseStats()
    with _grouping("class3", stats, on_disk=False) as grouper:  # one small document: the scratch store fits in memory
        for elem in iter_devices(_StringPart(text), stats, where="XML text", encoding="utf-8"):
            grouper.add(elem)
        return list(grouper.records(None))


class _StringPart:
    """A str served to the parser as UTF-8 bytes (the parser is told the encoding, whatever the declaration says)."""

    def __init__(self, text: str) -> None:
        self._data = memoryview(text.encode("utf-8"))
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos:end])
        self._pos += len(chunk)
        return chunk


def parse_file(path: str | Path, stats: ParseStats, *, scope: str = "class3",
               limits: ArchiveLimits = ArchiveLimits(), source_url: str | None = None,
               options: Mapping[str, Any] | None = None) -> Iterator[DeviceRecord]:
    """Stream the DeviceRecords of a UDI download on disk: a .zip (nested ZIPs allowed) or a single .xml part.

    `stats` is filled in as the iterator is consumed: `skipped` counts malformed device rows (no or unreadable
    certificate number), `out_of_scope` rows outside `scope`, `notes` recovered XML errors; `complete` becomes
    True at the end for a full release (UDID_FULL_RELEASE_*). Raises UdiArchiveError
    for damaged/truncated files or a safety cap (`limits`), LayoutChanged for a part whose root is not `<udid>`.
    """
    scope = (options or {}).get("udi_scope", scope)  # the runs layer hands the same options a crawl gets
    path = Path(path)
    with open(path, "rb") as fh:
        yield from iter_records(fh, path.name, stats, scope=scope, limits=limits, source_url=source_url)


def ingest_sort_key(path: Path) -> tuple:
    """Order of local files for `tracker ingest`, as crawl orders downloads: oldest first, a full release before
    the updates of its day, anything else (download.html) first. Alphabetical order would store an old full
    release after newer daily files and mark their certificates missing."""
    kind = file_kind(path.name)
    return (name_date(path.name) or date.min, _KIND_ORDER[kind] if kind else -1, path.name)


def iter_records(source: IO[bytes], name: str, stats: ParseStats, *, scope: str = "class3",
                 limits: ArchiveLimits = ArchiveLimits(), source_url: str | None = None) -> Iterator[DeviceRecord]:
    """Like `parse_file`, over an open seekable binary file; a ZIP is recognised by its magic bytes."""
    with _grouping(scope, stats) as grouper:  # its scratch file is removed however this generator ends
        for elem in _device_elements(source, name, stats, limits):
            grouper.add(elem)
        # Nothing is yielded before the whole file has been read: a certificate's DIs may sit in any part, and a
        # file that turns out to be damaged at the end must yield nothing at all.
        yield from grouper.records(source_url)
    # Only a full release that was read to its end lists every certificate (absent ones may then be marked missing).
    stats.complete = file_kind(name) == "full"


def _device_elements(source: IO[bytes], name: str, stats: ParseStats,
                     limits: ArchiveLimits) -> Iterator[etree._Element]:
    """The `<device>` elements of a ZIP (every XML part, nested ZIPs included) or of a single XML part."""
    head = source.read(4)
    source.seek(0)
    if not head.startswith(b"PK"):
        yield from iter_devices(source, stats, where=name)
        return
    for part in iter_parts(source, name, limits, stats=stats):
        yield from iter_devices(part, stats)


@lru_cache(maxsize=1_024)
def _cert(raw: str) -> certno.CertNo | None:
    # Rows of one certificate tend to sit together, so a small cache saves most of the parsing.
    return certno.try_parse(raw)


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = normalise_space(_CONTROL.sub("", text))
    return text or None


def _version(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


class _Grouper:
    """Collects in-scope device rows by certificate, keeping only the highest version of each deviceRecordKey.

    Out-of-scope rows are counted and dropped at once. The kept rows go to a scratch SQLite file, because nothing can
    be yielded before the last XML part (a certificate's DIs may sit in any of them) and holding the rows in memory
    would grow with the release: about 1 KB per class-III row, some 300 MB for a full release, more for a wider scope.
    The scratch file is this parser's working memory, not the tracker's database (`tracker.store`): it lives in a
    private temporary folder that `_grouping` removes, and the scraper still never touches the store.

    Rules (as the NMPA versioning needs them): of the rows of one record key, the highest `versionNumber` wins (on a
    tie, the later row); a deleted version removes its DI; a certificate's facts come from its row with the newest
    (`versionTime`, `versionNumber`), the later row on a tie, counting rows later superseded too.
    """

    def __init__(self, classes: tuple[int, ...], stats: ParseStats, db: sqlite3.Connection) -> None:
        self.classes = classes
        self.stats = stats
        self.rows = 0  # device rows read, in scope or not; also the order of the rows kept
        self.keyed = 0  # in-scope rows filed under their record key
        self._db = db

    def add(self, elem: etree._Element) -> None:
        """Take one `<device>` element (read before the parser moves on)."""
        self.rows += 1
        cert = self._in_scope_cert(elem)
        if cert is not None:
            self._keep(cert, {child.tag: child.text for child in elem if child.tag in _ROW_TAGS})

    def _in_scope_cert(self, elem: etree._Element) -> certno.CertNo | None:
        """The row's certificate if the row is in scope; else None, the row counted as skipped or out of scope."""
        # iterchildren filters by tag in C: a third of findtext's cost (a path search), paid on every row.
        found = next(elem.iterchildren(CERT_TAG), None)
        raw = (found.text or "").strip() if found is not None else ""
        cert = _cert(raw) if raw else None
        if cert is None:
            self.stats.skipped += 1
        elif not cert.is_registration or cert.mgmt_class not in self.classes:
            self.stats.out_of_scope += 1
        else:
            return cert
        return None

    def _keep(self, cert: certno.CertNo, row: dict[str, str | None]) -> None:
        """File an in-scope row under its record key unless a higher version was read, and offer its facts."""
        version = _version(row.get("versionNumber"))
        di = _clean(row.get("zxxsdycpbs"))
        key = _clean(row.get("deviceRecordKey")) or di or f"#{self.rows}"
        deleted = "删除" in (row.get("versionStauts") or "")  # *unverified* status value: a deleted DI is not kept
        self.keyed += 1
        kept = self._db.execute(_KEEP_ROW, (
            key, version, self.rows, cert.normalised, deleted, di, _iso(parse_date(row.get("cpbsfbrq"))),
            _iso(parse_date(row.get("tsrq"))), (_clean(row.get("ggxh")) or "")[:200] or None)).rowcount
        if not kept or deleted:  # an older version than one already read says nothing about the certificate
            return
        # The texts are stored raw and cleaned once per certificate on the way out, not for every version read.
        self._db.execute(_KEEP_FACTS, (
            cert.normalised, (row.get("versionTime") or "").strip(), version, cert.mgmt_class, cert.origin,
            cert.year, *(row.get(tag) for tag in _CERT_FIELDS)))

    def records(self, source_url: str | None) -> Iterator[DeviceRecord]:
        """One DeviceRecord per certificate, sorted by certificate number; adds a summary note to the stats."""
        kept = 0
        # SQLite's default (BINARY) collation compares UTF-8 bytes, which orders text as Python's sorted() does.
        self._db.execute("CREATE INDEX di_row_by_cert ON di_row (cert, seq)")
        for cert_no, group in groupby(self._db.execute(_GROUPS), key=itemgetter(0)):
            rows = list(group)
            facts = _facts(rows[0][len(_ROW_COLUMNS):])
            if not facts["product_name"]:
                self.stats.skipped += len(rows)
                continue
            kept += 1
            yield _record(cert_no, facts, [(di, _date(p), _date(w), m) for _, di, p, w, m, *_ in rows], source_url)
        # Every in-scope row after the first of its key superseded one or was superseded: one row per key remains.
        superseded = self.keyed - self._db.execute("SELECT count(*) FROM di_row").fetchone()[0]
        self.stats.notes.append(f"{self.rows} device rows read, {kept} certificates kept, "
                                f"{superseded} superseded versions merged")


# The scratch store: one row per record key (its kept version) and one per certificate (its newest facts).
_CERT_NO_COLUMNS = ("mgmt_class", "origin", "first_reg_year")  # named as DeviceRecord fields, like the texts
_FACT_COLUMNS = (*_CERT_NO_COLUMNS, *_CERT_FIELDS.values())
_ROW_COLUMNS = ("cert", "di", "published", "withdrawn", "model")  # what _GROUPS reads of a row, before the facts


def _upsert(table: str, columns: str, condition: str) -> str:
    """An INSERT of one row (key first) that overwrites a row of the same key only where `condition` holds."""
    names = columns.split()
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:])
    return (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
            f"ON CONFLICT ({names[0]}) DO UPDATE SET {updates} WHERE {condition}")


_KEEP_ROW = _upsert("di_row", "record_key version seq cert deleted di published withdrawn model",
                    "excluded.version >= di_row.version")
_KEEP_FACTS = _upsert("cert_facts", "cert version_time version " + " ".join(_FACT_COLUMNS),
                      "(excluded.version_time, excluded.version) >= (cert_facts.version_time, cert_facts.version)")
_GROUPS = (f"SELECT {', '.join('r.' + c for c in _ROW_COLUMNS)}, {', '.join('f.' + c for c in _FACT_COLUMNS)} "
           "FROM di_row r JOIN cert_facts f ON f.cert = r.cert WHERE NOT r.deleted ORDER BY r.cert, r.seq")
_SCHEMA = f"""
CREATE TABLE di_row (record_key TEXT PRIMARY KEY, version INTEGER NOT NULL, seq INTEGER NOT NULL,
                     cert TEXT NOT NULL, deleted INTEGER NOT NULL, di TEXT, published TEXT, withdrawn TEXT,
                     model TEXT);
CREATE TABLE cert_facts (cert TEXT PRIMARY KEY, version_time TEXT NOT NULL, version INTEGER NOT NULL,
                         {", ".join(_FACT_COLUMNS)});
"""


@contextmanager
def _grouping(scope: str, stats: ParseStats, *, on_disk: bool = True) -> Iterator[_Grouper]:
    """A _Grouper over a fresh scratch store (a file, or memory for small inputs), deleted when the block ends,
    however it ends: after the last record, on an error mid-file, or when the consumer stops early."""
    if scope not in SCOPES:
        raise ValueError(f"unknown UDI scope {scope!r} (expected one of {', '.join(SCOPES)})")
    classes = (3,) if scope == "class3" else (2, 3)
    folder = tempfile.TemporaryDirectory(prefix="udi-grouping-") if on_disk else nullcontext(None)
    with folder as path, closing(_scratch_db(os.path.join(path, "grouping.sqlite3") if path else ":memory:")) as db:
        yield _Grouper(classes, stats, db)


def _scratch_db(path: str) -> sqlite3.Connection:
    """A fresh scratch store at `path` (or ":memory:")."""
    db = sqlite3.connect(path)
    # Thrown away after one file, so no durability is needed; the rollback journal stays in memory, where it is
    # nearly empty (a transaction on a new file has no old pages to keep).
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(_SCHEMA)
    return db


def _facts(values: tuple) -> dict[str, Any]:
    """DeviceRecord fields of a certificate from the _FACT_COLUMNS of its cert_facts row, the texts cleaned."""
    facts = dict(zip(_FACT_COLUMNS, values))
    for field in _CERT_FIELDS.values():
        facts[field] = _clean(facts[field])
    return facts


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _record(cert_no: str, facts: dict[str, Any], rows: list[tuple], source_url: str | None) -> DeviceRecord:
    """The DeviceRecord of one certificate from its facts and its kept rows (di, published, withdrawn, model)."""
    dis = sorted({di for di, _, _, _ in rows if di})
    published = [p for _, p, _, _ in rows if p]
    withdrawn = [w for _, _, w, _ in rows]
    models = list(dict.fromkeys(m for _, _, _, m in rows if m))
    model_spec = "；".join(models) or None
    if model_spec and len(model_spec) > MODEL_SPEC_MAX_CHARS:
        model_spec = model_spec[:MODEL_SPEC_MAX_CHARS - 1] + "…"
    return DeviceRecord(
        cert_no=cert_no, udi_di=tuple(dis), di_published_on=min(published) if published else None,
        # A certificate is withdrawn only when every one of its DIs has a 退市日期.
        withdrawn_on=max(withdrawn) if withdrawn and all(withdrawn) else None,
        model_spec=model_spec, source_url=source_url, **facts)


def select_files(files: Iterable[UdiFile], known_keys: Iterable[str], *, bootstrap: bool = False,
                 max_files: int | None = None) -> list[UdiFile]:
    """The files a run should ingest, oldest first.

    Daily and weekly files not in `known_keys` and newer than the newest full release already ingested; when
    `bootstrap` is asked on an empty store, the newest listed full release first (and the updates after it).
    At most `max_files` files (the oldest ones: the next run continues from there).
    """
    files = list(files)
    known = set(known_keys)
    floor = max((d for d in (name_date(n) for n in known if file_kind(n) == "full") if d), default=None)
    chosen: list[UdiFile] = []
    fulls = [f for f in files if f.kind == "full"]
    if bootstrap and not known and fulls:
        newest = max(fulls, key=_age_key)
        chosen.append(newest)
        floor = newest.file_date
    for f in files:
        if f.kind in ("daily", "weekly") and f.name not in known:
            if floor is None or (f.file_date is not None and f.file_date > floor):
                chosen.append(f)
    chosen.sort(key=_age_key)
    return chosen[:max_files] if max_files else chosen


def _age_key(f: UdiFile) -> tuple[date, int, str]:
    return (f.file_date or date.min, _KIND_ORDER[f.kind], f.name)


def verify_md5(content: bytes, udi_file: UdiFile) -> None:
    """Raise UdiArchiveError unless `content` has the MD5 the listing gave for `udi_file`."""
    got = hashlib.md5(content).hexdigest()
    if got != udi_file.md5.lower():
        raise UdiArchiveError(f"md5 mismatch for {udi_file.name}: expected {udi_file.md5} got {got}")


def crawl(fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Fetch download.html (yielded as a record-less Page for provenance), then each selected file, oldest first.

    Options (ctx.options): `udi_scope` ("class3" or "all_registrations"), `udi_max_download_bytes`,
    `udi_max_unpacked_bytes`, `udi_max_members`. A file whose MD5 differs from the listing raises UdiArchiveError
    before its Page is yielded, so nothing from it is stored. Each file's Page is keyed by the file name; its stats
    become `complete` only for a full release, once its records have been consumed.
    """
    scope = ctx.options.get("udi_scope", "class3")
    if scope not in SCOPES:
        raise ValueError(f"unknown udi_scope {scope!r} (expected one of {', '.join(SCOPES)})")
    limits = ArchiveLimits(
        max_unpacked_bytes=int(ctx.options.get("udi_max_unpacked_bytes", ArchiveLimits.max_unpacked_bytes)),
        max_members=int(ctx.options.get("udi_max_members", ArchiveLimits.max_members)))
    max_bytes = int(ctx.options.get("udi_max_download_bytes", DEFAULT_MAX_DOWNLOAD_BYTES))
    page_url = listing_url(ctx.base_url)
    listing = fetcher.get(page_url)
    files = parse_listing(listing.text(), page_url)
    yield Page(response=listing, records=[], key=None)
    for udi_file in select_files(files, ctx.known_keys, bootstrap=ctx.bootstrap, max_files=ctx.max_pages):
        response = fetcher.get(udi_file.url, headers={"Referer": page_url}, max_bytes=max_bytes)
        verify_md5(response.content, udi_file)
        stats = ParseStats()  # `complete` is set once a full release has been read to its end
        records = _records_of(response.content, udi_file, stats, scope, limits)
        yield Page(response=response, records=records, stats=stats, key=udi_file.name)


def _records_of(content: bytes, udi_file: UdiFile, stats: ParseStats, scope: str,
                limits: ArchiveLimits) -> Iterator[DeviceRecord]:
    # The response already holds the bytes; BytesIO shares them, so no temporary file is needed.
    yield from iter_records(io.BytesIO(content), udi_file.name, stats, scope=scope, limits=limits,
                            source_url=udi_file.url)


__all__ = ["SLUG", "TITLE_ZH", "TITLE_EN", "KIND", "NEEDS_BROWSER", "BROWSER_LIKE_HEADERS", "DEFAULT_BASE_URL",
           "UdiFile", "UdiArchiveError", "ArchiveLimits", "parse", "parse_listing", "parse_file", "iter_records",
           "select_files", "verify_md5", "crawl", "file_kind", "listing_url", "name_date"]
