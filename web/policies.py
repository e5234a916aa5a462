"""Policies: the filtered, searchable list and a policy's page (body, attachments, linked devices, history)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from tracker import queries, taxonomy
from tracker.asof import as_of, end_of_day
from web import context
from web.context import db
from web.detail import load_policy
from web.devices import asof_date
from web.i18n import gettext, label

bp = Blueprint("policies", __name__)

POLICY_SORT_CHOICES = ("-date", "date", "-seen", "title", "issuer")


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of every select in the policy filter form, in the request's language."""
    facet = lambda name: [(n.code, label(n.code)) for n in taxonomy.nodes(name)]  # noqa: E731
    return {
        "area": facet("area"), "type": facet("policy_type"), "issuer": facet("issuer"),
        "stage": [(s, gettext(f"stage_{s}")) for s in queries.POLICY_STAGES], "scenario": facet("scenario"),
        "data": [(d, gettext(f"data_{d}")) for d in queries.DATA_KINDS],
        "sort": [(s, gettext(f"sort_{s}")) for s in POLICY_SORT_CHOICES],
    }


@bp.get("/policies")
def index():
    """The policies list: filters, search, sorting and pages, all in the URL."""
    f = queries.PolicyFilter.from_args(request.args)
    session = db()
    total = session.execute(queries.count_of(queries.policy_select(f))).scalar_one()
    rows = list(session.execute(queries.policy_page(f)).scalars())
    tags = queries.effective_by_entity(session.execute(queries.tags_for("policy", [p.id for p in rows])).scalars())
    return render_template("policies/list.html", f=f, total=total, rows=rows, tags=tags, options=filter_options())


@bp.get("/policies/<int:policy_id>")
def detail(policy_id: int):
    """One policy: fields, body, attachments, linked devices and why, tags, sources, history, as-of view."""
    d = load_policy(db(), policy_id)
    if d is None:
        abort(404)
    day = asof_date()
    state = as_of(db(), "policy", policy_id, end_of_day(day, context.state().settings.timezone)) if day else None
    return render_template("policies/detail.html", d=d, policy=d.entity, asof=state, asof_day=day,
                           today=context.today())
