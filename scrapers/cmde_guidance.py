"""CMDE 器审中心 指导原则 and 审评要点: device review guidance as the Center for Medical Device Evaluation lists it.

The column `/flfg/zdyz/index.html` (about 63 pages; `index_1.html`, ...) lists `.list ul li` entries whose `a[title]`
holds the full title (the link text is cut short) and whose `span` holds the date as `(YYYY-MM-DD)`. That list date
is the publication date: the timestamp in an article URL is when the page was made, and can be a later day.
Article pages use the NMPA template (body `div.text`), with the guidance itself attached as .doc/.docx/.pdf;
attachments are listed, not downloaded (they download with a plain client; the pages need the browser fetcher,
as the site sits behind a Ruishu challenge). The parsers and the column walk are the CMS's (`scrapers._nmpa_cms`).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from scrapers._nmpa_cms import PolicyColumns, crawl_policy_columns, parse_policy_page
from tracker.fetch.base import Fetcher
from tracker.records import CrawlContext, Page, PolicyRecord

SLUG = "cmde_guidance"
TITLE_ZH = "器审中心 指导原则与审评要点"
TITLE_EN = "CMDE device review guidance (指导原则, 审评要点)"
KIND = "policy"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False
DEFAULT_BASE_URL = "https://www.cmde.org.cn"
# Guidance is published a few times a month: one evening read, after NMPA's policy columns (one Chromium at a time).
SCHEDULE = "0 18 * * *"
TIME_LIMIT = 30 * 60
STALE_AFTER = timedelta(days=7)

COLUMNS = PolicyColumns(paths={"flfg/zdyz": "指导原则"}, default_issuer="器审中心", list_date_wins=True)


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Records of one saved page: a guidance page → its record (its own date); a list page → partial records."""
    return parse_policy_page(text, base_url, COLUMNS)


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Walk the guidance list and fetch each new guidance page; the list date is kept as the publication date."""
    yield from crawl_policy_columns(fetcher, ctx, COLUMNS)
