"""CSV (UTF-8 with BOM), XLSX and JSON exports and Atom feeds of filtered lists; the export row cap."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from openpyxl import load_workbook
from webseed import XSS_NAME, XSS_POLICY

from tracker import i18n
from tracker.read import lists as queries


def test_csv_has_bom_header_and_the_filtered_rows(client):
    response = client.get("/export/devices.csv?ai=1&area=medical_imaging&sort=cert&headers=codes")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="devices-20261120.csv"'
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["cert_no"] for r in rows] == ["国械注准20193219904", "国械注准20203219901", "国械注准20213219902",
                                            "国械注准20243219906"]
    lung = rows[1]
    assert lung["product_name"] == "肺结节CT影像辅助检测软件" and lung["issued_on"] == "2026-11-12"
    assert "disease:lung_nodule" in lung["tags"].split("; ") and lung["is_ai"] == "true"
    assert rows[3]["is_sample"] == "true"
    assert response.headers["X-Total-Count"] == "4" and response.headers["X-Export-Truncated"] == "false"


def test_device_exports_say_why_ai_in_the_readers_language(client):
    def lung_row(lang: str) -> dict:
        text = client.get(f"/export/devices.csv?ai=1&lang={lang}&headers=codes").get_data().decode("utf-8-sig")
        return next(r for r in csv.DictReader(io.StringIO(text)) if r["product_name"] == "肺结节CT影像辅助检测软件")

    zh, en = lung_row("zh")["ai_evidence"], lung_row("en")["ai_evidence"]
    assert "产品名称中有“辅助检测、软件”" in zh.split("; ") and "says" not in zh
    assert "name says “辅助检测, 软件”" in en.split("; ")
    body = client.get("/export/devices.json?ai=1&lang=en").get_json()
    lung = next(i for i in body["items"] if i["product_name"] == "肺结节CT影像辅助检测软件")
    assert "name says “辅助检测, 软件”" in lung["ai_evidence"]
    not_ai = client.get("/export/devices.json?lang=en").get_json()["items"]
    assert all(i["ai_evidence"] == [] for i in not_ai if not i["is_ai"])


def test_csv_keeps_hostile_urls_as_plain_text(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/export/policies.csv?headers=codes").get_data().decode("utf-8-sig"))))
    xss = next(r for r in rows if r["title"] == XSS_POLICY)
    assert xss["url"] == "javascript:alert(1)"


def test_formula_like_text_is_quoted_in_csv():
    from web.serialize import neutralise_formula

    assert neutralise_formula("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert neutralise_formula("-1+2") == "'-1+2"
    assert neutralise_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise_formula("肺结节") == "肺结节"


def test_xlsx_opens_with_chinese_text(client):
    response = client.get("/export/devices.xlsx?disease=lung_nodule&headers=codes")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("id", "cert_no", "product_name")
    assert len(rows) == 2 and rows[1][2] == "肺结节CT影像辅助检测软件"


def test_json_export_says_what_was_filtered(client):
    body = client.get("/export/policies.json?type=guidance").get_json()
    assert body["filter"] == {"type": "guidance"}
    assert body["total"] == 1 and body["truncated"] is False
    item = body["items"][0]
    assert item["title"] == "人工智能医疗器械注册审查指导原则" and item["published_on"] == "2022-03-09"
    assert item["attachments"][0]["name"] == "指导原则全文.pdf"


def test_export_is_capped(client, monkeypatch):
    monkeypatch.setattr(queries, "MAX_EXPORT_ROWS", 2)
    response = client.get("/export/devices.json")
    body = response.get_json()
    assert len(body["items"]) == 2 and body["total"] == 7 and body["truncated"] is True
    assert response.headers["X-Export-Truncated"] == "true"


@pytest.mark.parametrize("kind", ["devices", "policies"])
def test_atom_feed_parses_in_a_standard_reader(client, kind):
    response = client.get(f"/feeds/{kind}.atom?ai=1")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title and feed.feed.id
    assert all(e.id.startswith("http://127.0.0.1:8000/") and e.link == e.id and e.updated for e in feed.entries)
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert parse_qs(urlsplit(self_link).query) == {"ai": ["1"]}


def test_device_feed_follows_the_filter_and_escapes_titles(client):
    feed = feedparser.parse(client.get("/feeds/devices.atom?disease=fracture").get_data())
    assert [e.title for e in feed.entries] == [XSS_NAME]  # a title in the feed is text, whatever it looks like
    assert "disease:fracture" in [t.term for t in feed.entries[0].tags]
    sample = feedparser.parse(client.get("/feeds/devices.atom?data=sample").get_data())
    assert sample.entries[0].summary.startswith("[样例数据]")


def test_events_feed_announces_certificate_events(client, web_env):
    """Events, not only new rows: the lung software's registration and its correction (with before and after),
    newest recorded first; `event=` and the device list's filters narrow it; a second request with the validators
    gets 304."""
    response = client.get("/feeds/events.atom")
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    titles = [e.title for e in feed.entries]
    assert "纠错 · 肺结节CT影像辅助检测软件" in titles and "首次注册 · 肺结节CT影像辅助检测软件" in titles
    [correction] = [e for e in feed.entries if e.title.startswith("纠错")]
    assert "注册人住所: 样例路1号 → 样例路11号" in correction.summary and "2026-11-19" in correction.summary
    assert correction.link.endswith(f"/devices/{web_env.ids.devices['lung']}#timeline")
    only = feedparser.parse(client.get("/feeds/events.atom?event=registration").get_data())
    assert [e.title for e in only.entries] == ["首次注册 · 肺结节CT影像辅助检测软件"]
    assert feedparser.parse(client.get("/feeds/events.atom?event=correction&disease=fracture").get_data()).entries == []
    again = client.get("/feeds/events.atom", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/feeds/events.atom?event=bogus").status_code == 400
    assert 'href="/feeds/events.atom?event=renewal"' in client.get("/devices?event=renewal").get_data(as_text=True)


def test_feed_links_are_on_the_list_pages(client):
    html = client.get("/devices?area=medical_imaging").get_data(as_text=True)
    assert 'href="/feeds/devices.atom?area=medical_imaging"' in html


@pytest.mark.parametrize("kind", ["devices", "policies"])
def test_the_ai_feed_holds_only_ai_records_and_its_title_says_so(client, kind):
    ai = feedparser.parse(client.get(f"/feeds/{kind}.atom?ai=1").get_data())
    everything = feedparser.parse(client.get(f"/feeds/{kind}.atom").get_data())
    assert ai.entries and all("ai:ai" in [t.term for t in e.get("tags", [])] for e in ai.entries)
    if kind == "devices":  # the seed has non-AI devices (its policies are all AI): the filter did something
        assert len(everything.entries) > len(ai.entries)
    title = "批准器械" if kind == "devices" else "政策文件"
    assert ai.feed.title == f"AI 医疗器械追踪 · {title} · AI"
    assert everything.feed.title == f"AI 医疗器械追踪 · {title} · 全部"


def test_every_feed_title_names_its_filters_in_the_readers_language(client):
    def title(url: str) -> str:
        return feedparser.parse(client.get(url).get_data()).feed.title

    assert title("/feeds/devices.atom?area=medical_imaging&q=眼底&class=3") == (
        "AI 医疗器械追踪 · 批准器械 · 搜索“眼底” · 医学影像 · 第3类")
    english = title("/feeds/devices.atom?ai=1&disease=lung_nodule&issued_from=2026-01-01&lang=en")
    assert english.endswith(" · Lung nodule · AI · approved from: 2026-01-01") and "医" not in english
    assert title("/feeds/policies.atom?stage=draft&lang=en").endswith("Policy documents · " + i18n.gettext("stage_draft", "en"))
    assert feedparser.parse(client.get("/feeds/policies.atom?lang=en").get_data()).feed.language == "en"
