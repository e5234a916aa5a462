"""Everything one device or policy page shows, loaded through the tracker.queries builders (pages and API share it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tracker import queries
from tracker.models import Device, Policy, Tag


@dataclass(frozen=True)
class TagView:
    """One tag row as shown: whether it counts now, and its evidence list (field, words, rule, version)."""

    row: Tag
    effective: bool
    removed: bool

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The stored evidence entries (dicts with field, words, rule_id, rule_version)."""
        return [e for e in (self.row.evidence or []) if isinstance(e, dict)]


@dataclass
class EntityDetail:
    """A device or policy with its tags, links, provenance and history."""

    entity: Any
    tags: list[TagView] = field(default_factory=list)
    effective: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[Any, Any]] = field(default_factory=list)
    revisions: list[Any] = field(default_factory=list)
    identifiers: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    news: list[tuple[Any, str]] = field(default_factory=list)
    links: list[tuple[Any, Any]] = field(default_factory=list)  # (policy, link) for a device; (device, link) for a policy
    final_version: Policy | None = None


def _tags(session: Session, entity_type: str, entity_id: int) -> tuple[list[TagView], list[tuple[str, str]]]:
    rows = list(session.execute(queries.tags_for(entity_type, [entity_id])).scalars())
    effective = queries.effective_by_entity(rows).get(entity_id, [])
    removed = {(t.facet, t.code) for t in rows
               if t.active and t.method == "reviewer" and t.decision == "remove"}
    views = []
    for t in rows:
        counts = t.active and (t.method == "rule" or t.decision in ("add", "confirm"))
        overruled = (t.facet, t.code) in removed
        views.append(TagView(t, counts and not overruled, overruled and t.method == "rule"))
    order = {pair: i for i, pair in enumerate(effective)}
    views.sort(key=lambda v: (not v.effective, order.get((v.row.facet, v.row.code), 999), v.row.method))
    return views, effective


def load_device(session: Session, device_id: int) -> EntityDetail | None:
    """The device page's data, or None when there is no such device."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    tags, effective = _tags(session, "device", device_id)
    return EntityDetail(
        entity=device, tags=tags, effective=effective,
        sources=[tuple(r) for r in session.execute(queries.sources_of("device", device_id))],
        revisions=list(session.execute(queries.revisions_of("device", device_id)).scalars()),
        identifiers=list(session.execute(queries.identifiers_of(device_id)).scalars()),
        events=list(session.execute(queries.events_of(device_id)).scalars()),
        news=[tuple(r) for r in session.execute(queries.news_of(device_id))],
        links=[tuple(r) for r in session.execute(queries.policies_of_device(device_id))],
    )


def load_policy(session: Session, policy_id: int) -> EntityDetail | None:
    """The policy page's data, or None when there is no such policy."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        return None
    tags, effective = _tags(session, "policy", policy_id)
    return EntityDetail(
        entity=policy, tags=tags, effective=effective,
        sources=[tuple(r) for r in session.execute(queries.sources_of("policy", policy_id))],
        revisions=list(session.execute(queries.revisions_of("policy", policy_id)).scalars()),
        links=[tuple(r) for r in session.execute(queries.devices_of_policy(policy_id))],
        final_version=session.get(Policy, policy.final_version_id) if policy.final_version_id else None,
    )
