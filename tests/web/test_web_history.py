"""History people can read: old → new with the changed words marked, attachments by name, tags by label, evidence
only when it has words; an as-of page says so in a banner, and before the record existed shows nothing of it."""
from __future__ import annotations

from bs4 import BeautifulSoup
from markupsafe import Markup


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_a_changed_description_marks_the_added_words(client, web_env):
    page = soup_of(client.get(f"/devices/{web_env.ids.devices['eye']}"))
    row = next(tr for tr in page.select("#history tbody tr") if "description" in tr.get_text())
    old, new = row.select("td.val")
    assert old.get_text() == "眼底照片分析" and not old.select("del")
    assert [i.get_text() for i in new.select("ins")] == ["基于深度学习的"]
    assert new.get_text() == "基于深度学习的眼底照片分析"


def test_attachments_and_tags_read_as_lists_of_names_and_labels(client, web_env):
    page = soup_of(client.get(f"/policies/{web_env.ids.policies['ai_guidance']}?lang=en"))
    rows = {tr.select_one("td .mono").get_text(): tr for tr in page.select("#history tbody tr")}
    attachments = rows["attachments"].select("td.val")[1]
    assert [li.get_text() for li in attachments.select("li")] == ["指导原则全文.pdf"]
    assert "{" not in attachments.get_text()  # no raw JSON
    tags = [li.get_text() for li in rows["tags"].select("td.val")[1].select("li ins")]
    assert "AI" in tags and all(":" not in t for t in tags)


def test_revision_cells_escape_and_mark():
    from web.history import _words_markup

    old, new = _words_markup("<b>旧</b> text", "<b>新</b> text")
    assert isinstance(new, Markup) and "<b>" not in new and "&lt;b&gt;" in new
    assert "<del>旧</del>" in old and "<ins>新</ins>" in new


def test_as_of_pages_carry_a_banner(client, web_env):
    page = soup_of(client.get(f"/devices/{web_env.ids.devices['eye']}?asof=2026-11-12&lang=en"))
    banner = page.select_one("#asof-banner")
    assert banner is not None and "2026-11-12" in banner.get_text() and "not the current one" in banner.get_text()
    assert soup_of(client.get(f"/devices/{web_env.ids.devices['eye']}")).select_one("#asof-banner") is None


def test_before_the_record_existed_nothing_of_it_is_shown(client, web_env):
    response = client.get(f"/devices/{web_env.ids.devices['eye']}?asof=2026-11-01")
    text = soup_of(response).get_text()
    assert "2026-11-01 时尚未收录此记录" in text
    for of_the_record in ("糖尿病视网膜病变", "国械注准20213219902", "样例智能科技有限公司", "眼底照片分析"):
        assert of_the_record not in response.get_data(as_text=True)
