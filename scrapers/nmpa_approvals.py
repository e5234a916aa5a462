"""NMPA 医疗器械批准证明文件送达信息: the daily notices of newly issued (and corrected) device certificates.

The list (`.../qxpjfb/index.html`, then `index_1.html`, ...) links one detail page per notice; a detail page holds a
table pasted from Word, one row per certificate. Each row becomes an `ApprovalEvent`; the store merges events with UDI
device records on the normalised certificate number, so a device shows its issue date next to its DIs.
The site sits behind a Ruishu challenge (HTTP 412), so the runs layer hands `crawl` a browser fetcher.

The list and article template is the CMS's (`scrapers._nmpa_cms`), shared with the other NMPA and CMDE columns.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Iterator

from bs4 import BeautifulSoup, Tag

from scrapers._dates import find_date
from scrapers._html import element_text, make_soup, meta_content, squeeze_cjk
from scrapers._nmpa_cms import article_meta, content_element, crawl_list, list_entries, list_page_url
from tracker.fetch.base import Fetcher
from tracker.ids import certno
from tracker.records import ApprovalEvent, CrawlContext, FieldCorrection, LayoutChanged, Page, ParseStats

SLUG = "nmpa_approvals"
TITLE_ZH = "医疗器械批准证明文件送达信息"
TITLE_EN = "NMPA device approval-delivery notices"
KIND = "device"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False  # no User-Agent gets past Ruishu; the browser fetcher is what helps
DEFAULT_BASE_URL = "https://www.nmpa.gov.cn/zwfw/sdxx/sdxxylqx/qxpjfb"
# Notices appear during office hours (Beijing time), so the list is read twice a day; a day without one is normal,
# two are not.
SCHEDULE = "0 11,17 * * *"
TIME_LIMIT = 30 * 60
STALE_AFTER = timedelta(days=2)

# Header texts seen on the device page and its drug twin (SOURCES.md §2); the device page's exact columns are
# unverified, so several spellings map to one field and a cell matches when it contains one of them.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "acceptance_no": ("受理号",),
    "product_name": ("产品名称", "品名", "产品名"),
    "registrant": ("注册人名称", "注册人", "申请单位", "申请人", "企业名称", "生产企业"),
    "cert_no": ("注册证编号", "注册证号", "批准文号", "证书编号"),
    "issued_on": ("签发日期", "批准日期", "发证日期"),
    "correction": ("纠错内容", "更正内容", "纠错事项", "更正事项"),
}
REQUIRED_COLUMNS = ("product_name", "cert_no")
CORRECTION_MARK = "纠错"
# "注册人住所由“上海市…1号”更正为“上海市…11号”", several joined by ；: the field as named, before, after.
_CORRECTED = re.compile(r"(?P<field>[^|；;，,。“”\"]+?)由[“\"](?P<before>[^”\"]*)[”\"]更正为[“\"](?P<after>[^”\"]*)[”\"]")


def parse_corrections(text: str | None) -> tuple[FieldCorrection, ...]:
    """The fields a 纠错内容 cell corrects, in its own words (nothing when it does not read "X由“a”更正为“b”")."""
    return tuple(FieldCorrection(m["field"].strip(), m["before"], m["after"]) for m in _CORRECTED.finditer(text or ""))


def _cell_texts(row: Tag) -> list[str]:
    return [squeeze_cjk(element_text(cell)) for cell in row.find_all(["td", "th"], recursive=False)]


def _cell(cells: list[str], mapping: dict[str, int], field: str) -> str | None:
    index = mapping.get(field)
    return (cells[index] or None) if index is not None else None


def _header_field(cell: str) -> str | None:
    compact = "".join(cell.split())
    for field, aliases in HEADER_ALIASES.items():
        if any(alias in compact for alias in aliases):
            return field
    return None


def _header_map(cells: list[str]) -> dict[str, int] | None:
    """Column index per field when `cells` is a header row (all required fields present), else None."""
    mapping: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _header_field(cell) if len(cell) <= 20 else None
        if field and field not in mapping:
            mapping[field] = index
    return mapping if all(f in mapping for f in REQUIRED_COLUMNS) else None


def parse_detail(text: str, base_url: str = DEFAULT_BASE_URL) -> tuple[list[ApprovalEvent], ParseStats]:
    """The approval events of one notice page, and what was skipped.

    Columns are found by header text, so their order may change. Rows whose certificate number does not parse are
    skipped and counted in `stats.skipped` (with a note). Raises LayoutChanged("approval table header") when the
    page has no table with a known header.
    """
    soup = make_soup(text)
    title, notice_date, column = article_meta(soup)
    is_correction = CORRECTION_MARK in (title or "") or CORRECTION_MARK in (column or "")
    source_url = meta_content(soup, "Url") or base_url
    scope = content_element(soup) or soup
    stats = ParseStats()
    events: list[ApprovalEvent] = []
    mapping: dict[str, int] | None = None
    header_width = 0
    # Word splits long tables into several <table>s at page breaks; a header row sets the mapping for what follows.
    for row in scope.find_all("tr"):
        cells = _cell_texts(row)
        if not any(cells):
            continue
        found = _header_map(cells)
        if found is not None:
            mapping, header_width = found, len(cells)
            continue
        if mapping is None:
            continue  # title rows above the header
        raw_row = " | ".join(cells)
        if len(cells) != header_width:
            stats.skipped += 1
            stats.notes.append(f"row has {len(cells)} cells, header has {header_width}: {raw_row}")
            continue
        cert_text = _cell(cells, mapping, "cert_no")
        cert = certno.try_parse(cert_text)
        if cert is None:
            stats.skipped += 1
            stats.notes.append(f"unreadable certificate number {cert_text!r}: {raw_row}")
            continue
        issued_text = _cell(cells, mapping, "issued_on")
        events.append(ApprovalEvent(
            cert_no=cert.normalised,
            product_name=_cell(cells, mapping, "product_name") or "",
            registrant=_cell(cells, mapping, "registrant"),
            acceptance_no="".join((_cell(cells, mapping, "acceptance_no") or "").split()) or None,
            issued_on=find_date(issued_text) or notice_date,
            notice_date=notice_date,
            is_correction=is_correction,
            raw_row=raw_row,
            source_url=source_url,
            corrections=parse_corrections(_cell(cells, mapping, "correction")) if is_correction else (),
        ))
    if mapping is None:
        raise LayoutChanged("approval table header", url=base_url)
    # stats.complete stays False: one notice lists a day's certificates, never the whole register.
    return events, stats


def _is_detail(soup: BeautifulSoup) -> bool:
    return content_element(soup) is not None or meta_content(soup, "ArticleTitle") is not None


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[ApprovalEvent]:
    """Records of one saved page: a notice page → its ApprovalEvents; a list page → [] (it holds no records).

    Raises LayoutChanged when the page is neither (or a notice page lost its table header).
    """
    soup = make_soup(text)
    if _is_detail(soup):
        return parse_detail(text, base_url)[0]
    if list_entries(soup) is not None:
        return []
    raise LayoutChanged("approval list (div.list ul) or notice page (div.text)", url=base_url)


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Fetch the notice list pages and every notice not yet in ctx.known_keys; one Page per fetched response."""
    list_url = list_page_url(ctx.base_url, 0)
    for list_page, items in crawl_list(fetcher, ctx, list_url):
        yield list_page
        for item in items:
            if item.url in ctx.known_keys:
                continue
            response = fetcher.get(item.url)
            events, stats = parse_detail(response.text(), item.url)
            events = [dataclasses.replace(e, source_url=item.url) for e in events]
            yield Page(response=response, records=events, stats=stats, key=item.url)
