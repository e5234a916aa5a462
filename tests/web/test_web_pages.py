"""Dashboard, taxonomy, sources and companies pages; language switch; security headers; no inline script or style
anywhere; the archived raw copy; error pages. SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from webseed import RAW_HTML

PAGES = ("/", "/devices", "/devices/1", "/devices/1?asof=2026-11-12", "/policies", "/policies/1", "/taxonomy",
         "/companies", "/companies/1", "/sources", "/devices?lang=en", "/nope")


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "lxml")


@pytest.mark.parametrize("url", PAGES)
def test_no_inline_script_style_or_handler_and_a_strict_csp(client, url):
    response = client.get(url)
    assert response.status_code in (200, 404)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    soup = soup_of(response)
    assert all(script.get("src") for script in soup.find_all("script")), "inline <script>"
    assert not soup.find_all("style") and not soup.select("[style]"), "inline style"
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], f"event handler on <{tag.name}>"
    for link in soup.select("link[href], script[src], img[src]"):
        target = link.get("href") or link.get("src")
        assert target.startswith("/"), f"outside request: {target}"


def test_static_files_are_served_by_the_app(client):
    html = client.get("/").get_data(as_text=True)
    for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        assert client.get(path).status_code == 200


def test_dashboard_numbers_chart_and_crowding(client):
    soup = soup_of(client.get("/"))
    numbers = [int(a.select_one(".kpi-num").get_text()) for a in soup.select("a.kpi")]
    # AI devices recorded in the last 7 days (none: all were recorded 10 days before "now"), last 30 days (5, the
    # sample one included); policies published in the last 7 / 30 days; AI devices in total; policies in total.
    assert numbers == [0, 5, 1, 1, 5, 4]
    chart = soup.select_one("#chart svg")
    assert chart is not None and chart.find("rect", attrs={"fill": True}) is not None
    assert {t.get_text() for t in chart.select("text.axis")} >= {"2019", "2020", "2021", "2024"}
    assert "医学影像" in soup.select_one("#chart .legend").get_text()
    areas = {row.th.get_text(strip=True): int(row.select_one("td.num").get_text()) for row in soup.select("#areas tr")}
    assert areas["医学影像"] == 4 and areas["公共卫生"] == 0
    diseases = soup.select_one("#diseases")
    fracture = next(tr for tr in diseases.select("tr") if "骨折" in tr.th.get_text())
    assert "热门" in fracture.th.get_text() and fracture.select_one("td.num").get_text() == "1"
    polyp = next(tr for tr in diseases.select("tr") if "肠息肉" in tr.th.get_text())
    assert "冷门" in polyp.th.get_text()
    health = soup.select_one("#sources").get_text(" ", strip=True)
    assert "UDI 数据库批量下载" in health and "被拦截" in health


def test_dashboard_links_open_the_lists_they_count(client):
    soup = soup_of(client.get("/"))
    month = soup.select("a.kpi")[1]["href"]
    listed = soup_of(client.get(month)).select("td.name > a")
    assert len(listed) == 5
    imaging = soup.select_one("#areas a")["href"]
    assert len(soup_of(client.get(imaging)).select("td.name > a")) == 4


def test_language_switch_and_cookie(client):
    zh = soup_of(client.get("/devices"))
    assert zh.html["lang"] == "zh-CN" and zh.h1.get_text() == "批准器械"
    switch = zh.select_one("a.langswitch")["href"]
    response = client.get(switch)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert soup_of(response).h1.get_text() == "Approved devices"
    again = soup_of(client.get("/taxonomy"))  # the cookie keeps English
    assert again.h1.get_text().startswith("Taxonomy") and "Medical imaging" in again.get_text()
    assert soup_of(client.get("/taxonomy?lang=zh")).h1.get_text().startswith("分类体系")


def test_taxonomy_page_counts_link_and_cite_reports(client):
    soup = soup_of(client.get("/taxonomy"))
    ct = soup.select_one("#node-medical_imaging\\.ct")
    device_link, policy_link = [a["href"] for a in ct.select("td.num a")]
    assert [a.get_text() for a in ct.select("td.num a")] == ["1", "1"]
    assert len(soup_of(client.get(device_link)).select("td.name > a")) == 1
    assert len(soup_of(client.get(policy_link)).select("a.policy-title")) == 1
    imaging = soup.select_one("#node-medical_imaging")
    assert imaging.select("td.num a")[0].get_text() == "4"  # the subtree, each device once
    assert "甲子光年 2024" in ct.select_one("td.reports").get_text()
    guidance = soup.select_one("#node-guidance")
    assert guidance.select("td.num a")[0].get_text() == "1"
    assert len(soup_of(client.get(guidance.select("td.num a")[0]["href"])).select("a.policy-title")) == 1
    lung = soup.select_one("#node-lung_nodule")
    assert lung.select_one("td.num a")["href"] == "/devices?disease=lung_nodule"


def test_sources_page_shows_runs_outcomes_ages_and_errors(client):
    soup = soup_of(client.get("/sources"))
    govcn = soup.select_one("#source-govcn_policy")
    text = govcn.get_text(" ", strip=True)
    assert "LayoutChanged: searchVO not found" in text and "失败" in text and "成功" in text
    assert "5天前" in govcn.select_one(".source-facts").get_text()
    # One failed run after a good one five days ago (within govcn_policy's 7 days): worth a look, not an alarm.
    assert "level-warn" in govcn["class"] and "最近一次运行未成功" in text
    notices = soup.select_one("#source-nmpa_notices")
    assert "被拦截" in notices.get_text()
    assert "level-warn" in notices["class"]  # one blocked run, two hours ago: not yet three in a row, not stale
    # Last good run ten days ago, five days ago: past the 3 and 2 days of udi and nmpa_approvals.
    udi = soup.select_one("#source-udi")
    assert "level-bad" in udi["class"] and "已 10 天没有成功的运行（上限 3 天）" in udi.get_text()
    assert "10天前" in udi.select_one(".source-facts").get_text()  # the age the rule counts, not a day less
    assert "level-bad" in soup.select_one("#source-nmpa_approvals")["class"]
    news = soup.select_one("#source-nmpa_news")
    assert "尚未运行" in news.get_text() and "level-warn" in news["class"]
    assert "无内容" in soup.select_one("#source-cmde_guidance").get_text()
    english = soup_of(client.get("/sources?lang=en")).select_one("#source-udi").get_text()
    assert "no good run for 10 days (limit 3 days)" in english


def test_archived_raw_copy_is_inert_text(client, web_env):
    response = client.get(f"/documents/{web_env.ids.documents['udi']}/raw")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    body = response.get_data(as_text=True)
    assert RAW_HTML.decode("utf-8") in body
    assert "verified" in body and response.headers["X-Archive-Sha256-Verified"] == "true"


def test_raw_copy_only_for_archived_documents(client, web_env):
    assert client.get(f"/documents/{web_env.ids.documents['notice']}/raw").status_code == 404
    assert client.get("/documents/99999/raw").status_code == 404
    assert client.get("/documents/..%2F..%2Fetc%2Fpasswd/raw").status_code == 404


def test_error_page_is_in_the_site_look(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "未找到" in soup_of(response).h1.get_text()
    assert "Not found" in soup_of(client.get("/no/such/page?lang=en")).h1.get_text()
    problem = client.get("/api/v1/nothing")
    assert problem.mimetype == "application/problem+json"
    assert {k: problem.get_json()[k] for k in ("type", "title", "status")} == {
        "type": "about:blank", "title": "Not Found", "status": 404}


def test_the_dashboard_chart_has_a_phone_drawing_with_fewer_labels(client):
    soup = soup_of(client.get("/"))
    wide, phone = soup.select_one("#chart svg.chart-wide"), soup.select_one("#chart svg.chart-phone")
    assert wide["viewbox"].split()[2] == "1160" and phone["viewbox"].split()[2] == "360"
    years = [t.get_text() for t in phone.select("text.axis") if len(t.get_text()) == 4]
    assert 0 < len(years) <= 5 and len(years) <= len([t for t in wide.select("text.axis") if len(t.get_text()) == 4])
    assert len(phone.select("rect.seg")) == len(wide.select("rect.seg"))  # the same data, drawn smaller


def test_archived_page_shows_as_it_looked_in_a_double_sandbox(client, web_env):
    doc = web_env.ids.documents["udi"]
    page = soup_of(client.get(f"/documents/{doc}"))
    frame = page.select_one("iframe.archived-frame")
    assert frame.has_attr("sandbox") and not frame["sandbox"] and frame["src"] == f"/documents/{doc}/raw?as=html"
    framed = client.get(frame["src"])
    assert framed.mimetype == "text/html" and RAW_HTML.decode("utf-8") in framed.get_data(as_text=True)
    csp = framed.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp and framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    source = soup_of(client.get(f"/documents/{doc}?view=source"))
    assert source.select_one("iframe") is None
    assert "<script>alert('raw')</script>" in source.select_one("pre.archived-source").get_text()
    assert client.get(f"/documents/{web_env.ids.documents['notice']}").status_code == 404  # nothing archived


def test_the_framed_copy_is_only_for_html(client, web_env):
    response = client.get(f"/documents/{web_env.ids.documents['udi']}/raw?as=html&lang=en")
    assert response.mimetype == "text/html"
    plain = client.get(f"/documents/{web_env.ids.documents['udi']}/raw")
    assert plain.mimetype == "text/plain" and plain.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
