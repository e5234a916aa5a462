"""A history row people can read: the old and the new value of one field side by side, with what changed marked.

The store keeps every value as text (tracker.store.write): lists one item a line, attachments one JSON object a
line, tags one `facet:code` a line. Here a list field becomes a list (attachments by name, tags by label) whose added
items are marked <ins> and removed ones <del>; any other field is compared word by word (a Latin word or number
whole, a Chinese character on its own, since Chinese has no spaces) and the changed stretches are marked. Everything
is escaped: the values are scraped text.
"""
from __future__ import annotations

import json
import re
from difflib import SequenceMatcher

from markupsafe import Markup, escape

from web.i18n import field_value, label

_TOKEN = re.compile(r"[A-Za-z0-9_.:/-]+|\s+|.", re.S)
LIST_FIELDS = {"tags", "attachments", "udi_di"}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _item_text(field: str, line: str) -> str:
    """One line of a list field as people read it: an attachment's name, a tag's label, an identifier as it is."""
    if field == "attachments":
        try:
            item = json.loads(line)
        except ValueError:
            return line
        return str(item.get("name") or item.get("url") or line) if isinstance(item, dict) else line
    if field == "tags":
        facet, _, code = line.partition(":")
        return label(code or facet)
    return line


def _list(field: str, value: str | None) -> list[str]:
    return [_item_text(field, line) for line in (value or "").splitlines() if line.strip()]


def _list_markup(items: list[str], marked: set[str], tag: str) -> Markup:
    if not items:
        return Markup('<span class="muted">—</span>')
    lis = [Markup("<li><{0}>{1}</{0}></li>").format(Markup(tag), item) if item in marked
           else Markup("<li>{}</li>").format(item) for item in items]
    return Markup('<ul class="plain-list changes">') + Markup("").join(lis) + Markup("</ul>")


def _words_markup(old: str, new: str) -> tuple[Markup, Markup]:
    a, b = _tokens(old), _tokens(new)
    old_parts: list[Markup] = []
    new_parts: list[Markup] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            old_parts.append(escape(before))
            new_parts.append(escape(after))
            continue
        if before:
            old_parts.append(Markup("<del>{}</del>").format(before))
        if after:
            new_parts.append(Markup("<ins>{}</ins>").format(after))
    return Markup("").join(old_parts), Markup("").join(new_parts)


def revision_cells(field: str, old: str | None, new: str | None) -> tuple[Markup, Markup]:
    """The old and new cell of a history row for `field`, with what was removed marked <del> and what was added
    <ins>; an empty side is a dash."""
    if field in LIST_FIELDS:
        before, after = _list(field, old), _list(field, new)
        return (_list_markup(before, set(before) - set(after), "del"),
                _list_markup(after, set(after) - set(before), "ins"))
    old_text, new_text = field_value(field, old), field_value(field, new)
    dash = Markup('<span class="muted">—</span>')
    if not old_text or not new_text:  # first recorded or cleared: nothing to compare word by word
        return (escape(old_text) if old_text else dash), (escape(new_text) if new_text else dash)
    return _words_markup(old_text, new_text)
