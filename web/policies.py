"""Policies: the filtered, searchable list and a policy's page (body, attachments, linked devices, history).

A general AI guidance is linked to every AI device (thousands), so the policy page shows its linked devices a page
at a time (`?page=N`, kept in the URL with the as-of date), counted in the database and read only for that page.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template

from tracker.classify import taxonomy
from tracker.read import compare, filters, fulltext, pages
from tracker.read.asof import as_of, end_of_day
from tracker.read.detail import load_policy
from web import context, params
from web.context import db
from web.i18n import gettext, label

bp = Blueprint("policies", __name__)

POLICY_SORT_CHOICES = ("-date", "date", "-seen", "title", "issuer")


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of every select in the policy filter form, in the request's language."""
    facet = lambda name: [(n.code, label(n.code)) for n in taxonomy.nodes(name)]  # noqa: E731
    return {
        "area": facet("area"), "type": facet("policy_type"), "issuer": facet("issuer"),
        "stage": [(s, gettext(f"stage_{s}")) for s in filters.POLICY_STAGES], "scenario": facet("scenario"),
        "data": [(d, gettext(f"data_{d}")) for d in filters.DATA_KINDS],
        "sort": [(s, gettext(f"sort_{s}")) for s in POLICY_SORT_CHOICES],
    }


@bp.get("/policies")
def index():
    """The policies list: filters, search, sorting and pages, all in the URL."""
    f = params.list_filter(filters.PolicyFilter)
    listed = pages.list_page(db(), f)
    params.check_page(f.page, listed.total, f.per_page)
    return render_template("policies/list.html", f=f, total=listed.total, rows=listed.rows, tags=listed.tags,
                           options=filter_options())


LINKS_PER_PAGE = 50


@dataclasses.dataclass(frozen=True)
class LinkPage:
    """Which page of a policy's linked devices is shown; quacks like a list filter for the `pager` macro."""

    policy_id: int
    page: int = 1
    per_page: int = LINKS_PER_PAGE
    asof: date | None = None

    @classmethod
    def from_request(cls, policy_id: int) -> "LinkPage":
        """`page`, `per_page` and `asof` from the URL, bounded like the lists' (400 when refused)."""
        return params.read(lambda a: cls(policy_id, **a.paging(default_per_page=LINKS_PER_PAGE), asof=a.date("asof")))

    def to_args(self) -> dict[str, Any]:
        """URL arguments of this page (defaults left out, so page 1 is the plain policy URL)."""
        out: dict[str, Any] = {"policy_id": self.policy_id}
        if self.page != 1:
            out["page"] = self.page
        if self.per_page != LINKS_PER_PAGE:
            out["per_page"] = self.per_page
        if self.asof:
            out["asof"] = self.asof.isoformat()
        return out

    def replace(self, **changes: Any) -> "LinkPage":
        """A copy with `page` (or another field) changed."""
        return dataclasses.replace(self, **changes)

    @property
    def offset(self) -> int:
        """Rows to skip for this page."""
        return (self.page - 1) * self.per_page


@bp.get("/policies/<id:policy_id>")
def detail(policy_id: int):
    """One policy: fields, body, attachments, linked devices (paged) and why, tags, sources, history, as-of view."""
    links = LinkPage.from_request(policy_id)
    day = links.asof
    d = load_policy(db(), policy_id, links_page=links.page, links_per_page=links.per_page)
    if d is None:
        abort(404)
    params.check_page(links.page, d.links_total, links.per_page)
    state = as_of(db(), "policy", policy_id, end_of_day(day, context.state().settings.timezone)) if day else None
    return render_template("policies/detail.html", d=d, policy=d.entity, asof=state, asof_day=day,
                           today=context.today(), links=links, links_total=d.links_total,
                           files=fulltext.attachments_of(db(), policy_id),
                           counterpart=compare.counterpart(db(), d.entity))
