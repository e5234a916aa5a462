"""NMPA UDI database bulk download (udi.nmpa.gov.cn/download.html): the primary structured device feed.

The download page lists ZIP files (full release, weekly and daily updates) with a creation date, record count, size
and MD5 (SOURCES.md §1). `crawl` picks the files not yet ingested, downloads each with a size cap, checks its MD5
before anything is parsed, and hands the runs layer a lazy stream of `DeviceRecord`s: one per certificate, with the
certificate's DIs grouped across all XML parts of the file (in a scratch SQLite file, so memory stays flat however
many rows are in scope: `scrapers.udi_group`). The archive/XML reading itself, and its defences against hostile
files, live in `scrapers.udi_xml`.

Scope: by default only class-III registrations are kept (every category: whether a device is AI is a classifier
facet, not a filter here); `udi_scope="all_registrations"` widens it to class II. Filings (备案) are never kept.
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping
from urllib.parse import urljoin

from bs4 import Tag
from lxml import etree

from scrapers._dates import find_date, parse_date
from scrapers._html import element_text, make_soup, normalise_space
from scrapers.udi_group import SCOPES, grouping
from scrapers.udi_xml import ArchiveLimits, UdiArchiveError, iter_devices, iter_parts
from tracker.records import CrawlContext, DeviceRecord, LayoutChanged, Page, ParseStats

SLUG = "udi"
TITLE_ZH = "UDI 数据库批量下载"
TITLE_EN = "UDI database bulk download"
KIND = "device"
NEEDS_BROWSER = False
BROWSER_LIKE_HEADERS = False
DEFAULT_BASE_URL = "https://udi.nmpa.gov.cn"
# The day's update file is published overnight: read it in the morning (Beijing time). A bootstrap downloads and
# parses the ~285 MB full release, hence the long time limit; a daily feed three days late needs a look.
SCHEDULE = "30 9 * * *"
TIME_LIMIT = 3 * 3600
STALE_AFTER = timedelta(days=3)

LISTING_PATH = "download.html"
DEFAULT_MAX_DOWNLOAD_BYTES = 2**30  # the full release is about 285 MB
_KINDS = (("UDID_FULL_RELEASE_", "full"), ("UDID_WEEKLY_UPDATE_", "weekly"), ("UDID_DAY_UPDATE_", "daily"))
_KIND_ORDER = {"full": 0, "weekly": 1, "daily": 2}
_FILE_DATE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
_MD5 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
_COUNT = re.compile(r"(?:记录数|记录|条数|数量)\D{0,4}?(\d[\d,]*)")
_HTML_START = re.compile(r"\ufeff?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)


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
    with grouping("class3", stats, on_disk=False) as grouper:  # one small document: the scratch store fits in memory
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
    with grouping(scope, stats) as grouper:  # its scratch file is removed however this generator ends
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
