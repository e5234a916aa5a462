"""The CMS that NMPA and its centre CMDE publish on (TRS): its list pages, its article pages, its policy columns.

Every column is a list (`index.html`, then `index_1.html`, `index_2.html`, ...) of `div.list ul li` entries (`a` +
date `span`) linking to article pages whose body is `div.text` (or `#ivs_content`, `.TRS_Editor`) and whose metadata
is in `meta[name=ArticleTitle|PubDate|ColumnName|Url]` or the visible header. The approval notices, the news and the
two policy sources (NMPA notices, CMDE guidance) all read this template, so its helpers live here, once; a policy
source describes its columns with a `PolicyColumns` and takes the list, article and crawl functions below.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scrapers._dates import find_date, parse_date
from scrapers._html import block_text, element_text, find_attachments, make_soup, meta_content, normalise_space
from tracker.fetch.base import Fetcher, FetchError, Response
from tracker.ids import docno
from tracker.ids.policytype import classify, issuer_from_title, issuer_words_in_title
from tracker.records import CrawlContext, LayoutChanged, Page, ParseStats, PolicyRecord

CONTENT_SELECTORS = ("div.text", "#ivs_content", ".TRS_Editor")
CONTENT_ANCHORS = "div.text, #ivs_content or .TRS_Editor"


# ---------------------------------------------------------------------------------------------------- list pages

@dataclass(frozen=True)
class ListItem:
    """One entry of a list page: the title as shown, the absolute detail URL and the list date."""

    title: str
    url: str
    date: date | None


def list_page_url(list_url: str, page: int) -> str:
    """URL of list page `page` (0-based) of a column: `index.html`, then `index_1.html`, `index_2.html`, ..."""
    if list_url.endswith((".html", ".htm")):
        folder = list_url.rsplit("/", 1)[0] + "/"
    else:
        folder = list_url.rstrip("/") + "/"
    return folder + ("index.html" if page == 0 else f"index_{page}.html")


def _resolve_base(base_url: str) -> str:
    # A bare column URL ("…/qxpjfb") must resolve "./x.html" inside the column, not next to it.
    return base_url if base_url.endswith(("/", ".html", ".htm")) else base_url + "/"


def list_entries(soup: BeautifulSoup) -> list[Tag] | None:
    """The `li` of a list page, or None when the page has no `div.list ul` at all."""
    if soup.select_one("div.list ul") is None:
        return None
    return soup.select("div.list ul li")


def parse_list(text: str, base_url: str) -> list[ListItem]:
    """The entries of a list page (`div.list ul li` → `a` + date `span`), in page order.

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
    """Walk a column's list pages from newest, yielding (list Page, items not older than ctx.since).

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


# ---------------------------------------------------------------------------------------------------- article pages

def article_meta(soup: BeautifulSoup) -> tuple[str | None, date | None, str | None]:
    """(title, publication date, column name) of an article page, from its meta tags or visible header."""
    title = meta_content(soup, "ArticleTitle")
    if not title:
        heading = soup.select_one("h2.title") or soup.find("h1") or soup.find("title")
        title = element_text(heading) or None
    published = parse_date(meta_content(soup, "PubDate")) or find_date(element_text(soup.select_one("div.date")))
    return title, published, meta_content(soup, "ColumnName")


_RIGHT_ALIGNED = re.compile(r"text-align\s*:\s*right", re.I)
_SIGNATURE_MAX = 60  # a signature line names bodies; a longer right-aligned paragraph is something else


def signature_issuer(content: Tag) -> str | None:
    """The issuer the body's signature block prints (the right-aligned lines at its end, dates left out), or None.

    Joint documents sign with one body per line; they come back separated by one blank, as printed.
    """
    lines: list[str] = []
    for paragraph in reversed(content.find_all(["p", "div"])):
        aligned = _RIGHT_ALIGNED.search(str(paragraph.get("style") or "")) or \
            str(paragraph.get("align") or "").lower() == "right"
        if not aligned:
            if lines:
                break
            continue
        text = element_text(paragraph)
        if not text or len(text) > _SIGNATURE_MAX:
            break
        if find_date(text) is None:
            lines.insert(0, text)
    return " ".join(lines) or None


def site_name(soup: BeautifulSoup) -> str | None:
    """The publishing site's own name as the page prints it (`meta[name=SiteName]`, else the header's logo)."""
    return meta_content(soup, "SiteName") or element_text(soup.select_one("div.header .logo")) or None


def content_element(soup: BeautifulSoup) -> Tag | None:
    """The article body container (`div.text`, `#ivs_content` or `.TRS_Editor`), if any."""
    for selector in CONTENT_SELECTORS:
        found = soup.select_one(selector)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------------------------------- policy columns

@dataclass(frozen=True)
class PolicyColumns:
    """What a policy source reads of the CMS: its columns, whose documents they are, and which date counts.

    `paths` maps a column path below the base URL to the column's name on the site (what `classify` reads as the
    source column). `default_issuer` is the site's own name, used when a title names no issuer, except in the
    columns of `title_names_issuer` (lists of laws the site enforces but did not issue). With `list_date_wins` the
    list date is the publication date even when the article shows another (CMDE).
    """

    paths: Mapping[str, str]
    default_issuer: str
    title_names_issuer: frozenset[str] = frozenset()
    list_date_wins: bool = False

    def only(self, wanted: object) -> "PolicyColumns":
        """These columns restricted to the paths in `wanted` (all of them when it is empty)."""
        if not wanted:
            return self
        return dataclasses.replace(self, paths={p: n for p, n in self.paths.items() if p in wanted})

    def column_of(self, url: str) -> str | None:
        """The name of the column a list or article URL belongs to (by its path), or None."""
        path = urlsplit(url).path
        for column_path, name in self.paths.items():
            if f"/{column_path}/" in path:
                return name
        return None


def policy_from_title(title: str, url: str, *, published_on: date | None, column: str | None,
                      columns: PolicyColumns) -> PolicyRecord:
    """What a title alone says: issuer (named in it, else the site's), qualified number, type and stage."""
    default_issuer = None if column in columns.title_names_issuer else columns.default_issuer
    issuer = issuer_from_title(title) or default_issuer
    found = docno.find(title)
    kind = classify(title, column)
    return PolicyRecord(
        title=title,
        url=url,
        issuer=issuer,
        doc_no=docno.qualify(found, issuer, title).normalised if found else None,
        issuer_printed=issuer_words_in_title(title),
        doc_no_printed=docno.find_printed(title),
        doc_type=kind.doc_type,
        stage=kind.stage,
        published_on=published_on,
    )


def _list_record(item: ListItem, column: str | None, columns: PolicyColumns) -> PolicyRecord:
    # The issuer "as printed" is the document page's (its signature block); a list entry's title words ("总局")
    # would otherwise overwrite it whenever the list is read after the page.
    record = policy_from_title(item.title, item.url, published_on=item.date, column=column, columns=columns)
    return dataclasses.replace(record, issuer_printed=None)


def parse_policy_list(text: str, base_url: str, columns: PolicyColumns) -> list[PolicyRecord]:
    """Partial records (title, URL, list date, issuer, number, type guess) of one list page.

    `base_url` is the list page's URL: relative links resolve against it and its path names the column.
    """
    column = columns.column_of(base_url)
    return [_list_record(item, column, columns) for item in parse_list(text, base_url)]


def parse_policy_article(text: str, url: str, columns: PolicyColumns) -> PolicyRecord:
    """The full record of one article page at `url`. Raises LayoutChanged when the body or title is missing."""
    soup = make_soup(text)
    content = content_element(soup)
    if content is None:
        raise LayoutChanged(CONTENT_ANCHORS, url=url)
    title, published_on, column_name = article_meta(soup)
    if not title:
        raise LayoutChanged("article title (meta ArticleTitle, h2.title or <title>)", url=url)
    column = columns.column_of(url) or column_name
    record = policy_from_title(title, url, published_on=published_on, column=column, columns=columns)
    body = block_text(content) or None
    # As printed: the signature block, else the words before 关于 in the title, else the site itself when the site
    # is the issuer of what it lists (not in columns of laws it only enforces).
    issuer_printed = signature_issuer(content) or record.issuer_printed or (
        site_name(soup) if column not in columns.title_names_issuer else None)
    # The canonical number stays the title's: a body can cite the number of another body's notice.
    doc_no_printed = record.doc_no_printed or docno.find_printed(body)
    return dataclasses.replace(record, body=body, attachments=find_attachments(content, url),
                               issuer_printed=issuer_printed, doc_no_printed=doc_no_printed)


def parse_policy_page(text: str, base_url: str, columns: PolicyColumns) -> list[PolicyRecord]:
    """Records of one saved page: an article → its full record; a list page → partial records of its entries.

    `base_url` is the page's URL. Raises LayoutChanged naming the anchors when the page is neither.
    """
    soup = make_soup(text)
    if content_element(soup) is not None:
        return [parse_policy_article(text, base_url, columns)]
    if list_entries(soup) is not None:
        return parse_policy_list(text, base_url, columns)
    raise LayoutChanged(f".list ul li (list page) or {CONTENT_ANCHORS} (article page)", url=base_url)


def merge_listed(detail: PolicyRecord, listed: PolicyRecord, *, list_date_wins: bool = False) -> PolicyRecord:
    """The article's record completed by its list entry; the URL stays the listed one (the crawl's key)."""
    missing = {f.name: getattr(listed, f.name) for f in dataclasses.fields(PolicyRecord)
               if getattr(detail, f.name) in (None, ()) and getattr(listed, f.name) not in (None, ())}
    merged = dataclasses.replace(detail, **missing, url=listed.url)
    if list_date_wins and listed.published_on is not None:
        merged = dataclasses.replace(merged, published_on=listed.published_on)
    return merged


def crawl_policy_columns(fetcher: Fetcher, ctx: CrawlContext, columns: PolicyColumns) -> Iterator[Page]:
    """Walk each column's list pages (newest first) and fetch every article not in `ctx.known_keys`.

    Paging stops as `crawl_list` decides (max_pages, an entry older than ctx.since, an empty or missing page).
    Entries on another host (a law hosted elsewhere) are not fetched: the list Page carries them as partial records.
    """
    done: set[str] = set(ctx.known_keys)
    base = ctx.base_url.rstrip("/") + "/"
    for column_path, column in columns.paths.items():
        list_url = urljoin(base, column_path + "/index.html")
        host = urlsplit(list_url).hostname
        for list_page, items in crawl_list(fetcher, ctx, list_url):
            entries = [_list_record(item, column, columns) for item in items]
            list_page.records = [e for e in entries if urlsplit(e.url).hostname != host]
            yield list_page
            for entry in entries:
                if entry.url in done or urlsplit(entry.url).hostname != host:
                    continue
                done.add(entry.url)
                response = fetcher.get(entry.url)
                detail = parse_policy_article(response.text(), response.url or entry.url, columns)
                yield Page(response=response, records=[merge_listed(detail, entry,
                                                                    list_date_wins=columns.list_date_wins)],
                           key=entry.url)
