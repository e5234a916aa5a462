"""HTTP caching and transport headers: ETag / Last-Modified and 304 on the feeds and exports (a new filter or new
data is a new ETag), HSTS only when the public base URL is https, and the Atom autodiscovery link of the lists."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from tracker.ingest.write import write_records
from tracker.records import DeviceRecord
from tracker.store.write import WriteContext
from web import create_app

URLS = ["/feeds/devices.atom", "/feeds/policies.atom?q=指导原则", "/export/devices.csv?ai=1",
        "/export/devices.json", "/export/policies.xlsx"]


def _device(sessions, clock, cert_no: str, name: str, minutes: int = 0) -> None:
    with sessions.begin() as session:
        write_records(session, [DeviceRecord(cert_no=cert_no, product_name=name, registrant="某公司")],
                      WriteContext(source="udi", now=clock() + timedelta(minutes=minutes)))


@pytest.fixture
def fresh(settings, sessions, clock):
    """An app of its own over a database this module may write to, with one device."""
    _device(sessions, clock, "国械注准20263210001", "肺结节CT影像辅助检测软件")
    return create_app(settings).test_client()


@pytest.mark.parametrize("url", URLS)
def test_a_conditional_request_that_still_matches_is_304(fresh, url):
    first = fresh.get(url)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers.get("Last-Modified")
    assert etag.startswith('W/"')
    again = fresh.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert fresh.get(url, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200
    if "devices" in url:  # policies are empty here: no change time to offer
        assert modified
        assert fresh.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        assert fresh.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_another_filter_or_format_or_language_is_another_etag(fresh):
    tags = {fresh.get(url).headers["ETag"] for url in (
        "/feeds/devices.atom", "/feeds/devices.atom?ai=1", "/feeds/devices.atom?lang=en", "/export/devices.csv",
        "/export/devices.json", "/feeds/policies.atom")}
    assert len(tags) == 6
    # One filter spelled two ways is one answer.
    assert (fresh.get("/export/devices.csv?ai=1&q=").headers["ETag"]
            == fresh.get("/export/devices.csv?q=&ai=1").headers["ETag"])


def test_new_data_is_a_new_etag_and_a_full_answer(fresh, sessions, clock):
    before = fresh.get("/feeds/devices.atom")
    _device(sessions, clock, "国械注准20263210002", "眼底图像辅助诊断软件", minutes=5)
    after = fresh.get("/feeds/devices.atom", headers={"If-None-Match": before.headers["ETag"],
                                                      "If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert "眼底图像辅助诊断软件" in after.get_data(as_text=True)
    assert after.headers["Last-Modified"] != before.headers["Last-Modified"]


def test_hsts_only_when_the_public_base_url_is_https(settings):
    plain = create_app(settings).test_client().get("/devices")
    assert "Strict-Transport-Security" not in plain.headers
    secure = create_app(settings.replace(public_base_url="https://tracker.example.org")).test_client()
    for url in ("/devices", "/feeds/devices.atom", "/no-such-page"):
        assert secure.get(url).headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("page, feed", [("/devices", "/feeds/devices.atom"),
                                        ("/policies", "/feeds/policies.atom")])
def test_every_list_page_links_its_own_feed_with_its_filters(fresh, page, feed):
    plain = BeautifulSoup(fresh.get(page).get_data(as_text=True), "lxml")
    link = plain.select_one('head link[rel="alternate"][type="application/atom+xml"]')
    assert link["href"] == feed and link.get("title")
    filtered = BeautifulSoup(fresh.get(f"{page}?q=软件&sort=-seen&page=1").get_data(as_text=True), "lxml")
    href = filtered.select_one('head link[rel="alternate"][type="application/atom+xml"]')["href"]
    parts = urlsplit(href)
    assert parts.path == feed and parse_qs(parts.query) == {"q": ["软件"]}
    assert fresh.get(href).status_code == 200
