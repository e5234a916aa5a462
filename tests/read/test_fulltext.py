"""Full-text search answers: the newest-passages shortcut gives exactly the index's answer; snippets mark every
occurrence and keep the text as text."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.read import fulltext
from tracker.read.filters import PolicyFilter
from tracker.store.models import AttachmentFile, Passage, Policy, PolicyAttachment

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
WORDS = ["数据漂移", "监测", "算法", "训练集", "AI", "ai模型", "100%", "a_b"]


@pytest.fixture
def corpus(sessions):
    """Twelve policies (every third a draft), each with a body and a two-page attachment, words spread over them."""
    with sessions.begin() as s:
        for i in range(1, 13):
            s.add(Policy(id=i, key=f"k{i}", title=f"政策{i}", title_key=f"政策{i}", url=f"https://x.example/{i}",
                         stage="draft" if i % 3 == 0 else "issued", attachments=[], status="active", is_ai=True,
                         is_sample=False, field_sources={}, first_seen=T0, updated_at=T0))
            s.add(AttachmentFile(id=i, url=f"https://x.example/{i}.pdf", source="t", name=f"附件{i}.pdf", state="ok",
                                 pages=2, chars=0, is_sample=False, extracted_at=T0))
            s.flush()
            s.add(PolicyAttachment(policy_id=i, attachment_id=i, position=0, name=f"附件{i}.pdf"))
            s.add(Passage(policy_id=i, page_no=0, text=f"正文{i}：{WORDS[i % len(WORDS)]}，其他内容。"))
            for page in (1, 2):
                s.add(Passage(attachment_id=i, page_no=page,
                              text=f"第{page}页 {WORDS[(i + page) % len(WORDS)]} 与 {WORDS[(i * page) % len(WORDS)]}。"))


@pytest.mark.parametrize("query", ["数据", "监测", "算法 训练集", "ai", "AI模型", "100%", "a_b", "不存在的词"])
@pytest.mark.parametrize("stage", [None, "draft"])
@pytest.mark.parametrize("page", [1, 2])
def test_the_newest_passages_shortcut_gives_the_index_answer(sessions, corpus, monkeypatch, query, stage, page):
    f = PolicyFilter(q=query, stage=stage, per_page=3, page=page)
    answers = []
    for window in (0, 4, 10_000):  # never, sometimes, always answered by the shortcut
        monkeypatch.setattr(fulltext, "SCAN_WINDOW", window)
        with sessions() as s:
            found = fulltext.search(s, f)
        answers.append(([(h.passage_id, h.policy_id, h.attachment_id) for h in found.hits], found.more))
    assert answers[0] == answers[1] == answers[2]
    hits, _more = answers[0]
    with sessions() as s:  # and each hit holds every term (ASCII case folded), and belongs to a matching policy
        for passage_id, policy_id, _attachment_id in hits:
            text = s.get(Passage, passage_id).text.lower()
            assert all(term.lower() in text for term in query.split())
            assert stage is None or s.get(Policy, policy_id).stage == stage


def test_snippet_marks_every_occurrence_ignoring_ascii_case():
    parts = fulltext.snippet("AI 模型与 ai 模型，Ai！", ["ai"])
    assert [t for t, marked in parts if marked] == ["AI", "ai", "Ai"]
    assert "".join(t for t, _ in parts) == "AI 模型与 ai 模型，Ai！"


def test_snippet_cuts_around_the_first_match():
    text = "甲" * 300 + "数据漂移监测" + "乙" * 300
    parts = fulltext.snippet(text, ["数据漂移监测"])
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert ("数据漂移监测", True) in parts
    assert sum(len(t) for t, _ in parts) < 200


@given(st.text(max_size=200), st.lists(st.text(min_size=1, max_size=5), max_size=3))
def test_snippet_is_a_piece_of_the_text(text, terms):
    joined = "".join(t for t, _ in fulltext.snippet(text, terms)).strip("…")
    assert joined.replace(" ", "") in text.replace("\n", " ").replace(" ", "")
