"""NMPA 医疗器械 公告通告, 法规文件, 政策解读 and 征求意见: device policy documents as NMPA publishes them (SOURCES.md §3).

Each column is a list (`index.html`, `index_1.html`, ...) of `.list ul li` entries (`a` + date `span`) linking to
article pages whose body is `div.text` (or `#ivs_content`, `.TRS_Editor`). A page gives one `PolicyRecord`: title,
publication date (`meta[name=PubDate]` or `div.date`, never the URL's timestamp), the document number printed in the
title ("…的通告（2022年第8号）"), the body text and the attached files (feedback forms left out; attachments are listed,
not downloaded). Everything listed under 征求意见 is a draft. The site sits behind a Ruishu challenge, so the runs
layer hands `crawl` a browser fetcher. The list and article template, and the walk over policy columns, are the CMS's
(`scrapers._nmpa_cms`), shared with CMDE.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from scrapers._nmpa_cms import PolicyColumns, crawl_policy_columns, parse_policy_page
from tracker.fetch.base import Fetcher
from tracker.records import CrawlContext, Page, PolicyRecord

SLUG = "nmpa_notices"
TITLE_ZH = "国家药监局 医疗器械公告通告、法规文件、政策解读、征求意见"
TITLE_EN = "NMPA device notices, regulations, interpretations and drafts"
KIND = "policy"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False  # no User-Agent gets past Ruishu; the browser fetcher is what helps
DEFAULT_BASE_URL = "https://www.nmpa.gov.cn"
# Policy columns change at most daily: one evening read after the approval sources (browser sources are spread out
# so that two Chromium instances rarely run at once). A quiet week is possible, so a week without a good run is late.
SCHEDULE = "40 17 * * *"
TIME_LIMIT = 30 * 60
STALE_AFTER = timedelta(days=7)

COLUMNS = PolicyColumns(
    # Column path below the base URL → the column's name on the site (what `classify` reads as the source column).
    paths={
        "ylqx/ylqxggtg": "公告通告",
        "ylqx/ylqxfgwj": "法规文件",
        "ylqx/ylqxzhcjd": "政策解读",
        "xxgk/zhqyj": "征求意见",
    },
    default_issuer="国家药监局",
    # 法规文件 lists laws and regulations NMPA enforces but did not issue (条例: 国务院; 办法: 市场监管总局 orders):
    # there the issuer is only what the title names.
    title_names_issuer=frozenset({"法规文件"}),
)


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Records of one saved page: an article → its full record; a list page → partial records of its entries.

    `base_url` is the page's URL. Raises LayoutChanged naming the anchors when the page is neither.
    """
    return parse_policy_page(text, base_url, COLUMNS)


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Crawl the four device policy columns (or the paths in `ctx.options["nmpa_columns"]`)."""
    yield from crawl_policy_columns(fetcher, ctx, COLUMNS.only(ctx.options.get("nmpa_columns")))
