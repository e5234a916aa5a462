"""CMDE 器审中心 指导原则 and 审评要点: device review guidance as the Center for Medical Device Evaluation lists it.

The column `/flfg/zdyz/index.html` (about 63 pages; `index_1.html`, ...) lists `.list ul li` entries whose `a[title]`
holds the full title (the link text is cut short) and whose `span` holds the date as `(YYYY-MM-DD)`. That list date
is the publication date: the timestamp in an article URL is when the page was made, and can be a later day.
Article pages use the NMPA template (body `div.text`), with the guidance itself attached as .doc/.docx/.pdf;
attachments are listed, not downloaded (they download with a plain client; the pages need the browser fetcher,
as the site sits behind a Ruishu challenge). The parsers and the column walk are `scrapers.nmpa_notices`'.
"""
from __future__ import annotations

from typing import Iterator

from scrapers import nmpa_notices
from scrapers._html import make_soup
from scrapers.nmpa_approvals import content_element, list_entries
from tracker.fetch.base import Fetcher
from tracker.records import CrawlContext, Page, PolicyRecord

SLUG = "cmde_guidance"
TITLE_ZH = "器审中心 指导原则与审评要点"
TITLE_EN = "CMDE device review guidance (指导原则, 审评要点)"
KIND = "policy"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False
DEFAULT_BASE_URL = "https://www.cmde.org.cn"

COLUMNS = {"flfg/zdyz": "指导原则"}
DEFAULT_ISSUER = "器审中心"


def parse_list_page(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Partial records of one 指导原则 list page: full title from `a[title]`, publication date from the list."""
    return nmpa_notices.parse_list_page(text, base_url, columns=COLUMNS, default_issuer=DEFAULT_ISSUER)


def parse_detail(text: str, url: str) -> PolicyRecord:
    """The record of one guidance page at `url` (date from its own metadata; `crawl` replaces it by the list date)."""
    return nmpa_notices.parse_detail(text, url, columns=COLUMNS, default_issuer=DEFAULT_ISSUER)


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Records of one saved page: a guidance page → its record; a list page → partial records (see nmpa_notices)."""
    soup = make_soup(text)
    if content_element(soup) is not None:
        return [parse_detail(text, base_url)]
    if list_entries(soup) is not None:
        return parse_list_page(text, base_url)
    return nmpa_notices.parse(text, base_url)  # raises LayoutChanged naming both anchors


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Walk the guidance list and fetch each new guidance page; the list date is kept as the publication date."""
    yield from nmpa_notices.crawl_columns(fetcher, ctx, COLUMNS, default_issuer=DEFAULT_ISSUER, list_date_wins=True)
