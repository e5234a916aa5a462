"""Registrants (注册人): the list with their certificate counts, and one company's certificates over time."""
from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, render_template, request

from tracker.read import filters
from tracker.read import lists as queries
from tracker.store.models import Company
from web.context import db

bp = Blueprint("companies", __name__)
PER_PAGE = 50


@bp.get("/companies")
def index():
    """Registrants, most certificates first, searchable by name or credit code."""
    q = (request.args.get("q") or "")[:filters.MAX_QUERY_CHARS]
    page = max(1, min(filters.MAX_PAGE, request.args.get("page", 1, type=int) or 1))
    stmt = queries.companies_select(q)
    total = db().execute(queries.count_of(stmt)).scalar_one()
    rows = db().execute(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("companies/list.html", rows=rows, q=q, page=page, total=total, per_page=PER_PAGE)


@bp.get("/companies/<int:company_id>")
def detail(company_id: int):
    """One registrant: its certificates by first-registration year, as bars and as a list."""
    company = db().get(Company, company_id)
    if company is None:
        abort(404)
    f = filters.DeviceFilter(company=company_id, sort="-year", per_page=filters.MAX_PER_PAGE)
    devices = list(db().execute(queries.device_select(f).limit(queries.MAX_EXPORT_ROWS)).scalars())
    per_year = Counter(d.first_reg_year for d in devices if d.first_reg_year)
    years = list(range(min(per_year), max(per_year) + 1)) if per_year else []
    return render_template("companies/detail.html", company=company, devices=devices, f=f,
                           per_year=[(y, per_year.get(y, 0)) for y in years],
                           year_max=max(per_year.values(), default=0))
