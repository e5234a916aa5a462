"""nmpa_notices: list and article pages of the four device policy columns parsed from samples, and the crawl over a
fake and a real (local) server, including a challenge and a page that declares gb2312 but holds GBK characters."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from werkzeug import Request
from werkzeug import Response as WzResponse

from scrapers import nmpa_notices as scraper
from tests.scrapers import samplefetch
from tracker.fetch.base import Blocked, FetchError
from tracker.fetch.http import HttpFetcher
from tracker.ids.docno import core_title, policy_key, strip_draft_markers
from tracker.records import CrawlContext, LayoutChanged

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "nmpa_notices"
FIXTURES = ROOT / "tests" / "fixtures" / "nmpa_notices"
BASE = scraper.DEFAULT_BASE_URL
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
GGTG = "ylqx/ylqxggtg"
AI_DEVICE = f"{GGTG}/20220309111021184.html"  # real URL (SOURCES.md §3)
AI_CLASSIFICATION = f"{GGTG}/20210708111147171.html"  # real URL (SOURCES.md §3)
CATALOGUE_2017 = f"{GGTG}/20170904150201234.html"
DRAFT = "xxgk/zhqyj/20210628170517393.html"
REGULATION_ON_GOVCN = "https://www.gov.cn/zhengce/content/2021-03/18/content_5593739.htm"


def sample(rel: str) -> str:
    return (SAMPLES / rel).read_text(encoding="utf-8")


def url(rel: str, base: str = BASE) -> str:
    return f"{base}/{rel}"


class SampleFetcher(samplefetch.SampleFetcher):
    """samples/nmpa_notices served at `base` (the real site by default)."""

    def __init__(self, base: str = BASE) -> None:
        super().__init__("nmpa_notices", base, NOW)


# ---------------------------------------------------------------- list pages


def test_notice_list_gives_partial_records() -> None:
    records = scraper.parse(sample(f"{GGTG}/index.html"), url(f"{GGTG}/index.html"))
    assert [(r.title, r.url, r.published_on, r.doc_no, r.doc_type) for r in records] == [
        ("国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）", url(AI_DEVICE), date(2022, 3, 9),
         "国家药监局通告2022年第8号", "指导原则"),
        ("国家药监局关于发布人工智能医用软件产品分类界定指导原则的通告（2021年第47号）", url(AI_CLASSIFICATION),
         date(2021, 7, 8), "国家药监局通告2021年第47号", "指导原则"),
    ]
    assert all(r.body is None and r.issuer == "国家药监局" for r in records)


def test_draft_column_marks_its_entries_as_drafts() -> None:
    [entry] = scraper.parse(sample("xxgk/zhqyj/index.html"), url("xxgk/zhqyj/index.html"))
    assert (entry.doc_type, entry.stage) == ("征求意见稿", "draft")


def test_regulation_column_names_no_issuer_the_title_does_not_name() -> None:
    records = scraper.parse(sample("ylqx/ylqxfgwj/index.html"), url("ylqx/ylqxfgwj/index.html"))
    assert [(r.title, r.issuer, r.doc_type) for r in records] == [
        ("医疗器械监督管理条例", None, "法律法规"), ("医疗器械注册与备案管理办法", None, "部门规章")]
    assert records[0].url == REGULATION_ON_GOVCN


def test_interpretation_column() -> None:
    [entry] = scraper.parse(sample("ylqx/ylqxzhcjd/index.html"), url("ylqx/ylqxzhcjd/index.html"))
    assert entry.doc_type == "政策解读"


# ---------------------------------------------------------------- article pages


def test_notice_article_with_attachment() -> None:
    [notice] = scraper.parse(sample(AI_DEVICE), url(AI_DEVICE))
    assert notice.title == "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）"
    assert (notice.issuer, notice.doc_no, notice.published_on) == ("国家药监局", "国家药监局通告2022年第8号",
                                                                   date(2022, 3, 9))
    assert (notice.doc_type, notice.stage) == ("指导原则", "issued")
    # one line per paragraph; the <br>-separated attachment list keeps its lines
    assert notice.body.split("\n") == [
        "（样例摘要）国家药监局发布《人工智能医疗器械注册审查指导原则》，用于指导注册申请人规范人工智能医疗器械的注册申报。",
        "指导原则全文见附件。", "附件：", "1.人工智能医疗器械注册审查指导原则.pdf", "国家药监局"]
    assert [(a.name, a.url, a.file_type) for a in notice.attachments] == [
        ("人工智能医疗器械注册审查指导原则.pdf", url("directory/web/nmpa/images/sample-2022-8-ai-device-guidance.pdf"),
         "pdf")]


def test_draft_article_skips_the_feedback_form() -> None:
    [draft] = scraper.parse(sample(DRAFT), url(DRAFT))
    assert (draft.doc_type, draft.stage, draft.issuer) == ("征求意见稿", "draft", "国家药监局")
    assert [a.name for a in draft.attachments] == ["人工智能医疗器械注册审查指导原则（征求意见稿）.docx"]
    assert all("反馈" not in a.name and "feedback" not in a.url for a in draft.attachments)


def test_the_draft_and_its_final_version_match_by_title() -> None:
    [draft] = scraper.parse(sample(DRAFT), url(DRAFT))
    [final] = scraper.parse(sample(AI_DEVICE), url(AI_DEVICE))
    assert strip_draft_markers(draft.title) == core_title(final.title) == "人工智能医疗器械注册审查指导原则"
    assert draft.published_on < final.published_on


def test_the_notice_has_the_same_key_as_its_govcn_copy() -> None:
    [notice] = scraper.parse(sample(AI_DEVICE), url(AI_DEVICE))
    govcn_key = policy_key("2022年第8号", "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告", "国家药品监督管理局",
                           date(2022, 3, 9))
    assert policy_key(notice.doc_no, notice.title, notice.issuer, notice.published_on) == govcn_key


def test_cfda_announcement_keeps_its_kind_and_issuer() -> None:
    [notice] = scraper.parse(sample(CATALOGUE_2017), url(CATALOGUE_2017))
    assert (notice.issuer, notice.doc_no, notice.doc_type) == (
        "国家食品药品监督管理总局", "国家食品药品监督管理总局公告2017年第104号", "公告通告")
    assert notice.attachments[0].file_type == "pdf"


@pytest.mark.parametrize(
    "fixture, missing",
    [
        ("changed_layout.html", ".list ul li (list page) or div.text, #ivs_content or .TRS_Editor (article page)"),
        ("article_without_title.html", "article title (meta ArticleTitle, h2.title or <title>)"),
    ],
)
def test_changed_layout_names_what_is_missing(fixture: str, missing: str) -> None:
    with pytest.raises(LayoutChanged) as caught:
        scraper.parse((FIXTURES / fixture).read_text(encoding="utf-8"), url(f"{GGTG}/index.html"))
    assert caught.value.what == missing


def test_other_body_containers_are_accepted() -> None:
    text = sample(AI_DEVICE).replace('<div class="text">', '<div id="ivs_content">')
    [notice] = scraper.parse(text, url(AI_DEVICE))
    assert notice.body and len(notice.attachments) == 1


# ---------------------------------------------------------------- crawl with a fake fetcher


def test_first_crawl_walks_every_column_and_its_pages() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, CrawlContext(base_url=BASE)))
    lists = [u for u in fetcher.requested if "/index" in u]
    assert lists == [url(f"{GGTG}/index.html"), url(f"{GGTG}/index_1.html"), url(f"{GGTG}/index_2.html"),
                     url("ylqx/ylqxfgwj/index.html"), url("ylqx/ylqxfgwj/index_1.html"),
                     url("ylqx/ylqxzhcjd/index.html"), url("ylqx/ylqxzhcjd/index_1.html"),
                     url("xxgk/zhqyj/index.html"), url("xxgk/zhqyj/index_1.html")]
    keyed = [p.key for p in pages if p.key]
    assert keyed == [url(AI_DEVICE), url(AI_CLASSIFICATION), url(CATALOGUE_2017),
                     url("ylqx/ylqxfgwj/20210831163502123.html"), url("ylqx/ylqxzhcjd/20210708111631678.html"),
                     url(DRAFT)]
    records = {r.url: r for p in pages for r in p.records}
    assert records[url(DRAFT)].stage == "draft"
    assert records[url(AI_DEVICE)].body
    # the regulation hosted on gov.cn is not fetched; the list page carries it as a partial record
    assert REGULATION_ON_GOVCN not in fetcher.requested
    assert records[REGULATION_ON_GOVCN].body is None


def test_crawl_stops_at_the_last_successful_run_and_skips_known_articles() -> None:
    fetcher = SampleFetcher()
    context = CrawlContext(base_url=BASE, since=date(2021, 1, 1), known_keys=frozenset({url(AI_CLASSIFICATION)}),
                           options={"nmpa_columns": [GGTG]})
    pages = list(scraper.crawl(fetcher, context))
    # page 1 is all newer than the last run, so page 2 is read; its 2017 entry is older and ends the walk
    assert fetcher.requested == [url(f"{GGTG}/index.html"), url(AI_DEVICE), url(f"{GGTG}/index_1.html")]
    assert [p.key for p in pages] == [None, url(AI_DEVICE), None]


def test_max_pages_caps_paging() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, CrawlContext(base_url=BASE, max_pages=1, options={"nmpa_columns": [GGTG]})))
    assert url(f"{GGTG}/index_1.html") not in fetcher.requested


def test_a_missing_first_list_page_is_an_error() -> None:
    with pytest.raises(FetchError):
        list(scraper.crawl(SampleFetcher(), CrawlContext(base_url=BASE + "/moved")))


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
    records = {r.url: r for p in pages for r in p.records}
    assert len(records) == 7
    assert records[url(AI_DEVICE, base)].attachments[0].url == \
        url("directory/web/nmpa/images/sample-2022-8-ai-device-guidance.pdf", base)


def test_challenge_page_raises_blocked(httpserver) -> None:
    body = (FIXTURES / "challenge_412.html").read_bytes()
    httpserver.expect_request(f"/{GGTG}/index.html").respond_with_data(body, status=412, content_type="text/html")
    with HttpFetcher(min_interval=0, sleep=lambda s: None, now=lambda: NOW) as fetcher:
        with pytest.raises(Blocked) as caught:
            list(scraper.crawl(fetcher, CrawlContext(base_url=httpserver.url_for("/").rstrip("/"))))
    assert "412" in caught.value.evidence
    assert len(httpserver.log) == 1


def test_gb2312_page_with_gbk_only_characters(httpserver) -> None:
    listing = ('<html><head><meta charset="utf-8"></head><body><div class="list"><ul>'
               '<li><a href="./20230506100000000.html">测试</a><span>2023-05-06</span></li></ul></div></body></html>')
    httpserver.expect_request(f"/{GGTG}/index.html").respond_with_data(listing, content_type="text/html; charset=utf-8")
    httpserver.expect_request(f"/{GGTG}/index_1.html").respond_with_data("no", status=404)
    httpserver.expect_request(f"/{GGTG}/20230506100000000.html").respond_with_data(
        (FIXTURES / "gb2312_article.html").read_bytes(), content_type="text/html; charset=gb2312")
    base = httpserver.url_for("/").rstrip("/")
    with HttpFetcher(min_interval=0, now=lambda: NOW) as fetcher:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base, options={"nmpa_columns": [GGTG]})))
    [article] = [r for p in pages for r in p.records]
    assert article.title == "国家药监局关于发布测试用镕铸设备注册审查指导原则的通告（2023年第99号）"
    assert article.doc_no == "国家药监局通告2023年第99号"
    assert article.body.startswith("（测试正文）镕铸设备")
    assert article.attachments[0].name == "测试用镕铸设备注册审查指导原则.docx"
