"""NMPA news (药监要闻, 医疗器械监管动态): announcements of device approvals such as "批准…创新产品注册".

`crawl` walks both lists and fetches only the articles whose titles announce device approvals; `parse` turns an
article into a `NewsRecord` carrying the product names, companies and certificate numbers it names, which the store
uses to link the news to devices (by certificate, else by product + company). The site sits behind a Ruishu
challenge, so the runs layer hands `crawl` a browser fetcher. Lists and article metadata use the same NMPA
template as the approval notices (`scrapers._nmpa_cms`).
"""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Iterator
from urllib.parse import urljoin

from scrapers._html import element_text, make_soup, meta_content, squeeze_cjk
from scrapers._nmpa_cms import article_meta, content_element, crawl_list, list_entries, list_page_url
from tracker.fetch.base import Fetcher
from tracker.ids import certno
from tracker.records import CrawlContext, LayoutChanged, NewsRecord, Page

SLUG = "nmpa_news"
TITLE_ZH = "药监要闻 / 医疗器械监管动态"
TITLE_EN = "NMPA news: approval announcements"
KIND = "device"
NEEDS_BROWSER = True
BROWSER_LIKE_HEADERS = False  # no User-Agent gets past Ruishu; the browser fetcher is what helps
DEFAULT_BASE_URL = "https://www.nmpa.gov.cn"
# Approval announcements come out with the notices, during office hours: read a little after them, twice a day.
SCHEDULE = "20 11,17 * * *"
TIME_LIMIT = 30 * 60
STALE_AFTER = timedelta(days=3)
LIST_PATHS = ("yaowen/ypjgyw/index.html", "ylqx/ylqxjgdt/index.html")
SUMMARY_CHARS = 200

_ANNOUNCES_APPROVAL = re.compile(r"批准.*注册|创新产品|优先审批")
# 药监要闻 mixes drugs and devices; drug approvals say "上市", device ones name a device word or "产品注册".
_DEVICE_WORDS = re.compile(r"医疗器械|器械|软件|系统|设备|装置|仪|导管|支架|瓣膜|假体|植入|试剂|产品注册")
_QUOTED = re.compile(r"“([^“”]{2,60})”|「([^「」]{2,60})」|\"([^\"]{2,60})\"")
_NAMED_AFTER_APPROVAL = re.compile(
    r"批准了?(?:[^，。；“”「」]*?生产的)?(?:创新产品)?([^，。；、：“”「」\s]{2,40}?(?:软件|系统))")
_NOT_A_PRODUCT = re.compile(r"程序|通道|审查|办法|规定|原则|政策|工作|制度|服务|改革|计划|行动|平台|公司$|[，。；：！？]")
_COMPANY = re.compile(r"[\u4e00-\u9fffA-Za-z0-9（）()·]{2,60}?(?:股份有限公司|有限责任公司|有限公司|株式会社)")
# Words that run straight into a company name in news prose ("批准了X有限公司", "一是X有限公司"); cut up to the last one.
_COMPANY_LEAD_IN = re.compile(r"^.*(?:批准了|批准|注册人为|注册人是|企业为|由|[一二三四五六七八九十]是|以及|及|与)")


def is_approval_announcement(title: str) -> bool:
    """True for titles announcing device approvals (批准…注册, 创新产品, 优先审批 plus a device word)."""
    return bool(_ANNOUNCES_APPROVAL.search(title) and _DEVICE_WORDS.search(title))


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def find_products(text: str) -> tuple[str, ...]:
    """Product names a news text names: quoted names (“…”, 「…」) and "…软件"/"…系统" phrases after 批准."""
    found: list[str] = []
    for match in _QUOTED.finditer(text):
        name = next(g for g in match.groups() if g is not None).strip()
        if not _NOT_A_PRODUCT.search(name):
            found.append(name)
    found.extend(m.group(1) for m in _NAMED_AFTER_APPROVAL.finditer(text))
    return _unique(found)


def find_companies(text: str) -> tuple[str, ...]:
    """Company names (ending 有限公司 / 股份有限公司 / 有限责任公司 / 株式会社) a news text names, lead-in words cut off."""
    names = []
    for match in _COMPANY.finditer(text):
        name = _COMPANY_LEAD_IN.sub("", match.group())
        if len(name) > 4:
            names.append(name)
    return _unique(names)


def parse(text: str, base_url: str = DEFAULT_BASE_URL) -> list[NewsRecord]:
    """Records of one saved page: an article → [NewsRecord]; a list page → [].

    The article URL is not in its body: it comes from `<meta name="Url">` when present, else `base_url` (crawl sets
    the fetched URL). Raises LayoutChanged when the page is neither an article nor a list, or the article is empty.
    """
    soup = make_soup(text)
    body = content_element(soup)
    if body is None:
        if list_entries(soup) is not None:
            return []
        raise LayoutChanged("news list (div.list ul) or article (div.text)", url=base_url)
    body_text = squeeze_cjk(element_text(body))
    if not body_text:
        raise LayoutChanged("article body text", url=base_url)
    title, published, _column = article_meta(soup)
    title = title or ""
    searched = f"{title}\n{body_text}"
    return [NewsRecord(
        title=title,
        url=meta_content(soup, "Url") or base_url,
        published_on=published,
        summary=body_text[:SUMMARY_CHARS],
        products=find_products(searched),
        companies=find_companies(searched),
        cert_nos=tuple(c.normalised for c in certno.find_all(searched)),
    )]


def crawl(fetcher: Fetcher, ctx: CrawlContext) -> Iterator[Page]:
    """Walk both news lists; fetch each approval announcement not yet in ctx.known_keys; one Page per response."""
    root = ctx.base_url if ctx.base_url.endswith("/") else ctx.base_url + "/"
    for path in LIST_PATHS:
        list_url = list_page_url(urljoin(root, path), 0)
        for list_page, items in crawl_list(fetcher, ctx, list_url):
            wanted = [i for i in items if is_approval_announcement(i.title)]
            list_page.stats.out_of_scope = len(items) - len(wanted)
            yield list_page
            for item in wanted:
                if item.url in ctx.known_keys:
                    continue
                response = fetcher.get(item.url)
                records = [dataclasses.replace(r, url=item.url) for r in parse(response.text(), item.url)]
                if not records:
                    raise LayoutChanged("article (div.text)", url=item.url)
                yield Page(response=response, records=records, key=item.url)
