"""Policies: the filtered, searchable list and a policy's page (body, attachments, linked devices, history).

A general AI guidance is linked to every AI device (thousands), so the policy page shows its linked devices a page
at a time (`?page=N`, kept in the URL with the as-of date), counted in the database and read only for that page.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, load_only

from tracker import queries, taxonomy
from tracker.asof import as_of, end_of_day
from tracker.models import Device, Policy, PolicyDevice
from web import context
from web.context import db
from web.detail import EntityDetail, _tags, revisions_of, sources_of
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
    total = session.execute(queries.list_count(f)).scalar_one()
    rows = list(session.execute(queries.list_page(f, total)).scalars())
    tags = queries.effective_by_entity(session.execute(queries.tags_for("policy", [p.id for p in rows])).scalars())
    return render_template("policies/list.html", f=f, total=total, rows=rows, tags=tags, options=filter_options())


LINKS_PER_PAGE = 50


@dataclasses.dataclass(frozen=True)
class LinkPage:
    """Which page of a policy's linked devices is shown; quacks like a list filter for the `pager` macro."""

    policy_id: int
    page: int = 1
    per_page: int = LINKS_PER_PAGE
    asof: date | None = None

    @classmethod
    def from_args(cls, policy_id: int, args: Any, asof: date | None) -> "LinkPage":
        """`page` and `per_page` from the URL, clamped like the lists' paging; malformed values fall back."""
        page = args.get("page", 1, type=int) or 1
        per_page = args.get("per_page", LINKS_PER_PAGE, type=int) or LINKS_PER_PAGE
        return cls(policy_id, max(1, min(queries.MAX_PAGE, page)), max(1, min(queries.MAX_PER_PAGE, per_page)), asof)

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


def linked_devices(policy_id: int) -> Select:
    """(device, link) pairs of a policy, by product name, reading only what a row of the table shows."""
    return (select(Device, PolicyDevice).join(PolicyDevice, PolicyDevice.device_id == Device.id)
            .where(PolicyDevice.policy_id == policy_id)
            .options(load_only(Device.id, Device.cert_no, Device.product_name, Device.registrant, Device.is_sample,
                               raiseload=True),
                     load_only(PolicyDevice.id, PolicyDevice.rule_id, PolicyDevice.reason, raiseload=True))
            .order_by(Device.product_name, Device.id))


def linked_count(policy_id: int) -> Select:
    """How many devices a policy is linked to (the unique (policy_id, device_id) index answers it)."""
    return select(func.count()).select_from(PolicyDevice).where(PolicyDevice.policy_id == policy_id)


def load_policy_page(session: Session, policy_id: int, links: LinkPage) -> tuple[EntityDetail, int, LinkPage] | None:
    """The policy page's data with one page of its linked devices, their total and the page shown (a page past the
    end shows the last one); None when there is no such policy.

    `web.detail.load_policy` (the API's) reads every link; this one reads the count and one page.
    """
    policy = session.get(Policy, policy_id)
    if policy is None:
        return None
    tags, effective = _tags(session, "policy", policy_id)
    total = session.execute(linked_count(policy_id)).scalar_one()
    last = max(1, -(-total // links.per_page))
    if links.page > last:
        links = links.replace(page=last)
    rows = session.execute(linked_devices(policy_id).limit(links.per_page).offset(links.offset))
    detail = EntityDetail(
        entity=policy, tags=tags, effective=effective,
        sources=[tuple(r) for r in session.execute(sources_of("policy", policy_id))],
        revisions=list(session.execute(revisions_of("policy", policy_id)).scalars()),
        links=[tuple(r) for r in rows],
        final_version=session.get(Policy, policy.final_version_id) if policy.final_version_id else None,
    )
    return detail, total, links


@bp.get("/policies/<int:policy_id>")
def detail(policy_id: int):
    """One policy: fields, body, attachments, linked devices (paged) and why, tags, sources, history, as-of view."""
    day = asof_date()
    links = LinkPage.from_args(policy_id, request.args, day)
    loaded = load_policy_page(db(), policy_id, links)
    if loaded is None:
        abort(404)
    d, links_total, links = loaded
    state = as_of(db(), "policy", policy_id, end_of_day(day, context.state().settings.timezone)) if day else None
    return render_template("policies/detail.html", d=d, policy=d.entity, asof=state, asof_day=day,
                           today=context.today(), links=links, links_total=links_total)
