"""Guidance ↔ device links: which devices a guidance document concerns, and the stored reason why.

A link is derived data, a pure function of the policy (type, stage, title, tags) and of the device (effective tags,
name, catalogue code). A write therefore recomputes only the links of what it touched (`refresh_links`: touched
policies against all devices, touched devices against all guidance); `link_policies_to_devices` recomputes them all
after a rules change. Both give the same links.

Which devices a guidance concerns (`LinkRule`):
- its scope, read from its core title the way a product name is read (`scope_codes`: 肺结节CT图像辅助检测软件 → CT,
  detection, 肺结节), as a reviewer corrected it; a device must carry all its diseases, one of its imaging areas
  and one of its functions (`_matches`). An AI guidance naming none of these concerns every AI device, if its title
  is about devices (`names_devices`).
- the kind of product its title names (`guidance_subject`): guidance about software (软件, 人工智能, 深度学习, 算法)
  concerns software and AI devices; guidance about equipment (设备, 系统, 植入, 起搏器, 耗材 …) concerns devices that
  are not software, so a CT scanner guidance is not linked to CT AI software merely because both say CT. A title
  naming neither is matched on tags alone. Software is what the classifier calls software (`software_evidence`).
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Select, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session, load_only

from tracker.classify import classifier as classify
from tracker.ids import docno
from tracker.store.models import Device, Policy, PolicyDevice, Tag
from tracker.store.write import WriteContext, chunks, insert_for
from tracker.store.tags import effective_from_rows

GUIDANCE_TYPES = ("指导原则", "审评要点", "规范性文件", "公告通告", "部门规章")
SPECIFIC_FACETS = ("disease", "area", "function")
# A title with one of these is about medical devices (a general AI rule then concerns every AI device).
DEVICE_WORDS = ("器械", "医用软件", "医疗软件", "软件产品")
LINK_BATCH = 500

# What kind of product a guidance title is about. Software words are checked first: a title naming 软件 is about the
# software even when it names the system it runs in (超声软件系统), and 人工智能 guidance is about AI software.
SOFTWARE_SUBJECT = ("软件", "人工智能", "深度学习", "机器学习", "算法")
EQUIPMENT_SUBJECT = ("设备", "系统", "仪", "机器人", "相机", "内窥镜", "植入", "起搏器", "假体", "支架", "导管", "耗材",
                     "试剂")
# Products named 系统 that the classification catalogue files as software (category 21), so 系统 says nothing there.
NOT_EQUIPMENT = ("软件系统", "信息系统", "计划系统")
# "磁共振兼容" (MR conditional) says an implant is safe inside an MR scanner: a property of the implant, not the
# imaging modality, so it is not read as the scope (a pacemaker guidance is no MR guidance).
_MODALITY_PROPERTY = re.compile(r"(?:核磁共振|磁共振|核磁|mri|mr)(?:兼容|条件安全)")


@dataclass(frozen=True)
class Subject:
    """The kind of product a guidance title names ("software", "equipment" or None) and the words that say so."""

    kind: str | None
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkRule:
    """Which devices one policy concerns: devices matching `required` (see `_matches`) of a kind fitting `subject`."""

    policy_id: int
    title: str
    rule_id: str
    required: frozenset[str]
    subject: Subject


@dataclass(frozen=True)
class DeviceFacts:
    """What linking reads of a device: its effective tags and why it is software (empty for hardware)."""

    codes: frozenset[str]
    software: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=32768)
def scope_codes(title: str) -> frozenset[str]:
    """The device tags a guidance title names, read the way a product name is read.

    A guidance is named after the products it covers (肺结节CT图像辅助检测软件注册审查指导原则 covers CT, detection,
    肺结节), so the device classifier reads its core title. Cached: a pure function of the title, and every write
    that touches a device needs the rules of all guidance.
    """
    name = _MODALITY_PROPERTY.sub(" ", classify.normalize(docno.core_title(title)))
    result = classify.classify_device(name=name)
    return frozenset(f"{t.facet}:{t.code}" for t in result.tags if t.facet in SPECIFIC_FACETS)


@functools.lru_cache(maxsize=32768)
def guidance_subject(title: str) -> Subject:
    """Whether a guidance title is about software, about equipment (hardware, implants, consumables) or does not say."""
    text = classify.normalize(docno.core_title(title))
    software = tuple(w for w in SOFTWARE_SUBJECT if w in text)
    if software:
        return Subject("software", software)
    for phrase in NOT_EQUIPMENT:
        text = text.replace(phrase, " ")
    equipment = tuple(w for w in EQUIPMENT_SUBJECT if w in text)
    return Subject("equipment", equipment) if equipment else Subject(None)


def software_evidence(name: str | None, catalogue_code: str | None, category: str | None) -> tuple[tuple[str, str], ...]:
    """(field, word) pairs that make a device software; empty for hardware.

    This is the classifier's own "software" condition (name or category says 软件, or catalogue category 21, 医用软件),
    so the AI rules and the linker agree on what software is.
    """
    fields = {"name": classify.normalize(name), "catalogue_code": classify.normalize(catalogue_code),
              "category": classify.normalize(category)}
    # Reused rather than restated, so the two cannot drift apart.
    return classify.conditions(fields, None).get("software", ())


def names_devices(title: str) -> bool:
    """Whether a policy's title is about medical devices (医疗器械, 医用软件 …), not about AI or health care at large."""
    text = classify.normalize(docno.core_title(title))
    return any(word in text for word in DEVICE_WORDS)


def policy_device_rule(policy_codes: set[str], title: str) -> tuple[str, set[str]] | None:
    """Which link rule a policy's scope calls for: ("specific", the device tags required) or ("ai_general", {"ai:ai"}).

    A guidance naming a disease, modality or function concerns devices carrying all of the diseases it names, one of
    its imaging areas (if any) and one of its functions (if any); an AI guidance naming none concerns every AI
    device, when its title is about devices: a normative document on AI in hospitals or in health care at large
    (智慧医院, 互联网+医疗健康, 应用场景参考指引) mentions AI without concerning any one certificate.
    """
    specific = {c for c in policy_codes if c.split(":")[0] in SPECIFIC_FACETS}
    if specific - {c for c in specific if c.startswith("area:") and "." not in c}:
        return "specific", specific
    if "ai:ai" in policy_codes and names_devices(title):
        return "ai_general", {"ai:ai"}
    return None


def policy_scope(title: str, tag_rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """The codes a policy's link rule is built from: its title's scope as a reviewer corrected it, plus "ai:ai" when
    the policy's effective tags say it is about AI.

    The policy's own area tags are not used: those read from the title are the title's scope again, minus the
    masking `scope_codes` does, and those read from the body are incidental (an AI guidance that mentions CT in
    passing is not a CT guidance). A reviewer's decision on a policy's tag does count.
    """
    rows = list(tag_rows)
    if not rows:  # most guidance: no AI tag, no decision (and this runs for all guidance on every device write)
        return set(scope_codes(title))
    decided = {f"{r['facet']}:{r['code']}": r["decision"] for r in rows if r["method"] == "reviewer" and r["active"]}
    scope = {c for c in scope_codes(title) if decided.get(c) != "remove"}
    scope |= {c for c, d in decided.items() if d in ("add", "confirm") and c.split(":")[0] in SPECIFIC_FACETS}
    if "ai:ai" in effective_from_rows(rows):
        scope.add("ai:ai")
    return scope


def _matches(required: set[str] | frozenset[str], device: frozenset[str]) -> list[str]:
    """The device codes that satisfy `required`, facet by facet (all diseases, one sub-area, one function), or []."""
    groups: dict[str, set[str]] = {}
    for code in required:
        groups.setdefault(code.split(":")[0], set()).add(code)
    matched: list[str] = []
    for facet, codes in groups.items():
        if facet == "area":
            codes = {c for c in codes if "." in c} or codes  # a sub-area is the precise statement
        hits = codes & device if facet != "disease" else (codes if codes <= device else set())
        if not hits:
            return []
        matched += sorted(hits)
    return matched


def _kind_agreement(subject: Subject, device: DeviceFacts) -> str | None:
    """Why the kind of product a guidance is about fits the device ("" when its title names no kind), or None.

    Software guidance concerns software and AI devices (an AI scanner's AI is a software component); equipment
    guidance concerns devices that are not software, however many tags they share with it.
    """
    if subject.kind is None:
        return ""
    words = "、".join(subject.words)
    if subject.kind == "equipment":
        return None if device.software else f"; guidance about equipment ({words}), device not software"
    if device.software:
        return f"; guidance about software ({words}), device is software (" + ", ".join(
            f"{f}: {w}" for f, w in device.software) + ")"
    return f"; guidance about software ({words}), device is AI" if "ai:ai" in device.codes else None


def link_reason(rule: LinkRule, device: DeviceFacts) -> str | None:
    """The stored reason why `rule`'s policy concerns `device`, or None when it does not."""
    matched = _matches(rule.required, device.codes)
    agreement = _kind_agreement(rule.subject, device) if matched else None
    if agreement is None:
        return None
    return "device tags " + ", ".join(matched) + f" match the scope of 《{rule.title}》" + agreement


class _DeviceIndex:
    """Devices' facts, indexed by tag code: a rule is only tried on devices sharing at least one code with it (every
    facet group of a rule needs a hit among its own codes)."""

    def __init__(self, facts: Mapping[int, DeviceFacts]) -> None:
        self.facts = facts
        self.by_code: dict[str, list[int]] = {}
        for device_id, device in facts.items():
            for code in device.codes:
                self.by_code.setdefault(code, []).append(device_id)

    def links(self, rules: Iterable[LinkRule]) -> dict[tuple[int, int], tuple[str, str]]:
        """(policy id, device id) → (rule id, reason) for every link the rules call for among these devices."""
        wanted: dict[tuple[int, int], tuple[str, str]] = {}
        for rule in rules:
            for device_id in {d for code in rule.required for d in self.by_code.get(code, ())}:
                reason = link_reason(rule, self.facts[device_id])
                if reason is not None:
                    wanted[(rule.policy_id, device_id)] = (rule.rule_id, reason)
        return wanted


# --- reading what links depend on ---

_TAG_KEYS = (Tag.entity_id, Tag.facet, Tag.code, Tag.method, Tag.decision, Tag.active)
# The same test twice: in SQL to select every linkable policy, in Python for policies given by id.
_LINKABLE = (Policy.doc_type.in_(GUIDANCE_TYPES), or_(Policy.stage.is_(None), Policy.stage != "draft"))
# All a policy's link rule reads of its tags (see `policy_scope`). Every write that touches a device needs the rules
# of all guidance, so reading only these rows (not every area tag of thousands of policies) keeps that cheap.
_POLICY_RULE_TAGS = or_(Tag.facet == "ai", Tag.method == "reviewer")


def _is_linkable(doc_type: str | None, stage: str | None) -> bool:
    return doc_type in GUIDANCE_TYPES and stage != "draft"


def _tag_rows(session: Session, entity_type: str, ids: Sequence[int] | None,
              *conditions) -> dict[int, list[Mapping[str, Any]]]:
    """Tag rows (the columns `effective_from_rows` reads) per entity id; of every entity when `ids` is None."""
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
            facts[device_id] = DeviceFacts(frozenset(effective_from_rows(tags[device_id])),
                                           software_evidence(name, catalogue, category))
    return facts


def _devices_with_any(session: Session, codes: set[str]) -> set[int]:
    """Devices whose effective tags may hold one of `codes` (rule tags and reviewer additions; removals are applied
    later, from each device's full tag rows)."""
    pairs = sorted(tuple(c.split(":", 1)) for c in codes)
    found: set[int] = set()
    for batch in chunks(pairs, LINK_BATCH):
        found.update(session.execute(select(Tag.entity_id).distinct().where(
            Tag.entity_type == "device", Tag.active.is_(True), tuple_(Tag.facet, Tag.code).in_(batch),
            or_(Tag.method == "rule", Tag.decision.in_(("add", "confirm")))
        )).scalars())
    return found


# --- writing them ---

def _sync_links(session: Session, ctx: WriteContext, where, wanted: Mapping[tuple[int, int], tuple[str, str]]) -> int:
    """Make the stored links selected by `where` exactly `wanted`; returns the number of links added."""
    table = PolicyDevice.__table__
    existing = {(p, d): (i, r, why) for i, p, d, r, why in session.execute(
        select(table.c.id, table.c.policy_id, table.c.device_id, table.c.rule_id, table.c.reason).where(where))}
    stale = [i for key, (i, _, _) in existing.items() if key not in wanted]
    for batch in chunks(stale, LINK_BATCH):
        session.execute(delete(table).where(table.c.id.in_(batch)))
    changed = [{"link": existing[k][0], "new_rule": r, "new_reason": why}
               for k, (r, why) in wanted.items() if k in existing and existing[k][1:] != (r, why)]
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("link")).values(
            rule_id=bindparam("new_rule"), reason=bindparam("new_reason")), changed)
    fresh = [{"policy_id": p, "device_id": d, "rule_id": r, "reason": why, "created_at": ctx.now}
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
    devices = _DeviceIndex(_device_facts(session, _devices_with_any(session, codes)) if codes else {})
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
        wanted = _DeviceIndex(_device_facts(session, batch)).links(rules) if rules else {}
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


# --- reading the links (the web pages and the API, both ways) ---

def policies_of_device(device_id: int) -> Select:
    """(policy, link) pairs: the policies linked to a device and the stored reason.

    Only the policy fields a link shows are read: an AI device is linked to every general AI guidance (dozens to
    hundreds of policies), and each policy's full text can run to tens of kilobytes.
    """
    return (select(Policy, PolicyDevice).join(PolicyDevice, PolicyDevice.policy_id == Policy.id)
            .where(PolicyDevice.device_id == device_id)
            .options(load_only(Policy.id, Policy.title, Policy.issuer, Policy.published_on, Policy.is_sample,
                               raiseload=True))
            .order_by(Policy.published_on.desc().nulls_last(), Policy.id))


def devices_of_policy(policy_id: int) -> Select:
    """(device, link) pairs: the devices a policy is linked to and why, by product name, reading only what a row of
    the list shows (a general AI guidance is linked to every AI device: thousands, so callers page it)."""
    return (select(Device, PolicyDevice).join(PolicyDevice, PolicyDevice.device_id == Device.id)
            .where(PolicyDevice.policy_id == policy_id)
            .options(load_only(Device.id, Device.cert_no, Device.product_name, Device.registrant, Device.is_sample,
                               raiseload=True),
                     load_only(PolicyDevice.id, PolicyDevice.rule_id, PolicyDevice.reason, raiseload=True))
            .order_by(Device.product_name, Device.id))


def device_count_of_policy(policy_id: int) -> Select:
    """How many devices a policy is linked to (the unique (policy_id, device_id) index answers it)."""
    return select(func.count()).select_from(PolicyDevice).where(PolicyDevice.policy_id == policy_id)
