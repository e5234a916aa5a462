"""The read-only JSON API, versioned under /api/v1/: devices, policies, tags, runs, and its OpenAPI document.

Lists take exactly the URL arguments of the HTML lists (tracker.read.lists filters) and answer with the items, the
paging state, the filter as understood (unknown or malformed arguments are dropped, so a client can see what was
applied) and the next/previous page URLs.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, url_for

from tracker.classify import taxonomy
from tracker.classify.reasons import evidence_reason
from tracker.read import filters, pages, stats
from tracker.read.asof import as_of, end_of_day
from tracker.read.detail import EntityDetail, load_device, load_policy
from tracker.read.health import RUN_OUTCOMES
from tracker.read.links import reason_of
from web import context, pagecache, params
from web.context import db
from web.openapi import openapi_document
from web.serialize import device_dict, plain, policy_dict, run_dict

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _page_links(endpoint: str, f, total: int) -> dict[str, str | None]:
    last = filters.last_page(total, f.per_page)
    return {
        "next": url_for(endpoint, **f.replace(page=f.page + 1).to_args()) if f.page < last else None,
        "prev": url_for(endpoint, **f.replace(page=f.page - 1).to_args()) if f.page > 1 else None,
    }


def _listing(kind: str):
    f = params.list_filter(filters.DeviceFilter if kind == "devices" else filters.PolicyFilter)
    to_dict = device_dict if kind == "devices" else policy_dict
    listed = pages.list_page(db(), f)
    params.check_page(f.page, listed.total, f.per_page)
    return jsonify({
        "items": [to_dict(r, listed.codes(r.id)) for r in listed.rows], "total": listed.total, "page": f.page,
        "per_page": f.per_page, "filter": f.to_args(), **_page_links(f"api.{kind}", f, listed.total),
    })


def _detail_extras(d: EntityDetail) -> dict[str, Any]:
    return {
        "tag_details": [
            {"facet": t.row.facet, "code": t.row.code, "method": t.row.method, "decision": t.row.decision,
             "active": t.row.active, "effective": t.effective, "confidence": t.row.confidence,
             "rule_ids": t.row.rule_ids, "rule_version": t.row.rule_version,
             "taxonomy_version": t.row.taxonomy_version,
             "evidence": [{**e, "text": evidence_reason(e).texts()} if "field" in e else e for e in t.evidence],
             "reason": t.row.reason}
            for t in d.tags
        ],
        "sources": [
            {"id": doc.id, "source": doc.source, "url": doc.url, "fetched_at": plain(doc.fetched_at),
             "http_status": doc.http_status, "sha256": doc.sha256, "content_type": doc.content_type,
             "raw_url": url_for("sources.raw", document_id=doc.id) if doc.warc_path else None}
            for doc, _link in d.sources
        ],
        "revisions": [
            {"field": r.field, "old_value": r.old_value, "new_value": r.new_value,
             "changed_at": plain(r.changed_at), "run_id": r.run_id, "actor": r.actor}
            for r in d.revisions
        ],
    }


def _as_of(entity_type: str, entity_id: int, day) -> dict[str, Any] | None:
    if day is None:
        return None
    state = as_of(db(), entity_type, entity_id, end_of_day(day, context.state().settings.timezone))
    return {"date": day.isoformat(), "existed": state.existed, "fields": state.fields,
            "identifiers": state.identifiers, "tags": state.tags}


@bp.get("/")
def root():
    """Links to every collection and to the OpenAPI document."""
    return jsonify({"version": "v1", "openapi": url_for("api.openapi"), "collections": {
        name: url_for(f"api.{name}") for name in ("devices", "policies", "tags", "runs")}})


@bp.get("/devices")
@pagecache.cached
def devices():
    """Devices with the approvals list's filters and paging."""
    return _listing("devices")


@bp.get("/devices/<id:device_id>")
def device(device_id: int):
    """One device with DIs, notices, news, tags with evidence, policies, sources and history (`?asof=` too)."""
    day = params.asof()
    d = load_device(db(), device_id)
    if d is None:
        abort(404)
    body = device_dict(d.entity, [f"{f}:{c}" for f, c in d.effective])
    body.update(
        identifiers=[i.udi_di for i in d.identifiers],
        events=[{"notice_url": e.notice_url, "notice_date": plain(e.notice_date), "issued_on": plain(e.issued_on),
                 "acceptance_no": e.acceptance_no, "is_correction": e.is_correction, "raw_row": e.raw_row}
                for e in d.events],
        timeline=[{"kind": e.kind, "date": plain(e.event_date), "source": e.source, "source_url": e.source_url,
                   "changes": e.changes, "detail": e.detail} for e in d.timeline],
        news=[{"title": n.title, "url": n.url, "published_on": plain(n.published_on), "reason": reason.to_json()}
              for n, reason in d.news],
        policies=[{"id": p.id, "title": p.title, "rule_id": link.rule_id, "reason": reason_of(link).to_json()}
                  for p, link in d.links],
        **_detail_extras(d), as_of=_as_of("device", device_id, day),
    )
    return jsonify(body)


@bp.get("/policies")
def policies():
    """Policies with the policies list's filters and paging."""
    return _listing("policies")


@bp.get("/policies/<id:policy_id>")
def policy(policy_id: int):
    """One policy with body, attachments, linked devices and why (`devices_page`, `devices_per_page`: a general AI
    guidance is linked to thousands), tags with evidence, sources and history."""
    day, paging = params.read(lambda a: (a.date("asof"), a.paging(names=("devices_page", "devices_per_page"))))
    per_page = paging["per_page"]
    d = load_policy(db(), policy_id, links_page=paging["page"], links_per_page=per_page)
    if d is None:
        abort(404)
    params.check_page(paging["page"], d.links_total, per_page)
    body = policy_dict(d.entity, [f"{f}:{c}" for f, c in d.effective], body=True)
    body.update(
        devices=[{"id": dev.id, "cert_no": dev.cert_no, "product_name": dev.product_name, "rule_id": link.rule_id,
                  "reason": reason_of(link).to_json()} for dev, link in d.links],
        devices_total=d.links_total, devices_page=d.links_page, devices_per_page=per_page,
        **_detail_extras(d), as_of=_as_of("policy", policy_id, day),
    )
    return jsonify(body)


@bp.get("/tags")
def tags():
    """The taxonomy nodes (optionally of one `facet`) with the number of devices and policies carrying each."""
    facet = params.read(lambda a: a.choice("facet", taxonomy.FACETS))
    counts = stats.taxonomy_counts(db())
    nodes = taxonomy.nodes(facet) if facet else taxonomy.all_nodes()
    return jsonify({"taxonomy_version": taxonomy.TAXONOMY_VERSION, "items": [
        {"code": n.code, "facet": n.facet, "parent": n.parent, "zh": n.zh, "en": n.en, "reports": list(n.reports),
         "devices": counts["device"].get(n.code, 0), "policies": counts["policy"].get(n.code, 0)}
        for n in nodes
    ]})


@bp.get("/runs")
def runs():
    """Scrape runs, newest first, optionally of one `source` and `outcome`, paged."""
    source, outcome, paging = params.read(lambda a: (a.text("source", filters.MAX_SOURCE_CHARS),
                                                      a.choice("outcome", RUN_OUTCOMES), a.paging()))
    page, per_page = paging["page"], paging["per_page"]
    rows, total = pages.runs_page(db(), source, outcome, page, per_page)
    params.check_page(page, total, per_page)
    return jsonify({"items": [run_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page})


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document(url_for("api.root")))
