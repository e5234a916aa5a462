"""Everything one device or policy page shows (the HTML page and its API twin share it): the entity, its tags with
evidence, DIs, notices, the certificate's timeline of events, news, linked policies or devices, source documents and revisions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tracker.classify.reasons import Reason
from tracker.read import certificates
from tracker.read import tags as read_tags
from tracker.read.links import device_count_of_policy, devices_of_policy, policies_of_device, reason_of
from tracker.store import tag_rule
from tracker.store.models import (
    ApprovalEventRow,
    Device,
    DeviceIdentifier,
    NewsDevice,
    NewsItem,
    Policy,
    RecordSource,
    Revision,
    SourceDocument,
    Tag,
)


def identifiers_of(device_id: int) -> Select:
    """The UDI-DIs of a device."""
    return select(DeviceIdentifier).where(DeviceIdentifier.device_id == device_id).order_by(DeviceIdentifier.udi_di)


def events_of(device_id: int) -> Select:
    """The approval-notice rows naming a device, newest notice first."""
    return select(ApprovalEventRow).where(ApprovalEventRow.device_id == device_id).order_by(
        ApprovalEventRow.notice_date.desc().nulls_last(), ApprovalEventRow.id.desc())


def news_of(device_id: int) -> Select:
    """(news item, why it is linked) for a device, newest first."""
    return (select(NewsItem, NewsDevice).join(NewsDevice, NewsDevice.news_id == NewsItem.id)
            .where(NewsDevice.device_id == device_id)
            .order_by(NewsItem.published_on.desc().nulls_last(), NewsItem.id.desc()))


def sources_of(entity_type: str, entity_id: int) -> Select:
    """(source document, link) pairs behind an entity, most recent fetch first."""
    return (select(SourceDocument, RecordSource).join(RecordSource, RecordSource.document_id == SourceDocument.id)
            .where(RecordSource.entity_type == entity_type, RecordSource.entity_id == entity_id)
            .order_by(SourceDocument.fetched_at.desc(), SourceDocument.id.desc()))


def revisions_of(entity_type: str, entity_id: int) -> Select:
    """Every revision of an entity, newest first."""
    return select(Revision).where(Revision.entity_type == entity_type, Revision.entity_id == entity_id).order_by(
        Revision.changed_at.desc(), Revision.id.desc())


@dataclass(frozen=True)
class TagView:
    """One tag row as shown: whether it counts now, and its evidence list (field, words, rule, version)."""

    row: Tag
    effective: bool
    removed: bool

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The stored evidence entries (dicts with field, words, rule_id, rule_version; a reviewer's row keeps the
        rule tag it overruled instead)."""
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
    timeline: list[Any] = field(default_factory=list)  # certificate events, oldest first (devices only)
    news: list[tuple[Any, Reason]] = field(default_factory=list)
    # (policy, link) pairs for a device (all of them); (device, link) pairs for a policy (page `links_page` of
    # `links_total` links: a general AI guidance is linked to thousands of devices)
    links: list[tuple[Any, Any]] = field(default_factory=list)
    links_total: int = 0
    links_page: int = 1
    final_version: Policy | None = None


def tag_views(session: Session, entity_type: str, entity_id: int) -> tuple[list[TagView], list[tuple[str, str]]]:
    """Every tag row of an entity as a view (counts or not, overruled or not), and its effective tags in order."""
    rows = list(session.execute(read_tags.tags_for(entity_type, [entity_id])).scalars())
    effective = read_tags.effective_by_entity(rows).get(entity_id, [])
    removed = tag_rule.removed_pairs(rows)
    views = []
    for t in rows:
        overruled = tag_rule.pair(t) in removed
        views.append(TagView(t, tag_rule.counts(t) and not overruled, overruled and t.method == tag_rule.RULE))
    order = {pair: i for i, pair in enumerate(effective)}
    views.sort(key=lambda v: (not v.effective, order.get((v.row.facet, v.row.code), 999), v.row.method))
    return views, effective


def load_device(session: Session, device_id: int) -> EntityDetail | None:
    """The device page's data, or None when there is no such device."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    tags, effective = tag_views(session, "device", device_id)
    return EntityDetail(
        entity=device, tags=tags, effective=effective,
        sources=[tuple(r) for r in session.execute(sources_of("device", device_id))],
        revisions=list(session.execute(revisions_of("device", device_id)).scalars()),
        identifiers=list(session.execute(identifiers_of(device_id)).scalars()),
        events=list(session.execute(events_of(device_id)).scalars()),
        timeline=list(session.execute(certificates.timeline(device_id)).scalars()),
        news=[(item, reason_of(link)) for item, link in session.execute(news_of(device_id))],
        links=[tuple(r) for r in session.execute(policies_of_device(device_id))],
    )


def load_policy(session: Session, policy_id: int, *, links_page: int = 1, links_per_page: int = 50
                ) -> EntityDetail | None:
    """The policy page's data with one page of its linked devices and their total (a page past the end gives the
    last one), or None when there is no such policy."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        return None
    tags, effective = tag_views(session, "policy", policy_id)
    total = session.execute(device_count_of_policy(policy_id)).scalar_one()
    page = max(1, min(links_page, -(-total // links_per_page)))
    rows = session.execute(devices_of_policy(policy_id).limit(links_per_page).offset((page - 1) * links_per_page))
    return EntityDetail(
        entity=policy, tags=tags, effective=effective,
        sources=[tuple(r) for r in session.execute(sources_of("policy", policy_id))],
        revisions=list(session.execute(revisions_of("policy", policy_id)).scalars()),
        links=[tuple(r) for r in rows], links_total=total, links_page=page,
        final_version=session.get(Policy, policy.final_version_id) if policy.final_version_id else None,
    )
