"""Guidance ↔ device link rules: which devices a guidance document concerns, and the reason why (pure: no database).

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
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from tracker.classify import classifier, reasons
from tracker.ids import docno
from tracker.store import tag_rule

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
    # The classifier's own rules read 磁共振兼容 (MR conditional) as a property of an implant, not as MR imaging, so a
    # pacemaker guidance is no MR guidance.
    result = classifier.classify_device(name=docno.core_title(title))
    return frozenset(f"{t.facet}:{t.code}" for t in result.tags if t.facet in SPECIFIC_FACETS)


@functools.lru_cache(maxsize=32768)
def guidance_subject(title: str) -> Subject:
    """Whether a guidance title is about software, about equipment (hardware, implants, consumables) or does not say."""
    text = classifier.normalize(docno.core_title(title))
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
    fields = {"name": classifier.normalize(name), "catalogue_code": classifier.normalize(catalogue_code),
              "category": classifier.normalize(category)}
    # Reused rather than restated, so the two cannot drift apart.
    return classifier.conditions(fields, None).get("software", ())


def names_devices(title: str) -> bool:
    """Whether a policy's title is about medical devices (医疗器械, 医用软件 …), not about AI or health care at large."""
    text = classifier.normalize(docno.core_title(title))
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
    decided = tag_rule.reviewer_decisions(rows)
    scope = {c for c in scope_codes(title) if decided.get(c) != tag_rule.REMOVE}
    scope |= {c for c, d in decided.items() if d in tag_rule.KEEP_DECISIONS and c.split(":")[0] in SPECIFIC_FACETS}
    if "ai:ai" in tag_rule.effective_codes(rows):
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


def _kind_agreement(subject: Subject, device: DeviceFacts) -> tuple[str, dict[str, Any]] | None:
    """Why the kind of product a guidance is about fits the device, as a reason code and its extra parameters
    (LINK_SCOPE when its title names no kind), or None when it does not fit.

    Software guidance concerns software and AI devices (an AI scanner's AI is a software component); equipment
    guidance concerns devices that are not software, however many tags they share with it.
    """
    if subject.kind is None:
        return reasons.LINK_SCOPE, {}
    words = {"words": list(subject.words)}
    if subject.kind == "equipment":
        return None if device.software else (reasons.LINK_EQUIPMENT, words)
    if device.software:
        return reasons.LINK_SOFTWARE, {**words, "software": [list(pair) for pair in device.software]}
    return (reasons.LINK_AI, words) if "ai:ai" in device.codes else None


def link_reason(rule: LinkRule, device: DeviceFacts) -> reasons.Reason | None:
    """Why `rule`'s policy concerns `device` (a reason code with the matched tags, the guidance's title and what
    made the kinds agree), or None when it does not."""
    matched = _matches(rule.required, device.codes)
    agreement = _kind_agreement(rule.subject, device) if matched else None
    if agreement is None:
        return None
    code, extra = agreement
    return reasons.Reason(code, {"tags": matched, "title": rule.title, **extra})


class DeviceIndex:
    """Devices' facts, indexed by tag code: a rule is only tried on devices sharing at least one code with it (every
    facet group of a rule needs a hit among its own codes)."""

    def __init__(self, facts: Mapping[int, DeviceFacts]) -> None:
        self.facts = facts
        self.by_code: dict[str, list[int]] = {}
        for device_id, device in facts.items():
            for code in device.codes:
                self.by_code.setdefault(code, []).append(device_id)

    def links(self, rules: Iterable[LinkRule]) -> dict[tuple[int, int], tuple[str, reasons.Reason]]:
        """(policy id, device id) → (rule id, reason) for every link the rules call for among these devices."""
        wanted: dict[tuple[int, int], tuple[str, reasons.Reason]] = {}
        for rule in rules:
            for device_id in {d for code in rule.required for d in self.by_code.get(code, ())}:
                reason = link_reason(rule, self.facts[device_id])
                if reason is not None:
                    wanted[(rule.policy_id, device_id)] = (rule.rule_id, reason)
        return wanted
