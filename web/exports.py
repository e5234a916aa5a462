"""Exports and feeds of any filtered list: CSV (UTF-8 with BOM, so Excel reads Chinese), XLSX, JSON and Atom.

Every export takes the list's own URL arguments, runs the same tracker.read.lists builder as the page, and stops at
MAX_EXPORT_ROWS (the response says when it did). Scraped text is hostile: spreadsheet cells never start a formula,
and characters XML cannot carry are dropped from feeds and workbooks. Every answer carries an ETag and a
Last-Modified, and a conditional request that still matches gets 304 before any row is read (web.conditional).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, current_app, request, url_for

from tracker.read import filters, lists, pages
from web import context, params, sheets
from web.conditional import Validators
from web.context import db
from web.feedtitle import feed_title
from web.i18n import evidence_text, gettext, label, lang
from web.serialize import DEVICE_FIELDS, POLICY_FIELDS, device_dict, policy_dict
from web.sheets import xml_safe

bp = Blueprint("exports", __name__)
FEED_ENTRIES = 50


def _filter(kind: str):
    return params.list_filter(filters.DeviceFilter if kind == "devices" else filters.PolicyFilter)


def _rows(kind: str, f, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` rows of the filtered list as dicts, and the full number of matches; a device row says why the
    rules call it AI in the reader's language (`ai_evidence`)."""
    entities, total, tags = pages.export_rows(db(), f, limit)
    if kind != "devices":
        return [policy_dict(e, tags.get(e.id, [])) for e in entities], total
    evidence = pages.ai_evidence_of(db(), "device", [e.id for e in entities if "ai:ai" in tags.get(e.id, [])])
    return [{**device_dict(e, tags.get(e.id, [])), "ai_evidence": [evidence_text(x) for x in evidence.get(e.id, [])]}
            for e in entities], total


def _filename(kind: str, ext: str) -> str:
    return f"{kind}-{context.today():%Y%m%d}.{ext}"


def _columns(kind: str) -> list[str]:
    fields = (*DEVICE_FIELDS, "ai_evidence") if kind == "devices" else (*POLICY_FIELDS, "attachments")
    return [*fields, "tags"]


def _words() -> sheets.Words:
    """How this request's sheet speaks: labels in the reader's language, or machine names with ?headers=codes."""
    codes = request.args.get("headers") == "codes"
    return sheets.Words(header=gettext, tag_label=_tag_shown, yes=gettext("yes"), no=gettext("no"), codes=codes)


def _tag_shown(tag: str) -> str:
    """A "facet:code" tag as people read it in a sheet: "阶段：征求意见稿" (the facet named, since a policy type and
    a stage may share a label), or "AI"."""
    facet, _, code = tag.partition(":")
    return label(code) if facet == "ai" else gettext("tag_shown", facet=gettext(f"facet_{facet}"), label=label(code))


@bp.get("/export/<any(devices, policies):kind>.<any(csv, xlsx, json):fmt>")
def export(kind: str, fmt: str):
    """The filtered list as a file download."""
    f = _filter(kind)
    validators = Validators(kind, fmt, f)
    if validators.fresh():
        return validators.not_modified()
    rows, total = _rows(kind, f, lists.MAX_EXPORT_ROWS)
    columns = _columns(kind)
    if fmt == "csv":
        response = Response(sheets.to_csv(rows, columns, _words(), context.tz()), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = sheets.to_xlsx(rows, columns, _words(), gettext(f"{kind}_title")[:31], context.tz())
        response = Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        payload = {"generated_at": context.now().isoformat(), "filter": f.to_args(), "total": total,
                   "truncated": total > len(rows), "items": rows}
        response = Response(_json(payload), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(kind, fmt)}"'
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Export-Truncated"] = "true" if total > len(rows) else "false"
    return validators.stamp(response)


def _json(payload: Any) -> str:
    return current_app.json.dumps(payload)


def _absolute(endpoint: str, **values: Any) -> str:
    base = context.state().settings.public_base_url.rstrip("/")
    return base + url_for(endpoint, **values)


@bp.get("/feeds/<any(devices, policies):kind>.atom")
def feed(kind: str):
    """An Atom feed of the filtered list, most recently recorded first."""
    f = _filter(kind).replace(sort="-seen", page=1)
    validators = Validators(kind, "atom", f)
    if validators.fresh():
        return validators.not_modified()
    rows, _total = _rows(kind, f, FEED_ENTRIES)
    args = f.to_args()
    args.pop("sort", None)
    list_endpoint, detail_endpoint = ("devices.index", "devices.detail") if kind == "devices" else (
        "policies.index", "policies.detail")
    title = gettext("devices_title" if kind == "devices" else "policies_title")
    fg = FeedGenerator()
    self_url = _absolute("exports.feed", kind=kind, **args)
    fg.id(self_url)
    fg.title(xml_safe(feed_title(title, args)))
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=_absolute(list_endpoint, **args), rel="alternate", type="text/html")
    fg.author({"name": gettext("site_title")})
    fg.language("zh-CN" if lang() == "zh" else "en")
    updated = [datetime.fromisoformat(r["updated_at"]) for r in rows if r.get("updated_at")]
    fg.updated(max(updated) if updated else context.now())
    for row in rows:
        entry = fg.add_entry(order="append")
        id_arg = "device_id" if kind == "devices" else "policy_id"
        url = _absolute(detail_endpoint, **{id_arg: row["id"]})
        entry.id(url)
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(datetime.fromisoformat(row["updated_at"]))
        entry.published(datetime.fromisoformat(row["first_seen"]))
        if kind == "devices":
            entry.title(xml_safe(row["product_name"]))
            summary = " · ".join(str(v) for v in (row["cert_no"], row["registrant"], row["issued_on"]) if v)
        else:
            entry.title(xml_safe(row["title"]))
            summary = " · ".join(str(v) for v in (row["issuer_printed"] or row["issuer"], row["doc_no_printed"] or row["doc_no"],
                                                 row["published_on"]) if v)
        if row.get("is_sample"):
            summary = f"[{gettext('sample_badge')}] {summary}"
        entry.summary(xml_safe(summary))
        for tag in row["tags"]:
            entry.category(term=xml_safe(tag))
    return validators.stamp(Response(fg.atom_str(pretty=True), mimetype="application/atom+xml"))


@bp.get("/feeds/events.atom")
def events_feed():
    """An Atom feed of certificate events (registrations, changes, renewals, corrections, cancellations) of the
    devices the device list's filter selects, most recently recorded first: `?event=renewal`, `?registrant=…`."""
    f = params.list_filter(filters.DeviceFilter).replace(page=1)
    validators = Validators("events", "atom", f)
    if validators.fresh():
        return validators.not_modified()
    args = {k: v for k, v in f.to_args().items() if k != "sort"}
    fg = FeedGenerator()
    self_url = _absolute("exports.events_feed", **args)
    fg.id(self_url)
    fg.title(xml_safe(f"{gettext('site_short')} · {gettext('timeline')}"))
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=_absolute("devices.index", **args), rel="alternate", type="text/html")
    fg.author({"name": gettext("site_title")})
    fg.language("zh-CN")
    rows = pages.event_rows(db(), f, FEED_ENTRIES)
    fg.updated(max((e.recorded_at for e, _ in rows), default=context.now()))
    for event, device in rows:
        entry = fg.add_entry(order="append")
        url = _absolute("devices.detail", device_id=device.id) + "#timeline"
        entry.id(f"{url}-{event.id}")
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(event.recorded_at)
        entry.title(xml_safe(f"{gettext('event_' + event.kind)} · {device.product_name}"))
        changes = "; ".join(f"{c.get('field')}: {c.get('before') or '—'} → {c.get('after') or '—'}"
                            for c in event.changes or [] if isinstance(c, dict))
        summary = " · ".join(str(v) for v in (device.cert_no, device.registrant, event.event_date, changes) if v)
        if device.is_sample:
            summary = f"[{gettext('sample_badge')}] {summary}"
        entry.summary(xml_safe(summary))
        entry.category(term=f"event:{event.kind}")
    return validators.stamp(Response(fg.atom_str(pretty=True), mimetype="application/atom+xml"))
