"""NMPA 医疗器械批准证明文件送达信息: the daily notices of newly issued (and corrected) device certificates.

The list (`.../qxpjfb/index.html`, then `index_1.html`, ...) links one detail page per notice; a detail page holds a
table pasted from Word, one row per certificate. Each row becomes an `ApprovalEvent`; the store merges events with UDI
device records on the normalised certificate number, so a device shows its issue date next to its DIs.
The site sits behind a Ruishu challenge (HTTP 412), so the runs layer hands `crawl` a browser fetcher.

The list template (`div.list ul li` → `a` + date `span`, pages `index.html`, `index_1.html`, ...) and the article
metadata (`meta[name=PubDate]`, `div.date`, `div.text`) are shared by the other NMPA and CMDE columns, so the public
helpers here (`parse_list`, `crawl_list`, `list_page_url`, `list_entries`, `article_meta`, `content_element`) are
reused by `nmpa_news`, `nmpa_notices` and `cmde_guidance`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Iterator
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from scrapers._dates import find_date, parse_date
from scrapers._html import element_text, make_soup, meta_content, normalise_space, squeeze_cjk
from tracker.ids import certno
from tracker.fetch.base import Fetcher, FetchError, Response
from tracker.records import ApprovalEvent, CrawlContext, LayoutChanged, Page, ParseStats

SLUG = "nmpa_approvals"
TITLE_ZH = "医疗器械批准证明文件送达信息"
TITLE_EN = "NMPA device approval-delivery notices"
KIND = "device"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False  # no User-Agent gets past Ruishu; the browser fetcher is what helps
DEFAULT_BASE_URL = "https://www.nmpa.gov.cn/zwfw/sdxx/sdxxylqx/qxpjfb"

# Header texts seen on the device page and its drug twin (SOURCES.md §2); the device page's exact columns are
# unverified, so several spellings map to one field and a cell matches when it contains one of them.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "acceptance_no": ("受理号",),
    "product_name": ("产品名称", "品名", "产品名"),
    "registrant": ("注册人名称", "注册人", "申请单位", "申请人", "企业名称", "生产企业"),
    "cert_no": ("注册证编号", "注册证号", "批准文号", "证书编号"),
    "issued_on": ("签发日期", "批准日期", "发证日期"),
}
REQUIRED_COLUMNS = ("product_name", "cert_no")
CONTENT_SELECTORS = ("div.text", "#ivs_content", ".TRS_Editor")
CORRECTION_MARK = "纠错"


@dataclass(frozen=True)
class ListItem:
    """One entry of an NMPA list page: the title as shown, the absolute detail URL and the list date."""

    title: str
    url: str
    date: date | None


def list_page_url(list_url: str, page: int) -> str:
    """URL of list page `page` (0-based) of an NMPA column: `index.html`, then `index_1.html`, `index_2.html`, ..."""
    if list_url.endswith((".html", ".htm")):
        folder = list_url.rsplit("/", 1)[0] + "/"
    else:
        folder = list_url.rstrip("/") + "/"
    return folder + ("index.html" if page == 0 else f"index_{page}.html")


def _resolve_base(base_url: str) -> str:
    # A bare column URL ("…/qxpjfb") must resolve "./x.html" inside the column, not next to it.
    return base_url if base_url.endswith(("/", ".html", ".htm")) else base_url + "/"


def list_entries(soup: BeautifulSoup) -> list[Tag] | None:
    """The `li` of an NMPA list, or None when the page has no `div.list ul` at all."""
    if soup.select_one("div.list ul") is None:
        return None
    return soup.select("div.list ul li")


def parse_list(text: str, base_url: str = DEFAULT_BASE_URL) -> list[ListItem]:
    """The entries of an NMPA list page (`div.list ul li` → `a` + date `span`), in page order.

    Raises LayoutChanged("list (div.list ul)") when the page has no list at all; an empty list is just [].
    """
    entries = list_entries(make_soup(text))
    if entries is None:
        raise LayoutChanged("list (div.list ul)", url=base_url)
    base = _resolve_base(base_url)
    items = []
    for li in entries:
        link = li.find("a", href=True)
        if link is None:
            continue
        # Titles keep their spaces: joint notices separate issuers with one ("国家药监局 国家卫生健康委关于…").
        title = normalise_space(str(link.get("title") or "")) or element_text(link)
        when = None
        for span in li.find_all("span"):
            when = find_date(element_text(span))
            if when:
                break
        items.append(ListItem(title=title, url=urljoin(base, str(link["href"]).strip()), date=when))
    return items


def article_meta(soup: BeautifulSoup) -> tuple[str | None, date | None, str | None]:
    """(title, publication date, column name) of an NMPA article page, from its meta tags or visible header."""
    title = meta_content(soup, "ArticleTitle")
    if not title:
        heading = soup.select_one("h2.title") or soup.find("h1") or soup.find("title")
        title = element_text(heading) or None
    published = parse_date(meta_content(soup, "PubDate")) or find_date(element_text(soup.select_one("div.date")))
    return title, published, meta_content(soup, "ColumnName")


def content_element(soup: BeautifulSoup) -> Tag | None:
    """The article body container of an NMPA page (`div.text`, `#ivs_content` or `.TRS_Editor`), if any."""
    for selector in CONTENT_SELECTORS:
        found = soup.select_one(selector)
        if found is not None:
            return found
    return None


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


def _fetch_list_page(fetcher: Fetcher, url: str, page: int) -> Response | None:
    """The response for list page `page`, or None when a later page is missing (the list has ended)."""
    try:
        response = fetcher.get(url)
    except FetchError as exc:
        # TRS publishes exactly as many index_N.html as there are pages: a 404 past page 0 is the end, not a fault.
        if page > 0 and exc.status == 404:
            return None
        raise
    if page > 0 and response.status == 404:
        return None
    return response


def crawl_list(fetcher: Fetcher, ctx: CrawlContext, list_url: str) -> Iterator[tuple[Page, list[ListItem]]]:
    """Walk an NMPA column's list pages from newest, yielding (list Page, items not older than ctx.since).

    Stops after ctx.max_pages pages, at a page with no entries, at a missing later page, or at the first page that
    holds an item older than ctx.since (lists are newest first). Items without a date are kept.
    """
    for page in range(max(ctx.max_pages, 0)):
        url = list_page_url(list_url, page)
        response = _fetch_list_page(fetcher, url, page)
        if response is None:
            return
        items = parse_list(response.text(), response.url or url)
        fresh = [i for i in items if ctx.since is None or i.date is None or i.date >= ctx.since]
        yield Page(response=response, records=[], stats=ParseStats(listed=len(items))), fresh
        if not items or len(fresh) < len(items):
            return


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
