"""Chat messages: what happened, written in the channel's language, as neutral JSON (stored with each delivery) and
rendered per platform into plain text or that platform's markdown within its size limit.

A payload is a dict: `headline`, `items` (each: label, title, company, ref, areas, date, url, sample), `count` (all
events it stands for), `more_url` (the filtered list) and `lang`. Batches hold the first few items and the count;
`fit` drops items from the end (saying how many more there are) until the rendering fits the platform's limit.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping

from tracker.classify import taxonomy
from tracker.i18n import gettext
from tracker.mail.digest import Entry

MAX_ITEMS = 10  # a chat message is read on a phone: the first ten, then the link to the list


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def label_of(entry: Entry, lang: str, event: str | None = None) -> str:
    """What happened, in `lang`: the certificate event the source reported (renewal, cancellation, …) when there is
    one, else new / changed device or policy."""
    if event:
        return gettext(f"event_{event}", lang)
    return gettext(f"notify_{entry.change}_{entry.item.kind}", lang)


def item_line(entry: Entry, lang: str, event: str | None = None) -> dict[str, Any]:
    """One event as a payload item: what happened, the product or title, the company, tags, date and link."""
    item = entry.item
    return {
        "label": label_of(entry, lang, event),
        "title": item.title, "company": item.who or "", "ref": item.ref or "",
        "areas": "、".join(taxonomy.label(code, lang) for code in item.areas) if lang == "zh"
        else ", ".join(taxonomy.label(code, lang) for code in item.areas),
        "date": _day(item.day), "url": item.url, "sample": item.is_sample,
        # A final version of a draft: the first lines of what changed (tracker.read.compare.change_lines).
        "changes": [zh if lang == "zh" else en for zh, en in item.draft_changes],
    }


def event_payload(entries: Iterable[Entry], lang: str, *, watch: str, more_url: str | None,
                  events: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The message for one event (one entry) or a batch of many (count and the first MAX_ITEMS); `events` maps a
    changed device to the certificate event recorded for it in the window."""
    entries = list(entries)
    events = events or {}

    def event(e: Entry) -> str | None:
        return events.get(e.item.id) if e.item.kind == "device" and e.change == "changed" else None

    if len(entries) == 1:
        headline = f"{label_of(entries[0], lang, event(entries[0]))}：{entries[0].item.title}"
    else:
        headline = gettext("notify_batch", lang, watch=watch, num=len(entries))
    return {"lang": lang, "headline": headline, "watch": watch, "count": len(entries),
            "items": [item_line(e, lang, event(e)) for e in entries[:MAX_ITEMS]], "more_url": more_url}


def probe_payload(lang: str, channel: str, now: datetime) -> dict[str, Any]:
    """The message `tracker channel test` and the admin page's button send."""
    return {"lang": lang, "headline": gettext("notify_test_headline", lang, channel=channel), "watch": "",
            "count": 0, "items": [], "more_url": None,
            "note": gettext("notify_test_body", lang, when=now.isoformat(timespec="seconds"))}


# ------------------------------------------------------------------------------------------------ rendering

def remaining(payload: dict[str, Any], shown: int) -> int:
    """How many events the message stands for beyond the `shown` items it lists."""
    return max(payload["count"], len(payload["items"])) - shown


def as_text(payload: dict[str, Any], items: int | None = None) -> str:
    """Plain text: the headline, one block per item, how many more, and the link to the list."""
    lang = payload["lang"]
    shown = payload["items"][:items]
    lines = [payload["headline"]]
    if payload.get("note"):
        lines.append(payload["note"])
    for it in shown:
        lines.append("")
        lines.append(f"{it['label']}｜{it['title']}" + (f"（{gettext('notify_sample', lang)}）" if it["sample"] else ""))
        facts = [x for x in (it["company"], it["ref"], it["areas"], it["date"]) if x]
        if facts:
            lines.append(" · ".join(facts))
        lines += [f"· {line}" for line in it.get("changes", ())]
        lines.append(it["url"])
    rest = remaining(payload, len(shown))
    if rest > 0:
        lines += ["", gettext("notify_more", lang, num=rest)]
    if payload.get("more_url"):
        lines.append(f"{gettext('notify_view_all', lang)}: {payload['more_url']}")
    return "\n".join(lines)


def as_markdown(payload: dict[str, Any], items: int | None = None, *, link: Callable[[str, str], str] | None = None,
                bold: str = "**", heading: str = "### ") -> str:
    """Markdown as WeCom and DingTalk read it (Slack's mrkdwn with bold='*', heading='' and its own link form)."""
    lang = payload["lang"]
    link = link or (lambda text, url: f"[{text}]({url})")
    shown = payload["items"][:items]
    lines = [f"{heading}{payload['headline']}"]
    if payload.get("note"):
        lines.append(payload["note"])
    for it in shown:
        sample = f"（{gettext('notify_sample', lang)}）" if it["sample"] else ""
        lines.append(f"> {bold}{it['label']}{bold} {link(it['title'], it['url'])}{sample}")
        facts = [x for x in (it["company"], it["ref"], it["areas"], it["date"]) if x]
        if facts:
            lines.append("> " + " · ".join(facts))
        lines += [f"> · {line}" for line in it.get("changes", ())]
        lines.append("")
    rest = remaining(payload, len(shown))
    if rest > 0:
        lines.append(gettext("notify_more", lang, num=rest))
    if payload.get("more_url"):
        lines.append(link(gettext("notify_view_all", lang), payload["more_url"]))
    return "\n".join(lines).strip()


def fit(render: Callable[[int], str], payload: dict[str, Any], limit_bytes: int) -> str:
    """The rendering with as many items as fit in `limit_bytes` of UTF-8; with none fitting, the text cut short."""
    for n in range(len(payload["items"]), -1, -1):
        text = render(n)
        if len(text.encode("utf-8")) <= limit_bytes:
            return text
    return text.encode("utf-8")[:limit_bytes - 3].decode("utf-8", "ignore") + "…"
