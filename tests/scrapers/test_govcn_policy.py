"""govcn_policy: search responses and document pages parsed from samples, and the crawl over a fake and a real
(local) server that answers the search the way samples/govcn_policy/search-gov/_manifest.json says."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug import Request
from werkzeug import Response as WzResponse

from scrapers import govcn_policy as scraper
from tracker.fetch.base import Blocked, FetchError, Response
from tracker.fetch.factory import make_fetcher
from tracker.fetch.http import HttpFetcher
from tracker.records import CrawlContext, LayoutChanged

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "govcn_policy"
FIXTURES = ROOT / "tests" / "fixtures" / "govcn_policy"
BASE = "http://govcn.test"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
MANIFEST = json.loads((SAMPLES / "search-gov" / "_manifest.json").read_text(encoding="utf-8"))
QUERIES = ["人工智能 医疗", "人工智能 医疗器械"]

PLAN_2017 = "/zhengce/content/2017-07/20/content_5211996.htm"
AI_DEVICE_2022 = "/zhengce/zhengceku/2022-03/09/content_5678001.htm"


def response_file(path: str, query: str) -> Path | None:
    """The sample file answering a request, as a sample server following the manifest would choose it."""
    if path == scraper.SEARCH_PATH:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        for entry in MANIFEST["responses"]:
            if (entry["t"], entry["q"], str(entry["p"])) == (params.get("t"), params.get("q"), params.get("p")):
                return SAMPLES / "search-gov" / entry["file"]
        return SAMPLES / "search-gov" / MANIFEST["fallback"]
    file = SAMPLES / path.lstrip("/")
    return file if file.is_file() else None


def sample_search(name: str) -> str:
    return (SAMPLES / "search-gov" / "responses" / name).read_text(encoding="utf-8")


class SampleFetcher:
    """Answers like the sample server at BASE; records each request with its headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, *, headers=None, max_bytes=None, conditional=False) -> Response:
        self.requests.append((url, dict(headers or {})))
        parts = urlsplit(url)
        file = response_file(parts.path, parts.query) if url.startswith(BASE) else None
        if file is None:
            raise FetchError(f"HTTP 404 from {url}", url=url, status=404)
        kind = "application/json" if file.suffix == ".json" else "text/html"
        return Response(url=url, status=200, headers={"content-type": kind}, content=file.read_bytes(), fetched_at=NOW)

    def searches(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in parse_qs(urlsplit(u).query).items()}
                for u, _ in self.requests if urlsplit(u).path == scraper.SEARCH_PATH]

    def documents(self) -> list[str]:
        return [urlsplit(u).path for u, _ in self.requests if urlsplit(u).path != scraper.SEARCH_PATH]


def ctx(**kw) -> CrawlContext:
    options = kw.pop("options", {"govcn_queries": QUERIES})
    return CrawlContext(base_url=BASE, options=options, **kw)


# ---------------------------------------------------------------- search responses


def test_search_page_with_categories_strips_highlights_and_resolves_urls() -> None:
    records = scraper.parse(sample_search("zhengcelibrary-ai-medical-p1.json"), f"{BASE}/search-gov/data?p=1")
    assert [r.title for r in records] == [
        "中共中央办公厅国务院办公厅印发《关于进一步完善医疗卫生服务体系的意见》",
        "国务院办公厅关于促进“互联网+医疗健康”发展的意见",
        "国务院关于印发新一代人工智能发展规划的通知",
        "国家卫生健康委办公厅国家中医药局综合司国家疾控局综合司关于印发卫生健康行业人工智能应用场景参考指引的通知",
        "科技部等六部门关于印发《关于加快场景创新以人工智能高水平应用促进经济高质量发展的指导意见》的通知",
    ]
    assert all("<" not in r.title and "<" not in (r.summary or "") for r in records)
    plan = records[2]
    assert plan.url == BASE + PLAN_2017
    assert (plan.issuer, plan.doc_no, plan.published_on) == ("国务院", "国发〔2017〕35号", date(2017, 7, 20))
    assert (plan.doc_type, plan.stage) == ("发展规划", "issued")
    assert plan.summary.startswith("规划到2030年新一代人工智能发展")
    assert plan.body is None  # a search entry is a partial record
    assert records[0].issuer == "中共中央办公厅、国务院办公厅"
    assert records[0].doc_no is None  # empty pcode
    assert records[4].issuer == "科技部、教育部、工信部、交通运输部、农业农村部、国家卫健委"


def test_search_page_counts_per_category() -> None:
    page = scraper.parse_search(sample_search("zhengcelibrary-ai-medical-p1.json"), BASE)
    assert page.on_page == {"gongwen": 3, "bumenfile": 2, "otherfile": 0, "gongbao": 0}
    assert page.totals == {"gongwen": 5, "bumenfile": 3, "otherfile": 0, "gongbao": 0}


def test_ministry_library_has_one_flat_list_and_qualified_numbers() -> None:
    records = scraper.parse(sample_search("zhengcelibrary_bm-ai-device-p1.json"), f"{BASE}/search-gov/data")
    assert [(r.title, r.doc_no, r.doc_type, r.stage) for r in records] == [
        ("国家药监局关于发布人工智能医疗器械注册审查指导原则的通告", "国家药监局通告2022年第8号", "指导原则", "issued"),
        ("国家药监局关于发布医疗器械软件注册审查指导原则（2022年修订版）的通告", "国家药监局通告2022年第9号", "指导原则",
         "revised"),
    ]
    assert {r.issuer for r in records} == {"国家药监局"}


def test_absolute_urls_from_the_real_site_are_kept() -> None:
    text = sample_search("zhengcelibrary_bm-ai-device-p1.json").replace(
        '"/zhengce/', '"https://www.gov.cn/zhengce/')
    assert scraper.parse(text, BASE)[0].url == "https://www.gov.cn" + AI_DEVICE_2022


def test_empty_result_is_healthy_and_empty() -> None:
    assert scraper.parse(sample_search("empty.json"), BASE) == []


@pytest.mark.parametrize(
    "fixture, missing",
    [
        ("not_json.html", "#UCAP-CONTENT"),  # parse() reads non-JSON as a document page
        ("no_searchvo.json", "searchVO"),
        ("changed_shape.json", "searchVO.catMap or searchVO.listVO"),
        ("item_without_url.json", "listVO[] item with title and url"),
    ],
)
def test_changed_search_layout_names_what_is_missing(fixture: str, missing: str) -> None:
    with pytest.raises(LayoutChanged) as caught:
        scraper.parse((FIXTURES / fixture).read_text(encoding="utf-8"), BASE)
    assert caught.value.what == missing


def test_an_html_answer_to_the_search_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged, match="JSON search response"):
        scraper.parse_search((FIXTURES / "not_json.html").read_text(encoding="utf-8"), BASE)


# ---------------------------------------------------------------- document pages


def test_document_page_gives_metadata_table_and_body() -> None:
    url = BASE + PLAN_2017
    [doc] = scraper.parse((SAMPLES / PLAN_2017.lstrip("/")).read_text(encoding="utf-8"), url)
    assert doc.title == "国务院关于印发新一代人工智能发展规划的通知"
    assert doc.url == url
    assert (doc.issuer, doc.doc_no) == ("国务院", "国发〔2017〕35号")
    assert (doc.written_on, doc.published_on) == (date(2017, 7, 8), date(2017, 7, 20))
    assert doc.subject == "科技、教育\\科技"
    assert (doc.doc_type, doc.stage) == ("发展规划", "issued")
    lines = doc.body.split("\n")
    assert lines[0] == "国务院关于印发新一代人工智能发展规划的通知"
    assert len(lines) == 3 and "智能医疗体系" in lines[2]


def test_document_page_of_an_nmpa_notice_lists_its_attachment() -> None:
    url = BASE + AI_DEVICE_2022
    [doc] = scraper.parse((SAMPLES / AI_DEVICE_2022.lstrip("/")).read_text(encoding="utf-8"), url)
    assert (doc.issuer, doc.doc_no) == ("国家药监局", "国家药监局通告2022年第8号")
    assert [(a.name, a.url, a.file_type) for a in doc.attachments] == [
        ("人工智能医疗器械注册审查指导原则.doc",
         f"{BASE}/zhengce/zhengceku/2022-03/09/5678001/files/sample-ai-device-guidance.doc", "doc")]


def test_page_without_metadata_table_uses_title_and_first_published_time() -> None:
    [doc] = scraper.parse((FIXTURES / "detail_without_table.html").read_text(encoding="utf-8"), BASE + "/x.htm")
    assert doc.title == "图解：新一代人工智能发展规划"
    assert doc.published_on == date(2017, 7, 21)  # meta firstpublishedtime, YYYY-MM-DD-HH:mm:ss
    assert (doc.issuer, doc.doc_no, doc.written_on) == (None, None, None)
    assert doc.body == "（测试正文）一图读懂规划的三步走目标。\n第二段。"


def test_page_without_body_container_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged) as caught:
        scraper.parse((FIXTURES / "detail_without_content.html").read_text(encoding="utf-8"), BASE + "/x.htm")
    assert caught.value.what == "#UCAP-CONTENT"


# ---------------------------------------------------------------- requests


def test_search_url_and_headers() -> None:
    url = scraper.search_url("https://sousuo.www.gov.cn", "zhengcelibrary_bm", "人工智能 医疗", 2, 20)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "sousuo.www.gov.cn", "/search-gov/data")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "t": "zhengcelibrary_bm", "q": "人工智能 医疗", "searchfield": "title:content:summary", "sort": "pubtime",
        "sortType": "1", "p": "2", "n": "20", "timetype": "timeqb"}
    assert scraper.search_headers("http://127.0.0.1:8000/") == {
        "Referer": "http://127.0.0.1:8000/", "Accept": "application/json, text/plain, */*"}


# ---------------------------------------------------------------- crawl with a fake fetcher


def test_first_crawl_pages_through_and_fetches_every_document_once() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, ctx()))
    assert [(s["t"], s["q"], s["p"]) for s in fetcher.searches()] == [
        ("zhengcelibrary", "人工智能 医疗", "1"), ("zhengcelibrary", "人工智能 医疗", "2"),
        ("zhengcelibrary", "人工智能 医疗器械", "1"),
        ("zhengcelibrary_bm", "人工智能 医疗", "1"),
        ("zhengcelibrary_bm", "人工智能 医疗器械", "1"),
    ]
    documents = fetcher.documents()
    assert len(documents) == len(set(documents)) == 10
    detail_pages = [p for p in pages if p.key]
    assert [p.key for p in detail_pages] == [BASE + d for d in documents]
    records = [r for p in detail_pages for r in p.records]
    assert all(r.body and r.summary and r.published_on for r in records)
    by_url = {r.url: r for r in records}
    plan = by_url[BASE + PLAN_2017]
    assert (plan.doc_no, plan.written_on) == ("国发〔2017〕35号", date(2017, 7, 8))
    assert plan.summary.startswith("规划到2030年")  # from the search entry
    assert by_url[BASE + AI_DEVICE_2022].doc_no == "国家药监局通告2022年第8号"
    search_pages = [p for p in pages if not p.key]
    assert all(p.records == [] for p in search_pages)  # every entry was fetched as a document
    assert [p.stats.listed for p in search_pages] == [5, 3, 0, 0, 2]


def test_search_requests_carry_referer_and_json_accept() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, ctx()))
    for url, headers in fetcher.requests:
        assert headers["Referer"] == BASE + "/"
        if urlsplit(url).path == scraper.SEARCH_PATH:
            assert headers["Accept"] == "application/json, text/plain, */*"


def test_paging_stops_at_the_last_successful_run() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, ctx(since=date(2018, 1, 1))))
    # page 1 already reaches back to 2017: page 2 is not asked for
    assert ("zhengcelibrary", "人工智能 医疗", "2") not in [(s["t"], s["q"], s["p"]) for s in fetcher.searches()]
    assert PLAN_2017 not in fetcher.documents()
    dates = [r.published_on for p in pages for r in p.records]
    assert dates and min(dates) >= date(2018, 1, 1)


def test_documents_of_the_day_of_the_last_run_are_still_fetched() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, ctx(since=date(2022, 3, 9))))
    assert AI_DEVICE_2022 in fetcher.documents()


def test_known_documents_are_not_fetched_again() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, ctx(known_keys=frozenset({BASE + PLAN_2017, BASE + AI_DEVICE_2022}))))
    assert PLAN_2017 not in fetcher.documents() and AI_DEVICE_2022 not in fetcher.documents()
    assert len(fetcher.documents()) == 8
    assert {p.key for p in pages if p.key}.isdisjoint({BASE + PLAN_2017, BASE + AI_DEVICE_2022})


def test_max_pages_caps_paging() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, ctx(max_pages=1)))
    assert all(s["p"] == "1" for s in fetcher.searches())


def test_default_queries_and_libraries() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, CrawlContext(base_url=BASE, max_pages=1)))
    asked = {(s["t"], s["q"]) for s in fetcher.searches()}
    assert asked == {(t, q) for t in scraper.LIBRARIES for q in scraper.DEFAULT_QUERIES}
    assert len(scraper.DEFAULT_QUERIES) == 6


def test_documents_on_other_hosts_are_listed_not_fetched() -> None:
    class OffsiteFetcher(SampleFetcher):
        def get(self, url: str, **kw) -> Response:
            if urlsplit(url).path == scraper.SEARCH_PATH:
                self.requests.append((url, kw.get("headers") or {}))
                return Response(url=url, status=200, headers={"content-type": "application/json"},
                                content=(FIXTURES / "offsite_item.json").read_bytes(), fetched_at=NOW)
            return super().get(url, **kw)

    fetcher = OffsiteFetcher()
    options = {"govcn_queries": ["医疗"], "govcn_libraries": ["zhengcelibrary_bm"]}
    pages = list(scraper.crawl(fetcher, ctx(options=options)))
    assert fetcher.documents() == []
    [page] = pages
    [entry] = page.records
    assert entry.url.startswith("https://www.nhc.gov.cn/")
    assert entry.issuer == "国家卫健委"


def test_a_changed_search_layout_stops_the_crawl() -> None:
    class Changed(SampleFetcher):
        def get(self, url: str, **kw) -> Response:
            return Response(url=url, status=200, headers={"content-type": "application/json"},
                            content=(FIXTURES / "changed_shape.json").read_bytes(), fetched_at=NOW)

    with pytest.raises(LayoutChanged, match="searchVO"):
        list(scraper.crawl(Changed(), ctx()))


# ---------------------------------------------------------------- real HTTP against a local server


def _serve_samples(request: Request) -> WzResponse:
    file = response_file(request.path, request.query_string.decode("ascii"))
    if file is None:
        return WzResponse("<html><body>404</body></html>", status=404, content_type="text/html")
    kind = "application/json;charset=UTF-8" if file.suffix == ".json" else "text/html; charset=utf-8"
    return WzResponse(file.read_bytes(), content_type=kind)


def test_crawl_through_real_http_with_browser_like_headers(httpserver) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> WzResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return _serve_samples(request)

    httpserver.expect_request(re.compile("^/")).respond_with_handler(handler)
    base = httpserver.url_for("/").rstrip("/")
    fetcher = make_fetcher(needs_browser=scraper.NEEDS_BROWSER, browser_like_headers=scraper.BROWSER_LIKE_HEADERS,
                           min_interval=0, now=lambda: NOW)
    try:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base, options={"govcn_queries": QUERIES})))
    finally:
        fetcher.close()
    records = {r.url: r for p in pages for r in p.records}
    assert len(records) == 10
    assert records[base + PLAN_2017].doc_no == "国发〔2017〕35号"
    assert all("Mozilla/5.0" in h["user-agent"] and h["referer"] == base + "/" for h in seen)


def test_challenge_on_the_search_raises_blocked_without_retrying(httpserver) -> None:
    body = (FIXTURES / "challenge_412.html").read_bytes()
    httpserver.expect_request(scraper.SEARCH_PATH).respond_with_data(body, status=412, content_type="text/html")
    with HttpFetcher(min_interval=0, sleep=lambda s: None, now=lambda: NOW) as fetcher:
        with pytest.raises(Blocked) as caught:
            list(scraper.crawl(fetcher, CrawlContext(base_url=httpserver.url_for("/").rstrip("/"))))
    assert "412" in caught.value.evidence
    assert len(httpserver.log) == 1


def test_server_error_then_success_is_retried(httpserver) -> None:
    calls = {"n": 0}

    def flaky(request: Request) -> WzResponse:
        if request.path == scraper.SEARCH_PATH and calls["n"] == 0:
            calls["n"] += 1
            return WzResponse("busy", status=500)
        return _serve_samples(request)

    httpserver.expect_request(re.compile("^/")).respond_with_handler(flaky)
    base = httpserver.url_for("/").rstrip("/")
    with HttpFetcher(min_interval=0, sleep=lambda s: None, now=lambda: NOW) as fetcher:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base, options={"govcn_queries": QUERIES[:1]},
                                                         since=date(2018, 1, 1))))
    assert calls["n"] == 1
    assert {r.url for p in pages for r in p.records} >= {base + "/zhengce/content/2018-04/28/content_5286645.htm"}
