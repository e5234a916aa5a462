"""Guidance ↔ device links kept current: the link rules (tracker.classify.link_rules) applied to what is stored.

A link is derived data, a pure function of the policy (type, stage, title, tags) and of the device (effective tags,
name, catalogue code). A write therefore recomputes only the links of what it touched (`refresh_links`: touched
policies against all devices, touched devices against all guidance); `link_policies_to_devices` recomputes them all
after a rules change. Both give the same links; each stored link keeps its rule id and its reason as a code with
parameters (tracker.classify.reasons renders it in the reader's language).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import bindparam, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from tracker.classify.link_rules import (
    GUIDANCE_TYPES,
    LINK_BATCH,
    DeviceFacts,
    DeviceIndex,
    LinkRule,
    guidance_subject,
    policy_device_rule,
    policy_scope,
    software_evidence,
)
from tracker.classify.reasons import Reason
from tracker.ids import policytype
from tracker.store import tag_rule
from tracker.store.models import Device, Policy, PolicyDevice, Tag
from tracker.store.policies import not_draft
from tracker.store.write import WriteContext, chunks, insert_for

# --- reading what links depend on ---

_TAG_KEYS = (Tag.entity_id, Tag.facet, Tag.code, Tag.method, Tag.decision, Tag.active)
# The same test twice: in SQL to select every linkable policy, in Python for policies given by id.
_LINKABLE = (Policy.doc_type.in_(GUIDANCE_TYPES), not_draft(Policy.stage))
# All a policy's link rule reads of its tags (see `policy_scope`). Every write that touches a device needs the rules
# of all guidance, so reading only these rows (not every area tag of thousands of policies) keeps that cheap.
_POLICY_RULE_TAGS = or_(Tag.facet == "ai", Tag.method == tag_rule.REVIEWER)


def _is_linkable(doc_type: str | None, stage: str | None) -> bool:
    return doc_type in GUIDANCE_TYPES and not policytype.is_draft(stage)


def _tag_rows(session: Session, entity_type: str, ids: Sequence[int] | None,
              *conditions) -> dict[int, list[Mapping[str, Any]]]:
    """Tag rows (the columns tracker.store.tag_rule reads) per entity id; of every entity when `ids` is None."""
    query = select(*_TAG_KEYS).where(Tag.entity_type == entity_type, *conditions)
    out: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for batch in [None] if ids is None else chunks(ids, LINK_BATCH):
        for row in session.execute(query if batch is None else query.where(Tag.entity_id.in_(batch))).mappings():
            out[row["entity_id"]].append(row)
    return out


def _policy_rules(session: Session, policy_ids: Iterable[int] | None = None) -> dict[int, LinkRule | None]:
    """The link rule of each given policy (None: it links to nothing), or of every linkable policy when not given."""
    query = select(Policy.id, Policy.title, Policy.doc_type, Policy.stage)
    if policy_ids is None:
        rows = session.execute(query.where(*_LINKABLE)).all()
        tags = _tag_rows(session, "policy", None, _POLICY_RULE_TAGS)
    else:
        rows = [row for batch in chunks(sorted(set(policy_ids)), LINK_BATCH)
                for row in session.execute(query.where(Policy.id.in_(batch)))]
        tags = _tag_rows(session, "policy", [row.id for row in rows], _POLICY_RULE_TAGS)
    rules: dict[int, LinkRule | None] = {}
    for row in rows:
        rule = policy_device_rule(policy_scope(row.title, tags.get(row.id, ())), row.title) \
            if _is_linkable(row.doc_type, row.stage) else None
        rules[row.id] = rule and LinkRule(row.id, row.title, f"policy_link.{rule[0]}", frozenset(rule[1]),
                                          guidance_subject(row.title))
    return rules


def _device_facts(session: Session, device_ids: Iterable[int]) -> dict[int, DeviceFacts]:
    """What linking reads of each device (effective tags, software evidence), by id."""
    ids = sorted(set(device_ids))
    tags = _tag_rows(session, "device", ids)
    facts: dict[int, DeviceFacts] = {}
    for batch in chunks(ids, LINK_BATCH):
        for device_id, name, catalogue, category in session.execute(
                select(Device.id, Device.product_name, Device.catalogue_code, Device.category_code)
                .where(Device.id.in_(batch))):
            facts[device_id] = DeviceFacts(frozenset(tag_rule.effective_codes(tags[device_id])),
                                           software_evidence(name, catalogue, category))
    return facts


def _devices_with_any(session: Session, codes: set[str]) -> set[int]:
    """Devices whose effective tags may hold one of `codes` (rule tags and reviewer additions; removals are applied
    later, from each device's full tag rows)."""
    pairs = sorted(tuple(c.split(":", 1)) for c in codes)
    found: set[int] = set()
    for batch in chunks(pairs, LINK_BATCH):
        found.update(session.execute(select(Tag.entity_id).distinct().where(
            Tag.entity_type == "device", tuple_(Tag.facet, Tag.code).in_(batch), tag_rule.counts_clause(Tag),
        )).scalars())
    return found


# --- writing them ---

def _sync_links(session: Session, ctx: WriteContext, where,
                wanted: Mapping[tuple[int, int], tuple[str, Reason]]) -> int:
    """Make the stored links selected by `where` exactly `wanted`; returns the number of links added."""
    table = PolicyDevice.__table__
    existing = {(p, d): (i, r, code, params) for i, p, d, r, code, params in session.execute(
        select(table.c.id, table.c.policy_id, table.c.device_id, table.c.rule_id, table.c.reason_code,
               table.c.reason_params).where(where))}
    stale = [row[0] for key, row in existing.items() if key not in wanted]
    for batch in chunks(stale, LINK_BATCH):
        session.execute(delete(table).where(table.c.id.in_(batch)))
    changed = [{"link": existing[k][0], "new_rule": r, "new_code": why.code, "new_params": dict(why.params)}
               for k, (r, why) in wanted.items()
               if k in existing and existing[k][1:] != (r, why.code, dict(why.params))]
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("link")).values(
            rule_id=bindparam("new_rule"), reason_code=bindparam("new_code"), reason_params=bindparam("new_params")),
            changed)
    fresh = [{"policy_id": p, "device_id": d, "rule_id": r, "reason_code": why.code, "reason_params": dict(why.params),
              "created_at": ctx.now}
             for (p, d), (r, why) in sorted(wanted.items()) if (p, d) not in existing]
    if fresh:
        session.execute(insert_for(session, table).on_conflict_do_nothing(
            index_elements=["policy_id", "device_id"]), fresh)
    return len(fresh)


def _relink_policies(session: Session, ctx: WriteContext, policy_ids: Iterable[int]) -> int:
    """Recompute the links of these policies against every device; returns the number of links added."""
    rules = _policy_rules(session, policy_ids)
    live = [r for r in rules.values() if r is not None]
    codes = {c for r in live for c in r.required}
    devices = DeviceIndex(_device_facts(session, _devices_with_any(session, codes)) if codes else {})
    added = 0
    for batch in chunks(sorted(rules), LINK_BATCH):
        wanted = devices.links(rules[p] for p in batch if rules[p] is not None)
        added += _sync_links(session, ctx, PolicyDevice.policy_id.in_(batch), wanted)
    return added


def _relink_devices(session: Session, ctx: WriteContext, device_ids: Iterable[int]) -> int:
    """Recompute the links of these devices against every linkable policy; returns the number of links added."""
    rules = [r for r in _policy_rules(session).values() if r is not None]
    added = 0
    for batch in chunks(sorted(set(device_ids)), LINK_BATCH):
        wanted = DeviceIndex(_device_facts(session, batch)).links(rules) if rules else {}
        added += _sync_links(session, ctx, PolicyDevice.device_id.in_(batch), wanted)
    return added


def refresh_links(session: Session, ctx: WriteContext, *, device_ids: Iterable[int] = (),
                  policy_ids: Iterable[int] = ()) -> int:
    """Recompute the links of the devices and policies a write touched; returns the number of links added.

    Touched policies are matched against all devices and touched devices against all linkable policies; no other
    link can have changed, so the result is what `link_policies_to_devices` would give (given links that were up to
    date before the write). Cost grows with what was touched and the number of guidance documents, not the store.
    A reviewer's decision changes effective tags outside any write: call this for the entity decided on.
    """
    policy_ids, device_ids = set(policy_ids), set(device_ids)
    added = _relink_policies(session, ctx, policy_ids) if policy_ids else 0
    return added + (_relink_devices(session, ctx, device_ids) if device_ids else 0)


def link_policies_to_devices(session: Session, ctx: WriteContext) -> int:
    """Recompute every guidance ↔ device link from current tags (after a rules change); returns the links added.

    Links are derived data (their reason is stored with them), so a link whose reason no longer holds is removed,
    including every link of a policy that is no longer linkable (a draft, or no longer guidance).
    """
    return _relink_policies(session, ctx, session.execute(select(Policy.id)).scalars().all())
