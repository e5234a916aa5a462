"""The approvals list (every filter, search, sorting, paging, shareable URLs) and the device page, on SQLite and
PostgreSQL, through the Flask test client."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from webseed import XSS_NAME

from tracker.classify.rules import RULES_VERSION
from tracker.read.filters import DeviceFilter
from tracker.store.models import Device


def names(response) -> list[str]:
    """Product names listed on an approvals page, in order."""
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    return [a.get_text() for a in soup.select("td.name > a")]


ALL = {"肺结节CT影像辅助检测软件", "糖尿病视网膜病变眼底图像辅助诊断软件", "冠脉血流储备分数计算软件", XSS_NAME, "心电图机",
       "结构_化报告软件 100%版", "肠息肉内窥镜图像辅助检测软件"}


def test_list_shows_every_device(client):
    assert set(names(client.get("/devices"))) == ALL


@pytest.mark.parametrize(("query", "expected"), [
    ("area=medical_imaging", {"肺结节CT影像辅助检测软件", "糖尿病视网膜病变眼底图像辅助诊断软件", XSS_NAME,
                              "肠息肉内窥镜图像辅助检测软件"}),
    ("sub=medical_imaging.ct", {"肺结节CT影像辅助检测软件"}),
    ("area=medical_imaging&sub=medical_imaging.fundus", {"糖尿病视网膜病变眼底图像辅助诊断软件"}),
    ("function=assessment", {"冠脉血流储备分数计算软件"}),
    ("disease=lung_nodule", {"肺结节CT影像辅助检测软件"}),
    ("site=heart_coronary", {"冠脉血流储备分数计算软件", "心电图机"}),
    ("signal=ecg", {"心电图机"}),
    ("ai=1", ALL - {"心电图机", "结构_化报告软件 100%版"}),
    ("class=3", ALL),
    ("class=2", set()),
    ("origin=imported", {"冠脉血流储备分数计算软件"}),
    ("origin=hmt", {"心电图机"}),
    ("origin=domestic&ai=1", {"肺结节CT影像辅助检测软件", "糖尿病视网膜病变眼底图像辅助诊断软件", XSS_NAME,
                              "肠息肉内窥镜图像辅助检测软件"}),
    ("year=2021", {"糖尿病视网膜病变眼底图像辅助诊断软件"}),
    ("issued_from=2026-11-01&issued_to=2026-11-30", {"肺结节CT影像辅助检测软件"}),
    ("issued_to=2026-11-11", set()),
    ("registrant=示例医疗", {"肺结节CT影像辅助检测软件", XSS_NAME}),
    ("catalogue=21-04-02", {"肺结节CT影像辅助检测软件", XSS_NAME, "肠息肉内窥镜图像辅助检测软件"}),
    ("catalogue=07", {"心电图机"}),
    ("data=sample", {"肠息肉内窥镜图像辅助检测软件"}),
    ("data=live&disease=colorectal_polyp", set()),
    ("seen_from=2026-11-11", set()),
    ("seen_from=2026-11-10", ALL),
    # certificate events: the lung software's registration (11-12) and correction (11-19); the eye software's
    # description changed in a UDI update seen on 11-15, which is no change of its registration
    ("event=correction", {"肺结节CT影像辅助检测软件"}),
    ("event=registration&event_from=2026-11-12&event_to=2026-11-12", {"肺结节CT影像辅助检测软件"}),
    ("event=registration&event_from=2026-11-13", set()),
    ("event=change", set()),
    ("event=renewal", set()),
    ("event_from=2026-11-15&event_to=2026-11-30", {"肺结节CT影像辅助检测软件"}),
    # one certificate, typed with full-width digits and a blank as copied from a web page
    ("cert=国械注准%202020３２１９９０１", {"肺结节CT影像辅助检测软件"}),
    ("cert=国械注准20203219909", set()),
])
def test_each_filter(client, query, expected):
    assert set(names(client.get(f"/devices?{query}"))) == expected


def test_a_certificate_filter_shows_its_canonical_number_in_the_form(client):
    # A watch's batch link opens the list on one certificate: the form shows it, so it can be seen and cleared.
    soup = BeautifulSoup(client.get("/devices?cert=国械注准%202020３２１９９０１").get_data(as_text=True), "lxml")
    assert soup.select_one("input#f-cert")["value"] == "国械注准20203219901"
    assert BeautifulSoup(client.get("/devices").get_data(as_text=True), "lxml").select_one("input#f-cert") is None


def test_malformed_filter_values_are_refused_by_name(client):
    # a dropped filter would answer another question than the one asked: every bad value is a 400 naming it
    response = client.get("/devices?area=nonsense&class=9&year=abc&issued_from=2026-13-40&sort=drop&page=-3&lang=en"
                          "&cert=国械备20150001")
    assert response.status_code == 400
    refused = {li.code.get_text() for li in BeautifulSoup(response.get_data(as_text=True), "lxml")
               .select(".invalid-params li")}
    assert refused == {"area", "class", "year", "issued_from", "sort", "page", "cert"}
    assert client.get("/devices?area=&class=&q=&lang=en").status_code == 200  # an empty field is "any"


def test_a_page_past_the_end_names_the_last_page(client):
    response = client.get("/devices?per_page=3&page=4&lang=en")
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    assert response.status_code == 404 and "the last page is 3" in soup.get_text()
    assert not soup.select("tbody tr")  # never another page's rows
    assert parse_qs(urlsplit(soup.select_one(".error-page a")["href"]).query)["page"] == ["3"]
    assert client.get("/devices?per_page=201").status_code == 400  # the OpenAPI document says 200 at most


@pytest.mark.parametrize(("query", "expected"), [
    ("器械", set()),
    ("肺结", {"肺结节CT影像辅助检测软件"}),
    ("眼底", {"糖尿病视网膜病变眼底图像辅助诊断软件"}),
    ("示例医疗", {"肺结节CT影像辅助检测软件", XSS_NAME}),  # registrant
    ("20223219903", {"冠脉血流储备分数计算软件"}),  # certificate number
    ("深度学习", {"肺结节CT影像辅助检测软件", "糖尿病视网膜病变眼底图像辅助诊断软件", XSS_NAME}),  # description
    ("ct 肺结节", {"肺结节CT影像辅助检测软件"}),  # every term, case-insensitive
    ("ＣＴ", {"肺结节CT影像辅助检测软件"}),  # full-width letters are normalised
    ("' OR 1=1 --", set()),
    ("%", {"结构_化报告软件 100%版"}),
    ("_", {"结构_化报告软件 100%版"}),
    ("\\", set()),
    ("<script>", {XSS_NAME}),
])
def test_search_is_plain_text(client, query, expected):
    response = client.get("/devices", query_string={"q": query})
    assert set(names(response)) == expected


def test_two_character_chinese_term_found_in_policy_free_device_text(client):
    # 肺炎 appears nowhere; 检测 appears in three names: a two-character term is a substring search.
    assert names(client.get("/devices", query_string={"q": "肺炎"})) == []
    assert len(names(client.get("/devices", query_string={"q": "检测"}))) == 3


def test_overlong_query_is_refused_with_the_trackers_page(client):
    response = client.get("/devices", query_string={"q": "肺结节" + "x" * 5000})
    assert response.status_code == 400 and "请求无效" in response.get_data(as_text=True)
    response = client.get("/devices", query_string={"q": "肺结节" + "x" * 98})
    assert response.status_code == 400 and "<code>q</code>" in response.get_data(as_text=True)


@pytest.mark.parametrize(("sort", "first", "last"), [
    ("cert", "结构_化报告软件 100%版", "冠脉血流储备分数计算软件"),  # 准 < 许 < 进 in code-point order
    ("-year", "肠息肉内窥镜图像辅助检测软件", "结构_化报告软件 100%版"),
    ("-issued", "肺结节CT影像辅助检测软件", None),
])
def test_sorting(client, sort, first, last):
    listed = names(client.get(f"/devices?sort={sort}"))
    assert listed[0] == first
    if last:
        assert listed[-1] == last


def test_pagination_walks_every_row_once(client):
    seen = []
    url = "/devices?per_page=3&sort=cert"
    while url:
        response = client.get(url)
        seen += names(response)
        nxt = BeautifulSoup(response.get_data(as_text=True), "lxml").select_one("a[rel=next]")
        url = nxt["href"] if nxt else None
    assert len(seen) == len(ALL) and set(seen) == ALL
    assert "第 3 / 3 页" in client.get("/devices?per_page=3&page=3").get_data(as_text=True)


def test_page_size_is_capped(client):
    assert DeviceFilter.from_args({"per_page": "100000"}).per_page == 50
    assert DeviceFilter.from_args({"per_page": "200"}).per_page == 200


def test_filter_state_is_a_shareable_url(client):
    html = client.get("/devices?ai=1&area=medical_imaging&origin=domestic&sort=cert&per_page=2").get_data(as_text=True)
    soup = BeautifulSoup(html, "lxml")
    nxt = soup.select_one("a[rel=next]")["href"]
    assert parse_qs(urlsplit(nxt).query) == {"ai": ["1"], "area": ["medical_imaging"], "origin": ["domestic"],
                                             "sort": ["cert"], "per_page": ["2"], "page": ["2"]}
    assert soup.select_one("#f-area option[selected]")["value"] == "medical_imaging"
    assert soup.select_one(".filter-form input[name=ai]").has_attr("checked")
    csv_link = soup.find("a", string="CSV")["href"]
    assert parse_qs(urlsplit(csv_link).query)["area"] == ["medical_imaging"]


def test_sample_devices_carry_a_badge(client):
    soup = BeautifulSoup(client.get("/devices").get_data(as_text=True), "lxml")
    rows = {row.select_one("td.name > a").get_text(): row for row in soup.select("tbody tr")}
    assert rows["肠息肉内窥镜图像辅助检测软件"].select_one(".badge-sample").get_text() == "样例数据"
    assert rows["肺结节CT影像辅助检测软件"].select_one(".badge-sample") is None


def test_hostile_title_is_escaped_in_list_and_detail(client, web_env):
    with web_env.sessions() as session:
        company = session.get(Device, web_env.ids.devices["xss"]).company_id
    for url in ("/devices", f"/devices/{web_env.ids.devices['xss']}", f"/companies/{company}",
                "/devices?lang=en&q=script"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(" in html


def test_device_detail_shows_everything(client, web_env):
    html = client.get(f"/devices/{web_env.ids.devices['lung']}").get_data(as_text=True)
    soup = BeautifulSoup(html, "lxml")
    assert soup.h1.get_text().startswith("肺结节CT影像辅助检测软件")
    fields = {dt.get_text(): dd.get_text(" ", strip=True) for dt, dd in zip(soup.select("#fields dt"),
                                                                            soup.select("#fields dd"), strict=True)}
    assert fields["注册证编号"] == "国械注准20203219901"
    assert fields["产地"] == "境内" and fields["管理类别"] == "第3类" and fields["批准日期"] == "2026-11-12"
    assert [li.get_text() for li in soup.select("#identifiers li")] == ["06970000099011", "06970000099012"]
    assert "CSZ2600123" in soup.select_one("#events").get_text()
    assert "国家药监局批准肺结节CT影像辅助检测软件注册" in soup.select_one("#news").get_text()
    tags = soup.select_one("#tags").get_text(" ", strip=True)
    assert "disease:lung_nodule" in tags and "肺结节" in tags and "disease.lung_nodule" in tags
    assert "分类体系 2026.1" in tags
    assert "人工智能医疗器械注册审查指导原则" in soup.select_one("#links").get_text()
    provenance = soup.select_one("#provenance")
    assert "https://udi.nmpa.gov.cn/download.html" in provenance.get_text()
    assert "https://www.nmpa.gov.cn/zwfw/sdxx/x/1.html" in provenance.get_text()
    assert provenance.find("a", string="存档原文")["href"] == f"/documents/{web_env.ids.documents['udi']}"
    times = [td.get_text() for td in soup.select("#history tbody td:first-child")]
    assert times == sorted(times, reverse=True) and times[0] == "2026-11-15 10:00"


@pytest.mark.parametrize(("lang", "registration", "correction"), [("zh", "首次注册", "纠错"),
                                                                   ("en", "First registration", "Correction")])
def test_device_timeline_keeps_the_approval_date_and_shows_the_correction(client, web_env, lang, registration,
                                                                          correction):
    """A correction notice after the registration: the approval date stays the registration's, and the timeline
    shows both events in order, the correction with its before and after values."""
    soup = BeautifulSoup(client.get(f"/devices/{web_env.ids.devices['lung']}?lang={lang}").get_data(as_text=True),
                         "lxml")
    assert "2026-11-12" in soup.select_one("#fields").get_text() and "2026-11-19" not in \
        soup.select_one("#fields").get_text()
    events = [li.get_text(" ", strip=True) for li in soup.select("#timeline li.event")]
    assert len(events) == 2
    assert events[0].startswith(f"2026-11-12 {registration}")
    assert events[1].startswith(f"2026-11-19 {correction}") and "注册人住所 : 样例路1号 → 样例路11号" in events[1]
    api = client.get(f"/api/v1/devices/{web_env.ids.devices['lung']}").get_json()
    assert [(e["kind"], e["date"]) for e in api["timeline"]] == [("registration", "2026-11-12"),
                                                                 ("correction", "2026-11-19")]
    assert api["issued_on"] == "2026-11-12"


def test_evidence_names_words_field_rule_and_version(client, web_env):
    soup = BeautifulSoup(client.get(f"/devices/{web_env.ids.devices['lung']}").get_data(as_text=True), "lxml")
    row = next(tr for tr in soup.select("#tags tbody tr") if "disease:lung_nodule" in tr.get_text())
    evidence = row.select_one("td.evidence")
    assert [m.get_text() for m in evidence.find_all("mark")][:1] == ["肺结节"]
    assert "产品名称" in evidence.get_text() and "disease.lung_nodule" in evidence.get_text()
    assert f"版本 {RULES_VERSION}" in evidence.get_text()
    assert "产品名称中有“肺结节”" in evidence.get_text()


def test_as_of_date_shows_the_record_as_it_stood(client, web_env):
    eye = web_env.ids.devices["eye"]
    soup = BeautifulSoup(client.get(f"/devices/{eye}?asof=2026-11-12").get_data(as_text=True), "lxml")
    assert soup.select_one("#asof-view dd[data-field=description]").get_text() == "眼底照片分析"
    assert soup.select_one("#asof-view dd[data-field=origin]").get_text() == "境内"  # codes shown in words
    soup = BeautifulSoup(client.get(f"/devices/{eye}?asof=2026-11-16").get_data(as_text=True), "lxml")
    assert soup.select_one("#asof-view dd[data-field=description]").get_text() == "基于深度学习的眼底照片分析"
    soup = BeautifulSoup(client.get(f"/devices/{eye}?asof=2026-11-01").get_data(as_text=True), "lxml")
    assert "尚未收录" in soup.select_one("h1").get_text() and soup.select_one("#fields") is None  # nothing of it
    plain = BeautifulSoup(client.get(f"/devices/{eye}").get_data(as_text=True), "lxml")
    assert plain.select_one("#asof-view") is None


def test_as_of_uses_the_local_day_end(client, web_env):
    # The approval notice was stored at 2026-11-15 02:00 UTC = 10:00 Beijing time: part of the 15th, not the 14th.
    lung = web_env.ids.devices["lung"]
    on_14 = BeautifulSoup(client.get(f"/devices/{lung}?asof=2026-11-14").get_data(as_text=True), "lxml")
    on_15 = BeautifulSoup(client.get(f"/devices/{lung}?asof=2026-11-15").get_data(as_text=True), "lxml")
    assert on_14.select_one("#asof-view dd[data-field=issued_on]") is None
    assert on_15.select_one("#asof-view dd[data-field=issued_on]").get_text() == "2026-11-12"


def test_unknown_device_is_404(client):
    assert client.get("/devices/999999").status_code == 404
    assert client.get("/devices/abc").status_code == 404


def test_company_pages(client, web_env):
    html = client.get("/companies").get_data(as_text=True)
    assert "示例医疗科技有限公司" in html and "样例智能科技有限公司" in html
    soup = BeautifulSoup(client.get("/companies?q=Example").get_data(as_text=True), "lxml")
    assert [a.get_text() for a in soup.select("table.companies td > a")] == ["Example Imaging GmbH"]
    lung_company = BeautifulSoup(client.get(f"/devices/{web_env.ids.devices['lung']}").get_data(as_text=True),
                                 "lxml").select_one(".detail-head .sub a")["href"]
    detail = BeautifulSoup(client.get(lung_company).get_data(as_text=True), "lxml")
    years = [th.get_text() for th in detail.select("table.years th")]
    assert years == [str(y) for y in range(2019, 2021)]
    company_id = lung_company.rsplit("/", 1)[1]
    assert set(names(client.get(f"/devices?company={company_id}"))) == {"肺结节CT影像辅助检测软件", XSS_NAME}


@pytest.mark.parametrize("lang, says, never", [
    ("zh", ("器械标签", "符合《", "文章提及注册证", "产品名称中有“"), ("match the scope", "named in the article", " says ")),
    ("en", ("device tags", "match the scope of 《", "named in the article", "name says “"), ("器械标签", "文章提及")),
])
def test_reasons_and_evidence_read_in_the_pages_language(client, web_env, lang, says, never):
    """Link reasons, news reasons and tag evidence are stored as codes: the page renders them in its language."""
    soup = BeautifulSoup(client.get(f"/devices/{web_env.ids.devices['lung']}?lang={lang}").get_data(as_text=True),
                         "lxml")
    text = " ".join(soup.select_one(f"#{s}").get_text(" ", strip=True) for s in ("links", "news", "tags"))
    for phrase in says:
        assert phrase in text, phrase
    for phrase in never:
        assert phrase not in text, phrase
    policy_id = next(p for p in web_env.ids.policies.values())
    page = client.get(f"/policies/{policy_id}?lang={lang}").get_data(as_text=True)
    assert never[0] not in page
