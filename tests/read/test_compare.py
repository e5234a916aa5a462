"""Draft ↔ final comparison on texts made here: clauses lined up by content, moves found by order, changed words
marked, the summary first; and the message lines in both languages."""
from __future__ import annotations

from tracker.read.compare import Change, change_lines, compare_texts, word_diff

DRAFT = "\n".join([
    "第一章 总则",
    "第一条 为规范注册申报，制定本原则。",
    "第二条 本原则适用于深度学习软件。",
    "第三条 风险管理应当覆盖全生命周期。",
    "第四条 说明书应当明确预期用途。",
    "第五条 网络安全应当符合要求。",
])
FINAL = "\n".join([
    "第一章 总则",
    "第一条 为规范注册申报，制定本原则。",
    "第二条 网络安全应当符合要求。",
    "第三条 本原则适用于人工智能医疗器械软件。",
    "第四条 风险管理应当覆盖全生命周期。",
    "第五条 上市后应当开展数据漂移监测。",
])


def test_clauses_align_by_content_not_number():
    c = compare_texts(DRAFT, FINAL)
    kinds = {(r.old.label if r.old else None, r.new.label if r.new else None): r.kind for r in c.rows}
    assert kinds[("第五条", "第二条")] == "moved"
    assert kinds[("第二条", "第三条")] == "changed"
    assert kinds[("第三条", "第四条")] == "same"
    assert kinds[(None, "第五条")] == "added"
    assert kinds[("第四条", None)] == "removed"
    assert [(s.kind, s.label, s.old_label) for s in c.summary] == [
        ("moved", "第二条", "第五条"), ("added", "第五条", ""), ("removed", "第四条", ""), ("changed", "第三条", "")]
    assert c.counts() == {"added": 1, "removed": 1, "moved": 1, "changed": 1, "same": 2}


def test_identical_texts_have_no_changes():
    c = compare_texts(DRAFT, DRAFT)
    assert c.summary == [] and all(r.kind == "same" for r in c.rows)


def test_changed_words_are_marked_on_each_side():
    left, right = word_diff("本原则适用于深度学习软件。", "本原则适用于人工智能医疗器械软件。")
    assert "".join(t for t, _ in left) == "本原则适用于深度学习软件。"
    assert [t for t, changed in left if changed] == ["深度学习"]
    assert [t for t, changed in right if changed] == ["人工智能医疗器械"]


def test_change_lines_in_both_languages():
    changes = [Change("moved", "第二条", "网络安全应当符合要求。", "第五条"), Change("added", "第五条", "上市后…")]
    assert change_lines(changes, "zh") == ["第二条 移动 (原第五条) 网络安全应当符合要求。", "第五条 新增 上市后…"]
    assert change_lines(changes, "en", limit=1) == ["第二条 moved (was 第五条) 网络安全应当符合要求。"]
