"""A channel message about a final version of a draft carries the first lines of what changed, in its language."""
from __future__ import annotations

from datetime import date, datetime, timezone

from tracker.mail.digest import Entry, Item
from tracker.notify.message import as_markdown, as_text, event_payload


def _entry() -> Entry:
    item = Item(kind="policy", id=1, title="人工智能医疗器械注册审查指导原则", who="国家药监局", ref=None,
                day=date(2022, 3, 9), areas=(), url="https://t.example.org/policies/1", is_sample=False,
                first_seen=datetime(2026, 12, 1, tzinfo=timezone.utc),
                draft_changes=(("第十条 新增 上市后应当开展数据漂移监测", "第十条 added 上市后应当开展数据漂移监测"),
                               ("第十二条 删除 说明书应当明确", "第十二条 removed 说明书应当明确")))
    return Entry(item=item, change="new")


def test_text_and_markdown_carry_the_change_lines_in_the_channel_language():
    zh = event_payload([_entry()], "zh", watch="指导原则", more_url=None)
    en = event_payload([_entry()], "en", watch="guidance", more_url=None)
    assert "· 第十条 新增 上市后应当开展数据漂移监测" in as_text(zh)
    assert "· 第十二条 removed 说明书应当明确" in as_text(en)
    assert "> · 第十条 新增 上市后应当开展数据漂移监测" in as_markdown(zh)


def test_an_item_without_a_draft_has_no_change_lines():
    entry = _entry()
    plain = Entry(item=Item(**{**entry.item.__dict__, "draft_changes": ()}), change="new")
    assert "·  " not in as_text(event_payload([plain], "zh", watch="w", more_url=None))
    assert "新增" not in as_text(event_payload([plain], "zh", watch="w", more_url=None))
