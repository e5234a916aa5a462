"""gov.cn 政策文件库: State Council and ministry policy documents through the library's JSON search (SOURCES.md §4).

`crawl` runs a set of keyword queries over the two libraries (`zhengcelibrary`: all documents, grouped by category;
`zhengcelibrary_bm`: ministry documents), newest first, paging until the documents are older than the last successful
run, then fetches each new document's page on www.gov.cn for the body and the metadata table (发文机关, 发文字号,
主题分类, 成文日期, 发布日期). The search refuses script User-Agents, so the fetcher is made browser-like and the
requests carry the search page's Referer and a JSON Accept header.

`parse` takes either a search response (JSON text → partial records, `<em>` highlights stripped) or a document page
(HTML → one full record).
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterator
from urllib.parse import quote, urlencode, urljoin, urlsplit

from scrapers._dates import parse_date
from scrapers._html import block_text, element_text, find_attachments, make_soup, meta_content, squeeze_cjk
from tracker.fetch.base import Fetcher
from tracker.ids import docno
from tracker.ids.policytype import canonical_issuer, classify, issuer_words_in_title
from tracker.records import CrawlContext, LayoutChanged, Page, ParseStats, PolicyRecord

SLUG = "govcn_policy"
TITLE_ZH = "中国政府网 政策文件库"
TITLE_EN = "gov.cn policy library (State Council and ministries)"
KIND = "policy"
NEEDS_BROWSER = False
BROWSER_LIKE_HEADERS = True
DEFAULT_BASE_URL = "https://sousuo.www.gov.cn"
# The policy library changes at most daily: one evening read, after the browser sources. A quiet week is possible.
SCHEDULE = "20 18 * * *"
TIME_LIMIT = 30 * 60
STALE_AFTER = timedelta(days=7)

SEARCH_PATH = "/search-gov/data"
DEFAULT_QUERIES = ("人工智能 医疗", "人工智能 医疗器械", "医疗器械 注册", "智慧医院", "互联网医疗", "医疗大模型")
LIBRARIES = ("zhengcelibrary", "zhengcelibrary_bm")
PAGE_SIZE = 20
# Document pages live on www.gov.cn whatever host serves the search; other hosts (ministry sites behind Ruishu)
# are left as list entries rather than fetched with a client they would refuse.
DOCUMENT_HOSTS = frozenset({"www.gov.cn", "gov.cn"})
METADATA_LABELS = {"标题": "title", "发文机关": "issuer", "发文字号": "doc_no", "主题分类": "subject",
                   "成文日期": "written_on", "发布日期": "published_on", "索引号": "index_no"}

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class SearchPage:
    """One search response: its records in listing order, and per category the items on this page and the total."""

    records: list[PolicyRecord]
    on_page: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


def search_url(base_url: str, library: str, query: str, page: int, page_size: int = PAGE_SIZE) -> str:
    """The search request for one page (from 1) of `query` in `library`, newest first, over title, text and summary."""
    params = {"t": library, "q": query, "searchfield": "title:content:summary", "sort": "pubtime", "sortType": "1",
              "p": str(page), "n": str(page_size), "timetype": "timeqb"}
    return urljoin(base_url.rstrip("/") + "/", SEARCH_PATH.lstrip("/")) + "?" + urlencode(params, quote_via=quote)


def search_headers(base_url: str) -> dict[str, str]:
    """Headers the search expects from its own page: its Referer (derived from base_url) and a JSON Accept."""
    return {"Referer": base_url.rstrip("/") + "/", "Accept": "application/json, text/plain, */*"}


def _plain(value: Any) -> str:
    """Text of a JSON field that may hold highlight markup (`<em>…</em>`) and HTML entities."""
    if value is None:
        return ""
    return squeeze_cjk(" ".join(html.unescape(_TAG.sub("", str(value))).split()))


def _doc_no(raw: str | None, issuer: str | None, title: str) -> str | None:
    """The normalised, qualified number if `raw` parses, else `raw` as printed; without `raw`, one in the title."""
    parsed = docno.try_parse(raw) if raw else docno.find(title)
    if parsed is not None:
        return docno.qualify(parsed, issuer, title).normalised
    return " ".join(raw.split()) if raw and raw.strip() else None


def _printed(value: str | None) -> str | None:
    """A field as the page prints it: blanks squeezed to one (joint issuers keep theirs), nothing else changed."""
    return " ".join(value.split()) or None if value else None


def _item_record(item: Any, base_url: str) -> PolicyRecord:
    if not isinstance(item, dict) or "title" not in item or "url" not in item:
        raise LayoutChanged("listVO[] item with title and url", url=base_url)
    title = _plain(item["title"])
    # Joint issuers are separated by blanks ("中共中央办公厅 国务院办公厅"): keep them for canonical_issuer.
    puborg = html.unescape(_TAG.sub("", str(item.get("puborg") or "")))
    issuer = canonical_issuer(puborg)
    pcode = _plain(item.get("pcode")) or None
    kind = classify(title)
    return PolicyRecord(
        title=title,
        url=urljoin(base_url, str(item["url"]).strip()),
        issuer=issuer,
        doc_no=_doc_no(pcode, issuer, title),
        issuer_printed=_printed(puborg) or issuer_words_in_title(title),
        doc_no_printed=pcode or docno.find_printed(title),
        doc_type=kind.doc_type,
        stage=kind.stage,
        published_on=parse_date(str(item.get("pubtimeStr") or "")),
        summary=_plain(item.get("summary")) or None,
    )


def _categories(search_vo: dict[str, Any], base_url: str) -> dict[str, dict[str, Any]]:
    """{category: {"listVO": [...], "totalCount": n}} for either library's response shape."""
    cat_map = search_vo.get("catMap")
    if isinstance(cat_map, dict):
        return {str(k): v for k, v in cat_map.items() if isinstance(v, dict)}
    if isinstance(search_vo.get("listVO"), list):  # zhengcelibrary_bm: one flat list
        return {"listVO": {"listVO": search_vo["listVO"], "totalCount": search_vo.get("totalCount")}}
    raise LayoutChanged("searchVO.catMap or searchVO.listVO", url=base_url)


def parse_search(text: str, base_url: str = DEFAULT_BASE_URL) -> SearchPage:
    """The records of one search response; relative document URLs resolve against `base_url` (the request URL)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise LayoutChanged("JSON search response", url=base_url) from None
    search_vo = data.get("searchVO") if isinstance(data, dict) else None
    if not isinstance(search_vo, dict):
        raise LayoutChanged("searchVO", url=base_url)
    records: list[PolicyRecord] = []
    on_page: dict[str, int] = {}
    totals: dict[str, int] = {}
    for name, category in _categories(search_vo, base_url).items():
        items = category.get("listVO") or []
        if not isinstance(items, list):
            raise LayoutChanged(f"searchVO {name}.listVO", url=base_url)
        records.extend(_item_record(item, base_url) for item in items)
        on_page[name] = len(items)
        try:
            totals[name] = int(category.get("totalCount") or 0)
        except (TypeError, ValueError):
            totals[name] = 0
    return SearchPage(records, on_page, totals)


def _metadata(soup: Any) -> dict[str, str]:
    """Label → value pairs of the `table.bd1` metadata table (labels padded with blanks and ending in ：)."""
    table = soup.select_one("table.bd1")
    if table is None:
        return {}
    found: dict[str, str] = {}
    cells = table.find_all("td")
    for label_cell, value_cell in zip(cells, cells[1:], strict=False):  # neighbours: one shorter by design
        label = "".join(element_text(label_cell).split()).rstrip("：:")
        key = METADATA_LABELS.get(label)
        if key and key not in found:
            value = element_text(value_cell)
            # 发文机关 separates joint issuers by blanks, which canonical_issuer needs to see.
            found[key] = value if key == "issuer" else squeeze_cjk(value)
    return found


def parse_detail(text: str, url: str) -> PolicyRecord:
    """One document page: body `#UCAP-CONTENT`, metadata from `table.bd1` and `meta[name=firstpublishedtime]`."""
    soup = make_soup(text)
    content = soup.select_one("#UCAP-CONTENT")
    if content is None:
        raise LayoutChanged("#UCAP-CONTENT", url=url)
    meta = _metadata(soup)
    title = meta.get("title") or meta_content(soup, "ArticleTitle")
    if not title:
        page_title = element_text(soup.find("title"))
        # "<document title>_<column>_中国政府网"
        title = page_title.split("_")[0] if page_title else element_text(soup.find("h1"))
    if not title:
        raise LayoutChanged("document title (table.bd1 标题, <title> or h1)", url=url)
    title = squeeze_cjk(title)
    issuer = canonical_issuer(meta.get("issuer"))
    kind = classify(title)
    return PolicyRecord(
        title=title,
        url=url,
        issuer=issuer,
        doc_no=_doc_no(meta.get("doc_no"), issuer, title),
        issuer_printed=_printed(meta.get("issuer")) or issuer_words_in_title(title),
        doc_no_printed=_printed(meta.get("doc_no")) or docno.find_printed(title),
        doc_type=kind.doc_type,
        stage=kind.stage,
        published_on=parse_date(meta.get("published_on")) or parse_date(meta_content(soup, "firstpublishedtime")),
        written_on=parse_date(meta.get("written_on")),
        body=block_text(content) or None,
        subject=meta.get("subject") or None,
        attachments=find_attachments(content, url),
    )


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[PolicyRecord]:
    """Records of a saved search response (JSON) or document page (HTML; `base_url` is that page's URL)."""
    if text.lstrip().startswith(("{", "[")):
        return parse_search(text, base_url).records
    return [parse_detail(text, base_url)]


def _merge(detail: PolicyRecord, listed: PolicyRecord) -> PolicyRecord:
    """The document page's record, completed by the search entry (summary, and anything the page lacked)."""
    missing = {f.name: getattr(listed, f.name) for f in dataclasses.fields(PolicyRecord)
               if getattr(detail, f.name) in (None, ()) and getattr(listed, f.name) not in (None, ())}
    return dataclasses.replace(detail, **missing, url=listed.url)


def _fetchable(url: str, base_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in DOCUMENT_HOSTS or host == urlsplit(base_url).hostname


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Search every (library, query), newest first; fetch each new document page once.

    Paging of one query stops at `ctx.max_pages`, when a page lists a document older than `ctx.since`, or when the
    totals say everything was listed. Documents older than `ctx.since` or whose URL is in `ctx.known_keys` are not
    fetched; a search page is yielded with the entries whose page cannot be fetched here (other hosts).
    Options: `govcn_queries`, `govcn_libraries`, `govcn_page_size`.
    """
    queries = tuple(ctx.options.get("govcn_queries") or DEFAULT_QUERIES)
    libraries = tuple(ctx.options.get("govcn_libraries") or LIBRARIES)
    page_size = int(ctx.options.get("govcn_page_size") or PAGE_SIZE)
    headers = search_headers(ctx.base_url)
    done: set[str] = set(ctx.known_keys)
    for library in libraries:
        for query in queries:
            listed: dict[str, int] = {}
            for page in range(1, ctx.max_pages + 1):
                response = fetcher.get(search_url(ctx.base_url, library, query, page, page_size), headers=headers)
                result = parse_search(response.text(), response.url)
                wanted = [r for r in result.records
                          if not (ctx.since and r.published_on and r.published_on < ctx.since)]
                yield Page(response=response, records=[r for r in wanted if not _fetchable(r.url, ctx.base_url)],
                           stats=ParseStats(listed=len(result.records)))
                for entry in wanted:
                    if entry.url in done or not _fetchable(entry.url, ctx.base_url):
                        continue
                    done.add(entry.url)
                    detail = fetcher.get(entry.url, headers={"Referer": headers["Referer"]})
                    yield Page(response=detail, records=[_merge(parse_detail(detail.text(), detail.url), entry)],
                               key=entry.url)
                for name, count in result.on_page.items():
                    listed[name] = listed.get(name, 0) + count
                older = len(wanted) < len(result.records)
                more = any(listed.get(name, 0) < total for name, total in result.totals.items())
                if older or not result.records or not more:
                    break
