"""The policies list (filters for area, type, issuer, stage, date; search) and the policy page (body, attachments,
linked devices and why), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from webseed import XSS_POLICY

AI_GUIDANCE = "人工智能医疗器械注册审查指导原则"
REVIEW_POINTS = "深度学习辅助决策医疗器械软件审评要点"
DRAFT = "肺结节CT图像辅助检测软件注册审查指导原则（征求意见稿）"
ALL = {AI_GUIDANCE, REVIEW_POINTS, DRAFT, XSS_POLICY}


def titles(response) -> list[str]:
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    return [a.get_text() for a in soup.select("a.policy-title")]


def test_list_shows_every_policy_newest_first(client):
    assert titles(client.get("/policies")) == [DRAFT, XSS_POLICY, AI_GUIDANCE, REVIEW_POINTS]


@pytest.mark.parametrize(("query", "expected"), [
    ("type=guidance", {AI_GUIDANCE}),
    ("type=review_points", {REVIEW_POINTS}),
    ("type=consultation", {DRAFT}),
    ("stage=draft", {DRAFT}),
    ("stage=issued", {AI_GUIDANCE, REVIEW_POINTS, XSS_POLICY}),
    ("issuer=nhc", {XSS_POLICY}),
    ("area=medical_imaging", {DRAFT}),
    ("area=medical_imaging.ct", {DRAFT}),
    ("date_from=2026-01-01", {DRAFT, XSS_POLICY}),
    ("date_from=2019-01-01&date_to=2022-12-31", {AI_GUIDANCE, REVIEW_POINTS}),
    ("ai=1&stage=issued&date_to=2025-01-01", {AI_GUIDANCE, REVIEW_POINTS}),
    ("data=sample", set()),
    ("data=live", ALL),
])
def test_each_filter(client, query, expected):
    assert set(titles(client.get(f"/policies?{query}"))) == expected


def test_unknown_filter_values_are_refused(client):
    assert client.get("/policies?type=bogus&stage=bogus").status_code == 400


@pytest.mark.parametrize(("query", "expected"), [
    ("器械", {AI_GUIDANCE, REVIEW_POINTS, XSS_POLICY}),
    ("审评", {REVIEW_POINTS}),
    ("2022年第8号", {AI_GUIDANCE}),  # document number
    ("卫健委", {XSS_POLICY}),  # issuer
    ("技术审评中心", {REVIEW_POINTS}),  # issuer as printed (canonical: 器审中心)
    ("国家药品监督管理局", {AI_GUIDANCE, REVIEW_POINTS}),  # printed issuers only: the canonical ones are short
    ("申报资料", {AI_GUIDANCE}),  # summary
    ("' OR 1=1 --", set()),
    ("%", set()),
])
def test_search(client, query, expected):
    assert set(titles(client.get("/policies", query_string={"q": query}))) == expected


def test_sort_by_title_and_oldest_first(client):
    assert titles(client.get("/policies?sort=date"))[0] == REVIEW_POINTS


def test_policy_page_shows_body_attachments_and_linked_devices(client, web_env):
    soup = BeautifulSoup(client.get(f"/policies/{web_env.ids.policies['ai_guidance']}").get_data(as_text=True), "lxml")
    assert soup.h1.get_text().startswith(AI_GUIDANCE)
    assert "第一章 适用范围" in soup.select_one("#body .bodytext").get_text()
    attachment = soup.select_one("#body a.outbound")
    assert attachment.get_text() == "指导原则全文.pdf" and attachment["href"] == "https://www.nmpa.gov.cn/a.pdf"
    assert attachment["rel"] == ["noopener", "noreferrer", "nofollow"]
    links = soup.select_one("#links").get_text(" ", strip=True)
    assert "肺结节CT影像辅助检测软件" in links and "policy_link.ai_general" in links
    assert "人工智能医疗器械注册审查指导原则" in links  # the stored reason names the policy
    assert soup.select_one("#history tbody tr") is not None
    assert "govcn_policy" in soup.select_one("#provenance").get_text()


def test_policy_page_and_api_show_issuer_and_number_as_printed(client, web_env):
    """The words on the page first; the canonical label beside them when it differs (filters use that one)."""
    soup = BeautifulSoup(client.get(f"/policies/{web_env.ids.policies['ai_guidance']}").get_data(as_text=True), "lxml")
    fields = soup.select_one("#fields").get_text(" ", strip=True)
    assert "国家药品监督管理局" in fields and "2022年第8号" in fields
    assert "国家药监局" in soup.select_one("#fields dl").get_text()  # the canonical label, marked as such
    listing = client.get("/policies?q=审评要点").get_data(as_text=True)
    assert "国家药品监督管理局医疗器械技术审评中心" in listing
    data = client.get(f"/api/v1/policies/{web_env.ids.policies['ai_guidance']}").get_json()
    assert (data["issuer"], data["issuer_printed"]) == ("国家药监局", "国家药品监督管理局")
    assert data["doc_no_printed"] == "2022年第8号"


def test_hostile_policy_title_and_javascript_url_are_inert(client, web_env):
    html = client.get(f"/policies/{web_env.ids.policies['xss']}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
    soup = BeautifulSoup(html, "lxml")
    assert not soup.select('a[href^="javascript"]')
    assert "javascript:alert(1)" in soup.select_one("#fields").get_text()  # shown as text, not as a link
    assert "<img src=x" not in client.get("/policies").get_data(as_text=True)


def test_policy_as_of_before_it_was_recorded(client, web_env):
    soup = BeautifulSoup(client.get(f"/policies/{web_env.ids.policies['draft']}?asof=2026-11-01")
                         .get_data(as_text=True), "lxml")
    assert "尚未收录" in soup.select_one("#asof-view").get_text()
    soup = BeautifulSoup(client.get(f"/policies/{web_env.ids.policies['draft']}?asof=2026-11-20")
                         .get_data(as_text=True), "lxml")
    assert soup.select_one("#asof-view dd[data-field=stage]").get_text() == "征求意见"


def test_unknown_policy_is_404(client):
    assert client.get("/policies/424242").status_code == 404
