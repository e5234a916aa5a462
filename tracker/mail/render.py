"""Digest and notice rendering: pure functions from data to (subject, plain text, HTML); no database, no clock.

Templates live in tracker/templates/mail/ (Jinja; HTML autoescaped). Headings are bilingual (Chinese / English)
whatever the subscriber's language, since recipients forward digests across teams. Items are grouped by top-level
application area in taxonomy order; an item is listed once, under its first area, and items with no area come last.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from tracker.classify import taxonomy
from tracker.i18n import gettext
from tracker.mail.digest import Digest, Entry

TEMPLATES = Path(__file__).resolve().parent / "templates"
SITE_NAME = "NMPA AI 追踪 / NMPA AI Tracker"
FREQUENCY_LABELS = {"immediate": ("即时提醒", "Alert"), "daily": ("每日摘要", "Daily digest"),
                    "weekly": ("每周摘要", "Weekly digest")}
KIND_LABELS = {"device": ("器械批准", "Device approvals"), "policy": ("政策文件", "Policies")}
CHANGE_LABELS = {"new": ("新", "new"), "changed": ("更新", "updated")}
OTHER_AREA = ("其他", "Other")


@dataclass(frozen=True)
class Rendered:
    """A message's subject and bodies."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Group:
    """Entries of one kind under one application area."""

    zh: str
    en: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Section:
    """All entries of one kind (devices or policies), grouped by area."""

    zh: str
    en: str
    groups: tuple[Group, ...]


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
    )
    env.filters["change"] = lambda change: "{} / {}".format(*CHANGE_LABELS[change])
    env.filters["meta"] = item_meta
    env.filters["event"] = event_label
    return env


def event_label(event: tuple) -> str:
    """'纠错 / Correction 2026-11-19': a certificate event in both languages, with its date when known."""
    kind, day = event
    label = f"{gettext('event_' + kind, 'zh')} / {gettext('event_' + kind, 'en')}"
    return f"{label} {day.isoformat()}" if day else label


def item_meta(item) -> str:
    """'registrant · certificate no. · type · date', leaving out what an item lacks."""
    parts = [item.who, item.ref, item.extra, item.day.isoformat() if item.day else None]
    return " · ".join(p for p in parts if p)


def sections(entries: tuple[Entry, ...]) -> tuple[Section, ...]:
    """Entries split by kind, then grouped by top-level area (taxonomy order, 'Other' last)."""
    order = [node.code for node in taxonomy.nodes("area") if node.parent is None]
    out = []
    for kind in ("device", "policy"):
        by_area: dict[str | None, list[Entry]] = {}
        for entry in entries:
            if entry.item.kind == kind:
                by_area.setdefault(entry.item.areas[0] if entry.item.areas else None, []).append(entry)
        if not by_area:
            continue
        groups = [Group(taxonomy.label(code, "zh"), taxonomy.label(code, "en"), tuple(by_area[code]))
                  for code in order if code in by_area]
        groups += [Group(*OTHER_AREA, tuple(v)) for k, v in by_area.items() if k is None or k not in order]
        out.append(Section(*KIND_LABELS[kind], tuple(groups)))
    return tuple(out)


def digest_subject(digest: Digest) -> str:
    """'[NMPA AI 追踪] 每日摘要 Daily digest 2026-11-23: 3 条 / 3 items'."""
    zh, en = FREQUENCY_LABELS[digest.frequency]
    when = digest.period_key.split(":", 1)[1].replace("T", " ")
    n = len(digest.entries)
    return f"[NMPA AI 追踪] {zh} {en} {when}: {n} 条 / {n} item{'s' if n != 1 else ''}"


# Stand-ins for the per-subscriber links, so one rendering serves every subscriber who gets the same items.
MANAGE_MARK = "\x00manage-url\x00"
UNSUBSCRIBE_MARK = "\x00unsubscribe-url\x00"


def render_digest(digest: Digest, *, site_url: str, manage_url: str, unsubscribe_url: str) -> Rendered:
    """The digest email of one subscriber: subject, plain text and HTML with links to every item's page."""
    return personalize(render_shared(digest, site_url=site_url), manage_url=manage_url,
                       unsubscribe_url=unsubscribe_url)


def render_shared(digest: Digest, *, site_url: str) -> Rendered:
    """The digest with stand-ins for the subscriber's own links; depends only on the items, frequency and period."""
    context = {
        "digest": digest, "sections": sections(digest.entries), "site_url": site_url, "site_name": SITE_NAME,
        "manage_url": MANAGE_MARK, "unsubscribe_url": UNSUBSCRIBE_MARK,
        "frequency": FREQUENCY_LABELS[digest.frequency],
        "has_sample": any(e.item.is_sample for e in digest.entries),
    }
    env = _env()
    return Rendered(
        subject=digest_subject(digest),
        text=env.get_template("digest.txt").render(context),
        html=env.get_template("digest.html").render(context),
    )


def personalize(shared: Rendered, *, manage_url: str, unsubscribe_url: str) -> Rendered:
    """Put one subscriber's links into a shared rendering (HTML-escaped in the HTML part)."""
    html = shared.html.replace(MANAGE_MARK, str(escape(manage_url))).replace(UNSUBSCRIBE_MARK,
                                                                               str(escape(unsubscribe_url)))
    text = shared.text.replace(MANAGE_MARK, manage_url).replace(UNSUBSCRIBE_MARK, unsubscribe_url)
    return Rendered(subject=shared.subject, text=text, html=html)


def render_confirm(*, email: str, confirm_url: str, site_url: str, wording: str) -> Rendered:
    """The double opt-in email: one link to confirm; nothing is sent until it is followed."""
    context = {"email": email, "confirm_url": confirm_url, "site_url": site_url, "site_name": SITE_NAME,
               "wording": wording}
    env = _env()
    return Rendered(
        subject="[NMPA AI 追踪] 请确认订阅 / Please confirm your subscription",
        text=env.get_template("confirm.txt").render(context),
        html=env.get_template("confirm.html").render(context),
    )


def render_alert(*, source: str, state: str, reason: str, runs: list[dict], site_url: str) -> Rendered:
    """A source-health notice to administrators: `state` is 'alerting' (it broke) or 'healthy' (it recovered)."""
    context = {"source": source, "state": state, "reason": reason, "runs": runs, "site_url": site_url,
               "site_name": SITE_NAME}
    word = "异常 / failing" if state == "alerting" else "已恢复 / recovered"
    text = _env().get_template("alert.txt").render(context)
    return Rendered(subject=f"[NMPA AI 追踪] 数据源 {source} {word}", text=text, html="")
