"""Exports and feeds of any filtered list: CSV (UTF-8 with BOM, so Excel reads Chinese), XLSX, JSON and Atom.

Every export takes the list's own URL arguments, runs the same tracker.read.lists builder as the page, and stops at
MAX_EXPORT_ROWS (the response says when it did). Scraped text is hostile: spreadsheet cells never start a formula,
and characters XML cannot carry are dropped from feeds and workbooks. Every answer carries an ETag and a
Last-Modified, and a conditional request that still matches gets 304 before any row is read (web.conditional).
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, current_app, url_for
from openpyxl import Workbook

from tracker.read import filters, lists, pages
from web import context, params
from web.conditional import Validators
from web.context import db
from web.i18n import evidence_text, gettext
from web.serialize import DEVICE_FIELDS, POLICY_FIELDS, cell, device_dict, policy_dict

bp = Blueprint("exports", __name__)
FEED_ENTRIES = 50
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: Any) -> str:
    """`text` without the control characters XML 1.0 (and so Atom and XLSX) cannot hold."""
    return _NOT_XML.sub("", "" if text is None else str(text))


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
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
        response = Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet(kind)
        sheet.append(columns)
        for row in rows:
            sheet.append([xml_safe(v) if isinstance(v, str) else v for v in (cell(row.get(c)) for c in columns)])
        out = io.BytesIO()
        book.save(out)
        response = Response(out.getvalue(),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
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
    fg.title(xml_safe(f"{gettext('site_short')} · {title}"))
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=_absolute(list_endpoint, **args), rel="alternate", type="text/html")
    fg.author({"name": gettext("site_title")})
    fg.language("zh-CN")
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
