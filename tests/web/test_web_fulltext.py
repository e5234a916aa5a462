"""The full-text pages on the ingested samples: a term only inside the final guideline's PDF is found with a
snippet and its attachment; hostile queries stay text; the draft ↔ final comparison shows its summary first; an
attachment's text keeps its clauses."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from scrapers import nmpa_notices
from tracker.ingest.run import ingest_path
from tracker.store.models import AttachmentFile, Policy

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "nmpa_notices"


@pytest.fixture
def app(settings, clock):
    """The app on this test's own database (not the module's shared seeded one): the samples are ingested into it."""
    from web import create_app

    application = create_app(settings, clock=clock)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def ingested(settings, sessions, clock):
    result = ingest_path(settings, sessions, nmpa_notices, SAMPLES, now=clock)
    assert result.outcome == "ok", result.error
    with sessions() as session:
        final = session.execute(select(Policy).where(Policy.title.contains("2022年第8号"))).scalar_one()
        draft = session.execute(select(Policy).where(Policy.stage == "draft")).scalar_one()
        pdf = session.execute(select(AttachmentFile).where(AttachmentFile.detected_type == "pdf")).scalar_one()
        return {"final": final.id, "draft": draft.id, "pdf": pdf.id}


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_a_term_only_in_the_final_pdf_is_found_with_its_snippet(client, ingested):
    page = _text(client.get("/search?q=数据漂移监测"))
    assert "<mark>数据漂移监测</mark>" in page
    assert f'/attachments/{ingested["pdf"]}"' in page and "人工智能医疗器械注册审查指导原则.pdf" in page
    assert f'/policies/{ingested["final"]}"' in page
    # Only the final holds it: the draft's DOCX is not a hit.
    assert page.count('class="card hit"') == 1


def test_policy_bodies_are_searched_and_filters_combine(client, ingested):
    page = _text(client.get("/search?q=样例摘要"))
    assert page.count('class="card hit"') >= 5
    drafts = _text(client.get("/search?q=样例摘要&stage=draft"))
    assert drafts.count('class="card hit"') == 1 and f'/policies/{ingested["draft"]}"' in drafts
    # The final's PDF matches the term but not a draft filter.
    assert 'class="card hit"' not in _text(client.get("/search?q=数据漂移监测&stage=draft"))


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", "%%", "__", "\\'; DROP TABLE passage; --",
                                   '"数据"', "数据 OR 1=1"])
def test_hostile_queries_are_text(client, ingested, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    page = _text(response)
    assert "<script>alert" not in page
    assert str(escape(query)) in page  # shown back in the search box, escaped
    assert 'class="card hit"' not in page  # no text holds these as substrings


def test_one_character_is_too_short_and_bad_filters_are_refused(client, ingested):
    assert "fulltext_too_short" not in _text(client.get("/search?q=数"))  # the key has a text
    assert 'class="card hit"' not in _text(client.get("/search?q=数"))
    assert client.get("/search?q=数据&date_from=yesterday").status_code == 400
    assert client.get("/search?q=数据漂移监测&page=9").status_code == 404


def test_comparison_lists_the_changes_first(client, ingested):
    for policy_id in (ingested["final"], ingested["draft"]):
        response = client.get(f"/policies/{policy_id}/compare?lang=en")
        assert response.status_code == 200
        page = _text(response)
        summary = page[page.index('id="summary"'):page.index('id="side-by-side"')]
        items = re.findall(r'<li class="change-(\w+)"><b lang="zh">([^<]*)</b>', summary)
        assert items[:4] == [("moved", "第四条"), ("added", "第十条"), ("removed", "第十二条"), ("changed", "第二条")]
        assert "was 第七条" in summary
        assert "<ins>" in page and "<del>" in page
    assert client.get(f"/policies/{ingested['final'] + 1000}/compare").status_code == 404


def test_policy_page_links_draft_final_and_attachment_text(client, ingested):
    page = _text(client.get(f"/policies/{ingested['final']}?lang=en"))
    assert f'/policies/{ingested["final"]}/compare"' in page and f'/policies/{ingested["draft"]}"' in page
    assert f'/attachments/{ingested["pdf"]}"' in page
    text = _text(client.get(f"/attachments/{ingested['pdf']}"))
    assert "<b>第十条</b>" in text and "数据漂移监测" in text and "/documents/" in text
    assert client.get("/attachments/999999").status_code == 404
