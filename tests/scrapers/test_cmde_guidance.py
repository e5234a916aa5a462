"""cmde_guidance: the 指导原则 list and guidance pages parsed from samples, and the crawl over a fake and a real
(local) server; the list date, never the URL's timestamp, is the publication date."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from werkzeug import Request
from werkzeug import Response as WzResponse

from scrapers import cmde_guidance as scraper
from tests.scrapers import samplefetch
from tracker.fetch.base import Blocked, Response
from tracker.fetch.http import HttpFetcher
from tracker.records import CrawlContext, LayoutChanged

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "cmde_guidance"
FIXTURES = ROOT / "tests" / "fixtures" / "cmde_guidance"
BASE = scraper.DEFAULT_BASE_URL
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
LIST = "flfg/zdyz/index.html"
AI_DEVICE = "flfg/zdyz/zdyzwbk/20220310093215401.html"  # the URL's timestamp is a day after the list date
PNEUMONIA = "flfg/zdyz/zdyzwbk/20200305165812345.html"
DEEP_LEARNING = "flfg/zdyz/zdyzwbk/20190703151032567.html"


def sample(rel: str) -> str:
    return (SAMPLES / rel).read_text(encoding="utf-8")


def url(rel: str, base: str = BASE) -> str:
    return f"{base}/{rel}"


class SampleFetcher(samplefetch.SampleFetcher):
    """samples/cmde_guidance served at `base` (the real site by default)."""

    def __init__(self, base: str = BASE) -> None:
        super().__init__("cmde_guidance", base, NOW)


def test_list_takes_full_titles_and_bracketed_dates() -> None:
    records = scraper.parse(sample(LIST), url(LIST))
    assert [(r.title, r.url, r.published_on, r.doc_type, r.issuer) for r in records] == [
        ("人工智能医疗器械注册审查指导原则", url(AI_DEVICE), date(2022, 3, 9), "指导原则", "器审中心"),
        ("肺炎CT影像辅助分诊与评估软件审评要点（试行）", url(PNEUMONIA), date(2020, 3, 5), "审评要点", "器审中心"),
    ]


def test_guidance_page_never_takes_its_date_from_the_url() -> None:
    [guidance] = scraper.parse(sample(AI_DEVICE), url(AI_DEVICE))
    assert guidance.title == "人工智能医疗器械注册审查指导原则"
    assert guidance.published_on is None  # the page shows no date; 20220310… in its URL is not one
    assert [(a.name, a.file_type) for a in guidance.attachments] == [("人工智能医疗器械注册审查指导原则.docx", "docx")]
    assert guidance.attachments[0].url == url("directory/web/cmde/images/sample-ai-device-guidance-2022.docx")


def test_review_points_page() -> None:
    [points] = scraper.parse(sample(DEEP_LEARNING), url(DEEP_LEARNING))
    assert (points.doc_type, points.stage, points.published_on) == ("审评要点", "issued", date(2019, 7, 3))
    assert "深度学习" in points.body


@pytest.mark.parametrize("fixture", ["changed_layout.html", "article_without_body.html"])
def test_changed_layout_names_what_is_missing(fixture: str) -> None:
    with pytest.raises(LayoutChanged) as caught:
        scraper.parse((FIXTURES / fixture).read_text(encoding="utf-8"), url(LIST))
    assert caught.value.what == ".list ul li (list page) or div.text, #ivs_content or .TRS_Editor (article page)"


def test_crawl_uses_the_list_date_as_publication_date() -> None:
    fetcher = SampleFetcher()
    pages = list(scraper.crawl(fetcher, CrawlContext(base_url=BASE)))
    assert fetcher.requested == [url(LIST), url(AI_DEVICE), url(PNEUMONIA), url("flfg/zdyz/index_1.html"),
                                 url(DEEP_LEARNING), url("flfg/zdyz/index_2.html")]
    records = {r.url: r for p in pages for r in p.records}
    assert records[url(AI_DEVICE)].published_on == date(2022, 3, 9)
    assert records[url(AI_DEVICE)].body  # the full record, not the list entry
    assert [p.key for p in pages if p.key] == [url(AI_DEVICE), url(PNEUMONIA), url(DEEP_LEARNING)]


def test_list_date_wins_over_a_different_page_date() -> None:
    class OtherDate(SampleFetcher):
        def get(self, url: str, **kw) -> Response:
            response = super().get(url, **kw)
            if url.endswith(PNEUMONIA):
                changed = response.content.replace(b'content="2020-03-05 16:58"', b'content="2020-03-06 08:00"')
                response = Response(url=url, status=200, headers=response.headers, content=changed, fetched_at=NOW)
            return response

    pages = list(scraper.crawl(OtherDate(), CrawlContext(base_url=BASE, max_pages=1)))
    [pneumonia] = [r for p in pages for r in p.records if r.url == url(PNEUMONIA)]
    assert pneumonia.published_on == date(2020, 3, 5)


def test_crawl_stops_at_the_last_successful_run_and_skips_known_pages() -> None:
    fetcher = SampleFetcher()
    context = CrawlContext(base_url=BASE, since=date(2020, 1, 1), known_keys=frozenset({url(AI_DEVICE)}))
    pages = list(scraper.crawl(fetcher, context))
    assert fetcher.requested == [url(LIST), url(PNEUMONIA), url("flfg/zdyz/index_1.html")]
    assert [p.key for p in pages if p.key] == [url(PNEUMONIA)]


# ---------------------------------------------------------------- real HTTP against a local server


def _serve_samples(request: Request) -> WzResponse:
    path = SAMPLES / request.path.lstrip("/")
    if not path.is_file():
        return WzResponse("<html><body>404</body></html>", status=404, content_type="text/html")
    return WzResponse(path.read_bytes(), content_type="text/html; charset=utf-8")


def test_crawl_through_real_http_retries_a_server_error(httpserver) -> None:
    failed: list[str] = []

    def flaky(request: Request) -> WzResponse:
        if request.path.endswith(PNEUMONIA) and not failed:
            failed.append(request.path)
            return WzResponse("upstream error", status=502)
        return _serve_samples(request)

    httpserver.expect_request(re.compile("^/")).respond_with_handler(flaky)
    base = httpserver.url_for("/").rstrip("/")
    with HttpFetcher(min_interval=0, sleep=lambda s: None, now=lambda: NOW) as fetcher:
        pages = list(scraper.crawl(fetcher, CrawlContext(base_url=base)))
    assert failed
    records = {r.url: r for p in pages for r in p.records}
    assert set(records) == {url(AI_DEVICE, base), url(PNEUMONIA, base), url(DEEP_LEARNING, base)}
    assert records[url(AI_DEVICE, base)].published_on == date(2022, 3, 9)


def test_challenge_page_raises_blocked(httpserver) -> None:
    body = (FIXTURES / "challenge_412.html").read_bytes()
    httpserver.expect_request(f"/{LIST}").respond_with_data(body, status=412, content_type="text/html")
    with HttpFetcher(min_interval=0, sleep=lambda s: None, now=lambda: NOW) as fetcher:
        with pytest.raises(Blocked):
            list(scraper.crawl(fetcher, CrawlContext(base_url=httpserver.url_for("/").rstrip("/"))))
    assert len(httpserver.log) == 1
