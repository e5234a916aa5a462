"""Route parsed records to their store writers, then classify what was new or changed.

The runs layer hands every page's records here inside the page's transaction; records of different kinds may come
mixed in one stream, so they are buffered per kind and flushed in batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.classify import classifier
from tracker.classify.links import link_policies_to_devices, refresh_links
from tracker.records import ApprovalEvent, DeviceRecord, NewsRecord, PolicyRecord, Record
from tracker.store.devices import DeviceWrite, link_news_to_devices, upsert_approval_events, upsert_devices, upsert_news
from tracker.store.models import Device, Policy
from tracker.store.policies import upsert_policies
from tracker.store.tags import apply_classifications
from tracker.store.write import WriteContext

BATCH = 2000


@dataclass
class WriteSummary:
    """What storing one page did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0


def write_records(session: Session, records: Iterable[Record], ctx: WriteContext) -> WriteSummary:
    """Store records of any kind and classify the devices and policies they created or changed."""
    summary = WriteSummary()
    buffers: dict[type, list] = {DeviceRecord: [], ApprovalEvent: [], NewsRecord: [], PolicyRecord: []}
    touched_devices: set[int] = set()
    touched_policies: set[int] = set()

    def flush(kind: type) -> None:
        items, buffers[kind] = buffers[kind], []
        if not items:
            return
        if kind is DeviceRecord or kind is ApprovalEvent:
            result: DeviceWrite = (upsert_devices if kind is DeviceRecord else upsert_approval_events)(
                session, items, ctx)
            touched_devices.update(result.touched_ids)
        elif kind is NewsRecord:
            result = upsert_news(session, items, ctx)
        else:
            result = upsert_policies(session, items, ctx)
            touched_policies.update(result.touched_ids)
        summary.new += result.new
        summary.changed += result.changed
        summary.unchanged += result.unchanged

    for record in records:
        kind = type(record)
        if kind not in buffers:
            raise TypeError(f"a scraper yielded {kind.__name__}, which the store does not know")
        buffers[kind].append(record)
        if len(buffers[kind]) >= BATCH:
            flush(kind)
    for kind in list(buffers):
        flush(kind)

    classify_devices(session, touched_devices, ctx)
    classify_policies(session, touched_policies, ctx)
    if touched_devices or touched_policies:
        refresh_links(session, ctx, device_ids=touched_devices, policy_ids=touched_policies)
    if touched_devices:
        link_news_to_devices(session)
    return summary


def classify_devices(session: Session, ids: Iterable[int], ctx: WriteContext) -> int:
    """Classify devices by id and store their tags; returns how many changed tags."""
    changed = 0
    ids = sorted(ids)
    columns = (Device.id, Device.product_name, Device.description, Device.catalogue_code, Device.mgmt_class,
               Device.category_code)
    for start in range(0, len(ids), 500):
        results = {
            row.id: classifier.classify_device(
                name=row.product_name, description=row.description, catalogue_code=row.catalogue_code,
                mgmt_class=row.mgmt_class, category=row.category_code,
            ).rule_tags()
            for row in session.execute(select(*columns).where(Device.id.in_(ids[start:start + 500])))
        }
        changed += apply_classifications(session, "device", results, ctx)
    return changed


def classify_policies(session: Session, ids: Iterable[int], ctx: WriteContext) -> int:
    """Classify policies by id and store their tags; returns how many changed tags."""
    results = {
        policy.id: classifier.classify_policy(
            title=policy.title, body=policy.body or policy.summary, issuer=policy.issuer, doc_no=policy.doc_no,
        ).rule_tags()
        for policy in session.execute(select(Policy).where(Policy.id.in_(sorted(ids)))).scalars()
    }
    return apply_classifications(session, "policy", results, ctx)


def reclassify_all(session: Session, ctx: WriteContext) -> tuple[int, int]:
    """Classify every device and policy again (after a rules change); returns (devices, policies) whose tags changed.

    Reviewer decisions are untouched: the classifier only ever writes rule tags.
    """
    device_ids = list(session.execute(select(Device.id)).scalars())
    policy_ids = list(session.execute(select(Policy.id)).scalars())
    changed = classify_devices(session, device_ids, ctx), classify_policies(session, policy_ids, ctx)
    link_policies_to_devices(session, ctx)
    return changed
