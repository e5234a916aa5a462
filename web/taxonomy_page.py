"""The taxonomy page: the tree and facets of TAXONOMY.md with counts, each node linking to its filtered lists and
naming the reports it comes from."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for

from tracker.classify import taxonomy
from tracker.read import stats
from web.context import db

bp = Blueprint("taxonomy", __name__)

DEVICE_FACETS = ("area", "function", "signal", "site", "disease")
POLICY_FACETS = ("policy_type", "issuer", "stage", "scenario")
# The filter argument each facet uses in the lists (see tracker.read.lists.DeviceFilter / PolicyFilter).
POLICY_ARG = {"area": "area", "policy_type": "type", "issuer": "issuer", "stage": "stage", "scenario": "scenario"}


def device_link(node: taxonomy.Node) -> str | None:
    """The approvals list filtered to this node (None for facets that only describe policies)."""
    if node.facet == "area":
        return url_for("devices.index", **{"sub" if node.parent else "area": node.code})
    if node.facet in DEVICE_FACETS:
        return url_for("devices.index", **{node.facet: node.code})
    return None


def policy_link(node: taxonomy.Node) -> str | None:
    """The policies list filtered to this node (None for facets policies are not filtered by)."""
    arg = POLICY_ARG.get(node.facet)
    return url_for("policies.index", **{arg: node.code}) if arg else None


@bp.get("/taxonomy")
def index():
    """The whole taxonomy with device and policy counts per node."""
    counts = stats.taxonomy_counts(db())
    areas = [(node, [child for child in taxonomy.children(node.code)])
             for node in taxonomy.nodes("area") if not node.parent]
    return render_template(
        "taxonomy/index.html", counts=counts, areas=areas,
        device_facets=[(f, taxonomy.nodes(f)) for f in DEVICE_FACETS if f != "area"],
        policy_facets=[(f, taxonomy.nodes(f)) for f in POLICY_FACETS],
        device_link=device_link, policy_link=policy_link, version=taxonomy.TAXONOMY_VERSION,
        crowded=taxonomy.CROWDED_DISEASES, open_diseases=taxonomy.OPEN_DISEASES,
    )
