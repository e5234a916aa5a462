"""Approvals: the filtered, searchable list of devices and a device's detail page with tags, provenance and history."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from tracker.classify import taxonomy
from tracker.read import filters, pages
from tracker.read.asof import as_of, end_of_day
from tracker.read.detail import load_device
from web import context, pagecache, params
from web.context import db
from web.i18n import gettext, label

bp = Blueprint("devices", __name__)

DEVICE_SORT_CHOICES = ("-issued", "issued", "-seen", "name", "registrant", "-year", "cert")


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of every select in the filter form, in the request's language."""
    years = pages.registration_years(db())
    facet = lambda name, **kw: [(n.code, label(n.code)) for n in taxonomy.nodes(name)  # noqa: E731
                                if kw.get("top") is None or bool(n.parent) != kw["top"]]
    return {
        "area": facet("area", top=True), "sub": facet("area", top=False), "function": facet("function"),
        "disease": facet("disease"), "site": facet("site"), "signal": facet("signal"),
        "class": [(str(n), gettext("class_n", n=n)) for n in (3, 2, 1)],
        "origin": [(o, gettext(f"origin_{o}")) for o in filters.ORIGINS],
        "year": [(str(y), str(y)) for y in years],
        "data": [(d, gettext(f"data_{d}")) for d in filters.DATA_KINDS],
        "event": [(k, gettext(f"event_{k}")) for k in filters.EVENT_KINDS],
        "sort": [(s, gettext(f"sort_{s}")) for s in DEVICE_SORT_CHOICES],
    }


@bp.get("/devices")
@pagecache.cached
def index():
    """The approvals list: filters, search, sorting and pages, all in the URL."""
    f = params.list_filter(filters.DeviceFilter)
    listed = pages.list_page(db(), f, columns=pages.DEVICE_ROW_COLUMNS)
    params.check_page(f.page, listed.total, f.per_page)
    return render_template("devices/list.html", f=f, total=listed.total, rows=listed.rows, tags=listed.tags,
                           options=filter_options())


@bp.get("/devices/<id:device_id>")
@pagecache.cached
def detail(device_id: int):
    """All of one device: fields, DIs, notices, news, tags with evidence, policies, sources, history, as-of view."""
    day = params.asof()
    d = load_device(db(), device_id)
    if d is None:
        abort(404)
    state = as_of(db(), "device", device_id, end_of_day(day, context.state().settings.timezone)) if day else None
    return render_template("devices/detail.html", d=d, device=d.entity, asof=state, asof_day=day,
                           today=context.today())
