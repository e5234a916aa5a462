"""Registrants (注册人): the list with their certificate counts, and one company's certificates over time."""
from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, render_template

from tracker.read import filters, pages
from web import params
from web.context import db

bp = Blueprint("companies", __name__)
PER_PAGE = 50


@bp.get("/companies")
def index():
    """Registrants, most certificates first, searchable by name or credit code."""
    q, page = params.read(lambda a: (a.text("q") or "", a.paging()["page"]))
    rows, total = pages.companies_page(db(), q, page, PER_PAGE)
    params.check_page(page, total, PER_PAGE)
    return render_template("companies/list.html", rows=rows, q=q, page=page, total=total, per_page=PER_PAGE)


@bp.get("/companies/<id:company_id>")
def detail(company_id: int):
    """One registrant: its certificates by first-registration year, as bars and as a list."""
    company = pages.company(db(), company_id)
    if company is None:
        abort(404)
    f = filters.DeviceFilter(company=company_id, sort="-year", per_page=filters.MAX_PER_PAGE)
    devices = pages.company_devices(db(), company_id)
    per_year = Counter(d.first_reg_year for d in devices if d.first_reg_year)
    years = list(range(min(per_year), max(per_year) + 1)) if per_year else []
    return render_template("companies/detail.html", company=company, devices=devices, f=f,
                           per_year=[(y, per_year.get(y, 0)) for y in years],
                           year_max=max(per_year.values(), default=0))
