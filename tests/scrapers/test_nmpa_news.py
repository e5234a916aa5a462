"""nmpa_news: approval announcements parsed from saved pages, and the crawl over a fake and a real (local) server."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from werkzeug import Request
from werkzeug import Response as WzResponse

from scrapers import nmpa_news as scraper
from tests.scrapers import samplefetch
from tracker.fetch.base import Blocked, Response
from tracker.fetch.http import HttpFetcher
from tracker.records import CrawlContext, LayoutChanged

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "nmpa_news"
FIXTURES = ROOT / "tests" / "fixtures" / "nmpa_news"
BASE = scraper.DEFAULT_BASE_URL
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
YAOWEN = "yaowen/ypjgyw"
JGDT = "ylqx/ylqxjgdt"
FFR_2020 = f"{YAOWEN}/20200115093801234.html"
AI_2026 = f"{YAOWEN}/20261121103015222.html"


def sample(rel: str) -> str:
    return (SAMPLES / rel).read_text(encoding="utf-8")


def url(rel: str, base: str = BASE) -> str:
    return f"{base}/{rel}"


class SampleFetcher(samplefetch.SampleFetcher):
    """samples/nmpa_news served at `base` (the real site by default)."""

    def __init__(self, base: str = BASE) -> None:
        super().__init__("nmpa_news", base, NOW)


# ---------------------------------------------------------------- parse


@pytest.mark.parametrize("rel", [f"{YAOWEN}/index.html", f"{JGDT}/index.html"])
def test_list_pages_hold_no_records(rel: str) -> None:
    assert scraper.parse(sample(rel), url(rel)) == []


def test_historic_innovative_approval() -> None:
    [news] = scraper.parse(sample(FFR_2020), "http://ignored.example/")
    assert news.title == "国家药监局批准冠脉血流储备分数计算软件创新产品注册"
    assert news.url == "https://www.nmpa.gov.cn/yaowen/ypjgyw/20200115093801234.html"  # from <meta name="Url">
    assert news.published_on == date(2020, 1, 15)
    assert news.products == ("冠脉血流储备分数计算软件",)
    assert news.companies == ("北京昆仑医云科技有限公司",)
    assert news.cert_nos == ()
    assert news.summary.startswith("近日，国家药品监督管理局经审查，批准了北京昆仑医云科技有限公司")


def test_announcement_naming_certificates_links_every_product() -> None:
    [news] = scraper.parse(sample(AI_2026), url(AI_2026))
    assert news.products == ("颅内出血CT影像辅助分诊软件", "结直肠息肉内窥镜图像辅助检测软件")
    assert news.companies == ("北京示例智能医疗科技有限公司", "上海示例影像科技有限公司")
    # the second number is printed with a space inside ("国械注准 20263219922")
    assert news.cert_nos == ("国械注准20263219921", "国械注准20263219922")
    assert len(news.summary) == scraper.SUMMARY_CHARS


def test_url_and_date_fall_back_without_meta_tags() -> None:
    page = re.sub(r'<meta name="(Url|PubDate)"[^>]*>', "", sample(FFR_2020))
    [news] = scraper.parse(page, "http://127.0.0.1:1/a.html")
    assert (news.url, news.published_on) == ("http://127.0.0.1:1/a.html", date(2020, 1, 15))  # date from div.date


@pytest.mark.parametrize("title, expected", [
    ("国家药监局批准冠脉血流储备分数计算软件创新产品注册", True),
    ("国家药监局批准两项人工智能医疗器械创新产品注册", True),
    ("国家药监局通过优先审批程序批准示例导管注册", True),
    ("国家药监局批准示例单抗注射液上市", False),
    ("国家药监局召开医疗器械注册人质量安全主体责任落实工作座谈会", False),
    ("国家药监局发布人工智能医疗器械注册审查指导原则", False),
])
def test_which_titles_are_device_approval_announcements(title: str, expected: bool) -> None:
    assert scraper.is_approval_announcement(title) is expected


def test_products_named_without_quotes_and_procedures_in_quotes() -> None:
    text = "按照“创新医疗器械特别审查程序”，国家药监局批准了示例医学科技有限公司生产的眼底图像辅助诊断软件注册。"
    assert scraper.find_products(text) == ("眼底图像辅助诊断软件",)
    assert scraper.find_companies(text) == ("示例医学科技有限公司",)


def test_changed_article_layout_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged, match="news list"):
        scraper.parse((FIXTURES / "changed_layout.html").read_text(encoding="utf-8"), url("x.html"))


def test_challenge_page_is_a_layout_change_not_an_empty_result() -> None:
    with pytest.raises(LayoutChanged):
        scraper.parse((FIXTURES / "challenge_412.html").read_text(encoding="utf-8"), url("x.html"))


def test_article_whose_body_is_empty_is_a_layout_change() -> None:
    page = re.sub(r'<div class="TRS_Editor">.*?</div>', '<div class="TRS_Editor"></div>', sample(FFR_2020),
                  flags=re.S)
    with pytest.raises(LayoutChanged, match="article body text"):
        scraper.parse(page, url(FFR_2020))


# ---------------------------------------------------------------- crawl


def test_first_crawl_reads_both_lists_and_only_approval_announcements() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, CrawlContext(base_url=BASE)))
    assert fetcher.requested == [
        url(f"{YAOWEN}/index.html"), url(AI_2026), url(FFR_2020), url(f"{YAOWEN}/index_1.html"),
        url(f"{JGDT}/index.html"), url(f"{JGDT}/index_1.html"),
    ]
    assert [p.key for p in pages] == [None, url(AI_2026), url(FFR_2020), None]
    assert [(p.stats.listed, p.stats.out_of_scope) for p in pages if p.key is None] == [(4, 2), (2, 2)]
    # the URL crawl fetched wins over the <meta name="Url"> of the page
    assert [r.url for p in pages for r in p.records] == [url(AI_2026), url(FFR_2020)]


def test_crawl_stops_at_items_older_than_since_and_skips_known_articles() -> None:
    fetcher = SampleFetcher()
    ctx = CrawlContext(base_url=BASE, since=date(2026, 11, 1), known_keys=frozenset({url(AI_2026)}))
    pages = list(scraper.crawl(fetcher, ctx))
    assert fetcher.requested == [url(f"{YAOWEN}/index.html"), url(f"{JGDT}/index.html"),
                                 url(f"{JGDT}/index_1.html")]
    assert all(p.key is None for p in pages)


def test_an_article_url_that_serves_a_list_is_a_layout_change() -> None:
    class ListEverywhere(SampleFetcher):
        def get(self, url: str, **kw) -> Response:
            return super().get(url if url.endswith("index.html") else url.rsplit("/", 1)[0] + "/index.html", **kw)

    with pytest.raises(LayoutChanged, match="article"):
        list(scraper.crawl(ListEverywhere(), CrawlContext(base_url=BASE)))


# ---------------------------------------------------------------- real HTTP against a local server


def _serve_samples(request: Request) -> WzResponse:
    path = SAMPLES / request.path.lstrip("/")
    if not path.is_file():
        return WzResponse("<html><body>404</body></html>", status=404, content_type="text/html")
    return WzResponse(path.read_bytes(), content_type="text/html; charset=utf-8")


def test_crawl_through_real_http(httpserver) -> None:
    httpserver.expect_request(re.compile("^/")).respond_with_handler(_serve_samples)
    base = httpserver.url_for("/").rstrip("/")
    with HttpFetcher(min_interval=0, now=lambda: NOW) as fetcher:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base)))
    records = [r for p in pages for r in p.records]
    assert [r.url for r in records] == [url(AI_2026, base), url(FFR_2020, base)]
    assert records[0].cert_nos == ("国械注准20263219921", "国械注准20263219922")


def test_challenge_page_raises_blocked(httpserver) -> None:
    body = (FIXTURES / "challenge_412.html").read_bytes()
    httpserver.expect_request(f"/{YAOWEN}/index.html").respond_with_data(body, status=412, content_type="text/html")
    with HttpFetcher(min_interval=0, now=lambda: NOW) as fetcher:
        with pytest.raises(Blocked) as caught:
            list(scraper.crawl(fetcher, CrawlContext(base_url=httpserver.url_for("/").rstrip("/"))))
    assert "412" in caught.value.evidence
