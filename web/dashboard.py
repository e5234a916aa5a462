"""The dashboard: what is new, AI devices per area (and per year, as an SVG chart), crowded versus open diseases,
and the health of every source at a glance."""
from __future__ import annotations

from flask import Blueprint, render_template

from tracker.classify import taxonomy
from tracker.read import health, stats
from web import chart, context
from web.context import db
from web.i18n import label

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """The dashboard page."""
    session = db()
    areas = stats.area_counts(session)
    top_areas = [node.code for node in taxonomy.nodes("area") if not node.parent]
    matrix = stats.area_year_matrix(session)
    return render_template(
        "dashboard/index.html",
        new=stats.new_counts(session, context.today()),
        areas=areas,
        area_max=max((n for _node, n in areas), default=0),
        chart=chart.stacked_by_year(matrix, top_areas, label),
        phone_chart=chart.stacked_by_year(matrix, top_areas, label, width=chart.PHONE_WIDTH,
                                          height=chart.PHONE_HEIGHT, max_labels=chart.PHONE_LABELS),
        diseases=stats.disease_counts(session),
        sources=health.source_health(session, context.state().sources, context.now(), runs_per_source=1),
        crowding_report=taxonomy.CROWDING_REPORT,
    )

