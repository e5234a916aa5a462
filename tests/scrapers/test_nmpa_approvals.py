"""nmpa_approvals: notice tables parsed from saved pages, and the crawl over a fake and a real (local) HTTP server."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Request
from werkzeug import Response as WzResponse

from scrapers import _nmpa_cms as cms
from scrapers import nmpa_approvals as scraper
from scrapers import udi
from tests.scrapers import samplefetch
from tracker.fetch.base import Blocked, FetchError
from tracker.fetch.charset import decode_text
from tracker.fetch.http import HttpFetcher
from tracker.records import ApprovalEvent, CrawlContext, LayoutChanged, ParseStats

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "nmpa_approvals"
FIXTURES = ROOT / "tests" / "fixtures" / "nmpa_approvals"
BASE = scraper.DEFAULT_BASE_URL
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
NOTICE_20 = "20261120093012345.html"
CORRECTION_19 = "20261119161520456.html"
NOTICE_18 = "20261118090511678.html"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


class SampleFetcher(samplefetch.SampleFetcher):
    """samples/nmpa_approvals served at `base` (the real site by default)."""

    def __init__(self, base: str = BASE) -> None:
        super().__init__("nmpa_approvals", base, NOW)


def url(name: str) -> str:
    return f"{BASE}/{name}"


# ---------------------------------------------------------------- list pages (the CMS helpers, on this column)


def test_list_page_items_resolve_against_the_column() -> None:
    items = cms.parse_list(sample("index.html"), url("index.html"))
    assert items == [
        cms.ListItem("2026年11月20日医疗器械批准证明文件送达信息", url(NOTICE_20), date(2026, 11, 20)),
        cms.ListItem("2026年11月19日电子证照纠错送达信息", url(CORRECTION_19), date(2026, 11, 19)),
    ]
    # A bare column URL (no trailing slash) must still resolve links inside the column.
    assert cms.parse_list(sample("index_1.html"), BASE)[0].url == url(NOTICE_18)


def test_list_pages_hold_no_records() -> None:
    assert scraper.parse(sample("index.html"), url("index.html")) == []
    assert scraper.parse(sample("index_1.html"), url("index_1.html")) == []


@pytest.mark.parametrize("column, page, expected", [
    (BASE, 0, f"{BASE}/index.html"),
    (BASE + "/", 2, f"{BASE}/index_2.html"),
    (f"{BASE}/index.html", 1, f"{BASE}/index_1.html"),
])
def test_list_page_urls_follow_the_trs_scheme(column: str, page: int, expected: str) -> None:
    assert cms.list_page_url(column, page) == expected


# ---------------------------------------------------------------- notice pages


def test_notice_rows_become_events_mapped_by_header() -> None:
    events, stats = scraper.parse_detail(sample(NOTICE_20), url(NOTICE_20))
    assert [e.cert_no for e in events] == ["国械注准20263219921", "国械注进20233219909", "国械注准20233219908",
                                           "国械注准20263019927", "国械注准20263229928", "国械注进20262069929",
                                           "国械注准20263139930"]
    first = events[0]
    assert first == ApprovalEvent(
        cert_no="国械注准20263219921",
        product_name="颅内出血CT影像辅助分诊软件",
        registrant="北京示例智能医疗科技有限公司",  # split across spans with &nbsp; between them
        acceptance_no="CSZ2600101",
        issued_on=date(2026, 11, 18),  # "2026" + "年11月18日" in two spans
        notice_date=date(2026, 11, 20),
        is_correction=False,
        raw_row="1 | CSZ2600101 | 颅内出血CT影像辅助分诊软件 | 北京示例智能医疗科技有限公司 | 国械注准20263219921 | "
                "2026年11月18日",
        source_url=url(NOTICE_20),
    )
    assert events[3].cert_no == "国械注准20263019927"  # "国械注准&nbsp;20263019927" normalised
    assert events[4].registrant == "杭州示例生物技术有限公司"  # &nbsp; padding stripped
    assert events[5].registrant == "示例医疗系统（苏州）有限公司"  # trailing U+3000 stripped
    assert events[1].registrant == "Sample Imaging AI, Inc."  # spaces inside Latin names kept
    assert events[5].issued_on == date(2026, 11, 16)


def test_rows_with_unreadable_certificate_numbers_are_skipped_and_counted() -> None:
    events, stats = scraper.parse_detail(sample(NOTICE_20), url(NOTICE_20))
    assert "国械注准2026312993" not in {e.cert_no for e in events}
    assert stats.skipped == 1
    assert "国械注准2026312993" in stats.notes[0]
    assert stats.complete is False  # one day's notice is never the whole register


def test_other_column_order_in_a_real_sample() -> None:
    events, _ = scraper.parse_detail(sample(NOTICE_18), url(NOTICE_18))
    by_cert = {e.cert_no: e for e in events}
    lung = by_cert["国械注准20213219904"]
    assert (lung.product_name, lung.registrant, lung.acceptance_no, lung.issued_on) == (
        "肺结节CT影像辅助检测软件", "样例影智医疗科技有限公司", "CSZ2600117", date(2026, 11, 14))
    assert by_cert["国械注进20262069925"].registrant == "示例光学株式会社 Example Optical Co., Ltd."


def _permute_columns(html: str, order: list[int]) -> str:
    soup = BeautifulSoup(html, "lxml")
    for row in soup.select("div.text tr"):
        cells = row.find_all("td", recursive=False)
        if len(cells) != len(order):
            continue  # the title row spans the whole table
        for cell in cells:
            cell.extract()
        for index in order:
            row.append(cells[index])
    return str(soup)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(6)))
def test_column_mapping_does_not_depend_on_column_order(order: list[int]) -> None:
    original, _ = scraper.parse_detail(sample(NOTICE_20), url(NOTICE_20))
    permuted, stats = scraper.parse_detail(_permute_columns(sample(NOTICE_20), order), url(NOTICE_20))

    def without_raw(events: list[ApprovalEvent]) -> list[tuple]:
        return [(e.cert_no, e.product_name, e.registrant, e.acceptance_no, e.issued_on) for e in events]

    assert without_raw(permuted) == without_raw(original)
    assert stats.skipped == 1


def test_correction_pages_are_told_apart() -> None:
    corrections = scraper.parse(sample(CORRECTION_19), url(CORRECTION_19))
    assert [(e.cert_no, e.is_correction, e.issued_on) for e in corrections] == [
        ("国械注准20213219904", True, date(2026, 11, 19))]
    assert "更正为" in corrections[0].raw_row  # the unmapped 纠错内容 column stays in the evidence
    assert not any(e.is_correction for e in scraper.parse(sample(NOTICE_18), url(NOTICE_18)))


def test_correction_told_by_column_name_when_the_title_does_not_say() -> None:
    page = sample(NOTICE_18).replace('content="医疗器械批件发布"', 'content="电子证照纠错送达信息"', 1)
    assert page != sample(NOTICE_18)
    assert all(e.is_correction for e in scraper.parse(page, url(NOTICE_18)))


def test_issue_date_falls_back_to_the_notice_date() -> None:
    page = """<html><head><meta name="PubDate" content="2026-11-21 09:00"></head><body>
    <div class="text"><table>
      <tr><td>序号</td><td>产品名称</td><td>注册人</td><td>注册证编号</td><td>签发日期</td></tr>
      <tr><td>1</td><td>示例软件</td><td>示例有限公司</td><td>国械注准20263219913</td><td>&nbsp;</td></tr>
    </table></div></body></html>"""
    [event] = scraper.parse(page, url("x.html"))
    assert (event.issued_on, event.notice_date, event.acceptance_no) == (date(2026, 11, 21), date(2026, 11, 21),
                                                                         None)


def test_table_split_by_word_at_a_page_break_keeps_its_column_mapping() -> None:
    page = """<html><head><meta name="PubDate" content="2026-11-21 09:00"></head><body><div class="text">
    <table><tr><td>注册证编号</td><td>序号</td><td>产品名称</td></tr>
      <tr><td>国械注准20263219913</td><td>1</td><td>示例软件甲</td></tr></table>
    <p>&nbsp;</p>
    <table><tr><td>国械注准20263219914</td><td>2</td><td>示例软件乙</td></tr>
      <tr><td>注册证编号</td><td>序号</td><td>产品名称</td></tr>
      <tr><td>国械注准20263219915</td><td>3</td><td>示例软件丙</td></tr>
      <tr><td colspan="3">（以下空白）</td></tr></table>
    </div></body></html>"""
    events, stats = scraper.parse_detail(page, url("x.html"))
    assert [(e.cert_no, e.product_name) for e in events] == [
        ("国械注准20263219913", "示例软件甲"), ("国械注准20263219914", "示例软件乙"), ("国械注准20263219915", "示例软件丙")]
    assert stats.skipped == 1 and "（以下空白）" in stats.notes[0]  # a row of the wrong width is counted, not guessed


def test_notice_date_from_div_date_when_meta_is_missing() -> None:
    page = re.sub(r'<meta name="PubDate"[^>]*>', "", sample(NOTICE_18))
    assert {e.notice_date for e in scraper.parse(page, url(NOTICE_18))} == {date(2026, 11, 18)}


def test_source_url_falls_back_to_base_url_without_meta_url() -> None:
    page = re.sub(r'<meta name="Url"[^>]*>', "", sample(NOTICE_18))
    assert {e.source_url for e in scraper.parse(page, "http://127.0.0.1:1/x.html")} == {"http://127.0.0.1:1/x.html"}


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=gb2312"])
def test_gb2312_page_with_gbk_only_characters(content_type: str) -> None:
    content = (FIXTURES / "gb2312_notice.html").read_bytes()
    events = scraper.parse(decode_text(content, content_type), url("x.html"))
    assert [(e.cert_no, e.registrant, e.issued_on) for e in events] == [
        ("国械注准20193219914", "上海喆镕示例医疗科技有限公司", date(2019, 6, 10)),
        ("国械注准20193059915", "堃示例（北京）医疗设备有限公司", date(2019, 6, 10)),
    ]


def test_notice_without_a_known_table_header_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged) as caught:
        scraper.parse((FIXTURES / "changed_layout.html").read_text(encoding="utf-8"), url("x.html"))
    assert caught.value.what == "approval table header"


@pytest.mark.parametrize("name", ["not_a_list_or_notice.html", "challenge_412.html"])
def test_pages_that_are_neither_list_nor_notice_are_a_layout_change(name: str) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    with pytest.raises(LayoutChanged, match="approval list"):
        scraper.parse(text, url(name))
    with pytest.raises(LayoutChanged, match="list"):
        cms.parse_list(text, url(name))


# ---------------------------------------------------------------- crawl


def test_first_crawl_walks_every_list_page_and_notice() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, CrawlContext(base_url=BASE)))
    assert fetcher.requested == [url("index.html"), url(NOTICE_20), url(CORRECTION_19), url("index_1.html"),
                                 url(NOTICE_18), url("index_2.html")]  # the 404 past the last page ends the list
    assert [p.key for p in pages] == [None, url(NOTICE_20), url(CORRECTION_19), None, url(NOTICE_18)]
    assert [p.stats.listed for p in pages if p.key is None] == [2, 1]
    assert [len(list(p.records)) for p in pages] == [0, 7, 1, 0, 7]
    assert pages[1].stats.skipped == 1
    assert {e.source_url for e in pages[4].records} == {url(NOTICE_18)}


def test_crawl_stops_paging_at_items_older_than_since_and_skips_known_notices() -> None:
    fetcher = SampleFetcher()
    ctx = CrawlContext(base_url=BASE, since=date(2026, 11, 19), known_keys=frozenset({url(NOTICE_20)}))
    pages = list(scraper.crawl(fetcher, ctx))
    assert fetcher.requested == [url("index.html"), url(CORRECTION_19), url("index_1.html")]
    assert [p.key for p in pages] == [None, url(CORRECTION_19), None]


def test_crawl_respects_max_pages() -> None:
    fetcher = SampleFetcher()
    list(scraper.crawl(fetcher, CrawlContext(base_url=BASE, max_pages=1)))
    assert url("index_1.html") not in fetcher.requested


def test_a_missing_first_list_page_is_an_error_not_an_empty_run() -> None:
    with pytest.raises(FetchError):
        list(scraper.crawl(SampleFetcher(), CrawlContext(base_url="https://www.nmpa.gov.cn/elsewhere")))


# ---------------------------------------------------------------- real HTTP against a local server

PREFIX = "/zwfw/sdxx/sdxxylqx/qxpjfb"


def _serve_samples(request: Request) -> WzResponse:
    path = SAMPLES / request.path.removeprefix(PREFIX + "/")
    if not path.is_file():
        return WzResponse("<html><body>404</body></html>", status=404, content_type="text/html")
    return WzResponse(path.read_bytes(), content_type="text/html")


def test_crawl_through_real_http(httpserver) -> None:
    httpserver.expect_request(re.compile("^" + re.escape(PREFIX) + "/")).respond_with_handler(_serve_samples)
    base = httpserver.url_for(PREFIX)
    with HttpFetcher(min_interval=0, now=lambda: NOW) as fetcher:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base)))
    assert [p.key for p in pages] == [None, f"{base}/{NOTICE_20}", f"{base}/{CORRECTION_19}", None,
                                      f"{base}/{NOTICE_18}"]
    certs = {e.cert_no for p in pages for e in p.records}
    # the certificates shared with samples/udi, so a run over the samples merges issue dates with DIs
    assert {"国械注准20213219904", "国械注准20213219907", "国械注进20233219909", "国械注准20233219908"} <= certs
    assert all(e.source_url.startswith(base) for p in pages for e in p.records)


def test_challenge_page_raises_blocked(httpserver) -> None:
    body = (FIXTURES / "challenge_412.html").read_bytes()
    httpserver.expect_request(PREFIX + "/index.html").respond_with_data(body, status=412, content_type="text/html")
    with HttpFetcher(min_interval=0, now=lambda: NOW) as fetcher:
        with pytest.raises(Blocked) as caught:
            list(scraper.crawl(fetcher, CrawlContext(base_url=httpserver.url_for(PREFIX))))
    assert "412" in caught.value.evidence and "$_ts" in caught.value.evidence


def test_samples_share_certificates_with_the_udi_samples() -> None:
    """`make run` shows a device's issue date next to its DIs only if both sample sets name the same certificates."""
    udi_devices = {}
    for path in sorted((ROOT / "samples" / "udi").rglob("*.zip")):
        udi_devices.update({r.cert_no: r for r in udi.parse_file(path, ParseStats())})
    events = [e for name in (NOTICE_18, NOTICE_20) for e in scraper.parse(sample(name), url(name))]
    shared = [e for e in events if e.cert_no in udi_devices]
    assert len(shared) >= 3
    for event in shared:
        device = udi_devices[event.cert_no]
        assert (event.product_name, event.registrant) == (device.product_name, device.registrant)
