"""The title of an Atom feed, saying what the feed holds: the list, then every filter it was built with, in the
reader's language ("AI 医疗器械追踪 · 批准器械 · AI · 医学影像 · 搜索“眼底”"), or "all" when it has none.

A feed reader shows the title and nothing else of the URL, so two subscriptions to differently filtered feeds must
read differently.
"""
from __future__ import annotations

from typing import Any

from tracker import i18n as catalogue
from web.i18n import gettext, label

# URL arguments whose value is a taxonomy code (shown by its label) and those shown through a catalogue prefix.
_CODED = {"area", "sub", "function", "disease", "site", "signal", "type", "issuer", "scenario"}
_PREFIXED = {"stage": "stage_", "origin": "origin_", "data": "data_"}
_IGNORED = {"sort", "page", "per_page"}


def _phrase(arg: str, value: str) -> str:
    if arg == "ai":
        return "AI"
    if arg == "q":
        return gettext("feed_search", q=value)
    if arg in _CODED:
        return label(value)
    if arg in _PREFIXED and catalogue.known(_PREFIXED[arg] + value):
        return gettext(_PREFIXED[arg] + value)
    if arg == "class":
        return gettext("class_n", n=value)
    name = gettext(f"feed_arg_{arg}") if catalogue.known(f"feed_arg_{arg}") else arg
    return gettext("feed_arg_value", name=name, value=value)


def feed_title(kind_title: str, args: dict[str, Any]) -> str:
    """`site · list · filter · filter …` for a feed of the list called `kind_title` filtered by URL `args`."""
    phrases = [_phrase(arg, str(value)) for arg, value in args.items() if arg not in _IGNORED]
    return " · ".join([gettext("site_short"), kind_title, *(phrases or [gettext("feed_all")])])
