"""NMPA 医疗器械 公告通告, 法规文件, 政策解读 and 征求意见: device policy documents as NMPA publishes them (SOURCES.md §3).

Each column is a list (`index.html`, `index_1.html`, ...) of `.list ul li` entries (`a` + date `span`) linking to
article pages whose body is `div.text` (or `#ivs_content`, `.TRS_Editor`). A page gives one `PolicyRecord`: title,
publication date (`meta[name=PubDate]` or `div.date`, never the URL's timestamp), the document number printed in the
title ("…的通告（2022年第8号）"), the body text and the attached files (feedback forms left out; attachments are listed,
not downloaded). Everything listed under 征求意见 is a draft. The site sits behind a Ruishu challenge, so the runs
layer hands `crawl` a browser fetcher.

The list and article template is the one of the approval notices; its helpers come from `scrapers.nmpa_approvals`,
and CMDE (an NMPA centre on the same CMS) reuses `crawl_columns` and the parsers here.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

from scrapers._html import block_text, find_attachments, make_soup
from scrapers.nmpa_approvals import ListItem, article_meta, content_element, crawl_list, list_entries, parse_list
from tracker.ids import docno
from tracker.fetch.base import Fetcher
from tracker.ids.policytype import classify, issuer_from_title
from tracker.records import CrawlContext, LayoutChanged, Page, PolicyRecord

SLUG = "nmpa_notices"
TITLE_ZH = "国家药监局 医疗器械公告通告、法规文件、政策解读、征求意见"
TITLE_EN = "NMPA device notices, regulations, interpretations and drafts"
KIND = "policy"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False  # no User-Agent gets past Ruishu; the browser fetcher is what helps
DEFAULT_BASE_URL = "https://www.nmpa.gov.cn"

# Column path below the base URL → the column's name on the site (what `classify` reads as the source column).
COLUMNS = {
    "ylqx/ylqxggtg": "公告通告",
    "ylqx/ylqxfgwj": "法规文件",
    "ylqx/ylqxzhcjd": "政策解读",
    "xxgk/zhqyj": "征求意见",
}
DEFAULT_ISSUER = "国家药监局"
# 法规文件 lists laws and regulations NMPA enforces but did not issue (条例: 国务院; 办法: 市场监管总局 orders):
# there the issuer is only what the title names.
COLUMNS_WITHOUT_DEFAULT_ISSUER = frozenset({"法规文件"})
CONTENT_ANCHORS = "div.text, #ivs_content or .TRS_Editor"


def column_of(url: str, columns: Mapping[str, str] = COLUMNS) -> str | None:
    """The name of the column a list or article URL belongs to (by its path), or None."""
    path = urlsplit(url).path
    for column_path, name in columns.items():
        if f"/{column_path}/" in path:
            return name
    return None


def policy_from_title(title: str, url: str, *, published_on: date | None, column: str | None,
                      default_issuer: str | None) -> PolicyRecord:
    """What a title alone says: issuer (named in it, else the site's), qualified number, type and stage."""
    if column in COLUMNS_WITHOUT_DEFAULT_ISSUER:
        default_issuer = None
    issuer = issuer_from_title(title) or default_issuer
    found = docno.find(title)
    kind = classify(title, column)
    return PolicyRecord(
        title=title,
        url=url,
        issuer=issuer,
        doc_no=docno.qualify(found, issuer, title).normalised if found else None,
        doc_type=kind.doc_type,
        stage=kind.stage,
        published_on=published_on,
    )


def _list_record(item: ListItem, column: str | None, default_issuer: str) -> PolicyRecord:
    return policy_from_title(item.title, item.url, published_on=item.date, column=column,
                             default_issuer=default_issuer)


def parse_list_page(text: str, base_url: str = DEFAULT_BASE_URL, *, columns: Mapping[str, str] = COLUMNS,
                    default_issuer: str = DEFAULT_ISSUER) -> list[PolicyRecord]:
    """Partial records (title, URL, list date, issuer, number, type guess) of one list page.

    `base_url` is the list page's URL: relative links resolve against it and its path names the column.
    """
    column = column_of(base_url, columns)
    return [_list_record(item, column, default_issuer) for item in parse_list(text, base_url)]


def parse_detail(text: str, url: str, *, columns: Mapping[str, str] = COLUMNS,
                 default_issuer: str = DEFAULT_ISSUER) -> PolicyRecord:
    """The full record of one article page at `url`. Raises LayoutChanged when the body or title is missing."""
    soup = make_soup(text)
    content = content_element(soup)
    if content is None:
        raise LayoutChanged(CONTENT_ANCHORS, url=url)
    title, published_on, column_name = article_meta(soup)
    if not title:
        raise LayoutChanged("article title (meta ArticleTitle, h2.title or <title>)", url=url)
    record = policy_from_title(title, url, published_on=published_on,
                               column=column_of(url, columns) or column_name, default_issuer=default_issuer)
    return dataclasses.replace(record, body=block_text(content) or None, attachments=find_attachments(content, url))


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Records of one saved page: an article → its full record; a list page → partial records of its entries.

    `base_url` is the page's URL. Raises LayoutChanged naming the anchors when the page is neither.
    """
    soup = make_soup(text)
    if content_element(soup) is not None:
        return [parse_detail(text, base_url)]
    if list_entries(soup) is not None:
        return parse_list_page(text, base_url)
    raise LayoutChanged(f".list ul li (list page) or {CONTENT_ANCHORS} (article page)", url=base_url)


def merge(detail: PolicyRecord, listed: PolicyRecord, *, list_date_wins: bool = False) -> PolicyRecord:
    """The article's record completed by its list entry; the URL stays the listed one (the crawl's key).

    With `list_date_wins` (CMDE) the list date is the publication date even when the article shows another.
    """
    missing = {f.name: getattr(listed, f.name) for f in dataclasses.fields(PolicyRecord)
               if getattr(detail, f.name) in (None, ()) and getattr(listed, f.name) not in (None, ())}
    merged = dataclasses.replace(detail, **missing, url=listed.url)
    if list_date_wins and listed.published_on is not None:
        merged = dataclasses.replace(merged, published_on=listed.published_on)
    return merged


def crawl_columns(fetcher: Fetcher, ctx: CrawlContext, columns: Mapping[str, str], *, default_issuer: str,
                  list_date_wins: bool = False) -> Iterator[Page]:
    """Walk each column's list pages (newest first) and fetch every article not in `ctx.known_keys`.

    Paging stops as `nmpa_approvals.crawl_list` decides (max_pages, an entry older than ctx.since, an empty or
    missing page). Entries on another host (a law hosted elsewhere) are not fetched: the list Page carries them as
    partial records.
    """
    done: set[str] = set(ctx.known_keys)
    base = ctx.base_url.rstrip("/") + "/"
    for column_path, column in columns.items():
        list_url = urljoin(base, column_path + "/index.html")
        host = urlsplit(list_url).hostname
        for list_page, items in crawl_list(fetcher, ctx, list_url):
            entries = [_list_record(item, column, default_issuer) for item in items]
            list_page.records = [e for e in entries if urlsplit(e.url).hostname != host]
            yield list_page
            for entry in entries:
                if entry.url in done or urlsplit(entry.url).hostname != host:
                    continue
                done.add(entry.url)
                response = fetcher.get(entry.url)
                detail = parse_detail(response.text(), response.url or entry.url, columns=columns,
                                      default_issuer=default_issuer)
                yield Page(response=response, records=[merge(detail, entry, list_date_wins=list_date_wins)],
                           key=entry.url)


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Crawl the four device policy columns (or the paths in `ctx.options["nmpa_columns"]`)."""
    wanted = ctx.options.get("nmpa_columns")
    columns = {p: n for p, n in COLUMNS.items() if not wanted or p in wanted}
    yield from crawl_columns(fetcher, ctx, columns, default_issuer=DEFAULT_ISSUER)
