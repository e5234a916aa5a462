"""Rule-based, versioned classification of devices and policies against the taxonomy, with evidence for every tag.

The rules are data (tracker.classify.rules). Each tag keeps the evidence that made it: which rule, which words, in
which field, under which rules version, so a reviewer can defend or overturn it. Confidence is the strongest
evidence: a rule's confidence times the weight of the field it matched in.

Decisions worth knowing:
- AI: `ai_confidence` is how sure the rules are that the entity is AI; `is_ai` is ``ai_confidence >= 0.5``. AI is
  decided on evidence of machine learning: a named technique (深度学习, 人工智能), an assistance function (辅助诊断,
  辅助检测 …) or 智能 in a software name. A name such as 心电分析软件 or 冠脉血流储备分数计算软件 (分析 / 计算 alone, which
  rule-based software says as often) scores 0.4: not AI, but inside the reviewer queue's range (0.3 <= c <= 0.8).
  Plain image handling (影像处理软件, PACS) and genetic, chromosome, planning and dose software cap name-only evidence
  at 0.3 unless the text names a technique.
- Negative rules ("block") drop a tag whatever found it: an implant, a pacemaker or an MR-conditional product
  (磁共振兼容 / 磁共振条件安全) has no MR modality; ECG/EEG signals support decisions only through software, so an ECG
  machine or a monitor gets no clinical decision support.
- Facet tags (area, function, site, ...) are given whether or not the entity is AI: they describe the product, and
  a reviewer who flips the AI decision keeps them. A syringe matches none.
- Areas: a sub-area (medical_imaging.ct) replaces its parent (medical_imaging); consumers derive the parent from
  the code prefix or `taxonomy.get(code).parent`.
- Diseases are tagged only when named; a modality or site never implies one.
- Policy stage is single-valued (draft > repealed > revised > issued); `in_force` needs dates, which no rule sees.
  Issuers come from the issuer field, the document-number prefix (国发, 国办发, 国卫…) and the words before 关于 in
  a title ("国家药监局关于…"); that last one is reported as field "title".
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Iterator

from tracker.classify import taxonomy
from tracker.classify.matcher import Matcher, normalize
from tracker.classify.rules import FIELD_WEIGHT, RULES, RULES_VERSION, SINGLE_VALUED, Rule
from tracker.store.tags import RuleTag, RuleTags

__all__ = [
    "AI_THRESHOLD", "RULES_VERSION", "Classification", "Evidence", "Tag", "classify_device", "classify_policy",
    "normalize",
]

AI_THRESHOLD = 0.5
CACHE_SIZE = 4096
_FACET_ORDER = ("ai",) + taxonomy.FACETS
# Derived fields are reported as the field they were cut from.
_SHOWN_AS = {"title_prefix": "title"}
_JSON_KEYS = {
    "area": "areas", "function": "functions", "site": "sites", "disease": "diseases", "signal": "signals",
    "policy_type": "policy_types", "issuer": "issuers", "stage": "stages", "scenario": "scenarios",
}


@dataclass(frozen=True)
class Evidence:
    """Which words of which field made a rule fire (each word as the rule lists it, NFKC-normalised)."""

    field: str
    words: tuple[str, ...]
    rule_id: str
    rule_version: str


@dataclass(frozen=True)
class Tag:
    """One taxonomy code given to an entity, with its confidence and all the evidence for it."""

    facet: str
    code: str
    confidence: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Classification:
    """The machine's decision on one entity: AI or not, and its tags, stamped with rules and taxonomy versions."""

    is_ai: bool
    ai_confidence: float
    tags: tuple[Tag, ...]
    rules_version: str
    taxonomy_version: str

    def codes(self, facet: str) -> list[str]:
        """The codes tagged in `facet`, in taxonomy order."""
        return [tag.code for tag in self.tags if tag.facet == facet]

    def tag(self, facet: str, code: str) -> Tag | None:
        """The tag for (`facet`, `code`), or None when it was not given."""
        return next((t for t in self.tags if t.facet == facet and t.code == code), None)

    def rule_tags(self) -> RuleTags:
        """These tags as the store keeps them (tracker.store.tags): plain values, evidence as JSON-able dicts."""
        return RuleTags(
            tags=tuple(RuleTag(t.facet, t.code, t.confidence, tuple(e.rule_id for e in t.evidence),
                               tuple(_evidence_dict(e) for e in t.evidence)) for t in self.tags),
            ai_confidence=self.ai_confidence, rules_version=self.rules_version,
            taxonomy_version=self.taxonomy_version)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the AI decision, codes per facet, confidences and flat evidence rows."""
        out: dict[str, Any] = {"ai": self.is_ai, "ai_confidence": self.ai_confidence}
        for facet, key in _JSON_KEYS.items():
            out[key] = self.codes(facet)
        out["confidence"] = [{"facet": t.facet, "code": t.code, "confidence": t.confidence} for t in self.tags]
        out["evidence"] = [{"facet": t.facet, "code": t.code, **_evidence_dict(e)} for t in self.tags for e in t.evidence]
        out["rules_version"] = self.rules_version
        out["taxonomy_version"] = self.taxonomy_version
        return out


def _evidence_dict(e: Evidence) -> dict[str, Any]:
    return {"field": e.field, "words": list(e.words), "rule_id": e.rule_id, "rule_version": e.rule_version}


_MATCHER = Matcher(RULES)
_FALLBACKS = tuple(c for c in _MATCHER.rules if c.rule.kind == "fallback")


def conditions(fields: dict[str, str], mgmt_class: int | str | None) -> dict[str, tuple[tuple[str, str], ...]]:
    """The entity-level conditions rules may require, each with the (field, word) evidence that satisfied it."""
    name, category, cat = fields.get("name", ""), fields.get("category", ""), fields.get("catalogue_code", "")
    software: list[tuple[str, str]] = []
    for word in ("软件", "software"):
        if word in name:
            software.append(("name", word))
    if "软件" in category:
        software.append(("category", "软件"))
    # 2017 catalogue category 21 is 医用软件: a catalogue code "21", "21-04", "21-04-02", or the category digits of
    # a certificate number ("21"). No 2002-catalogue code starts with 21.
    cat21 = [(f, "21") for f, text in (("catalogue_code", cat), ("category", category)) if text.startswith("21")]
    software.extend(cat21)
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    if software:
        out["software"] = tuple(software)
    if normalize(str(mgmt_class)) in ("3", "iii") and cat21:
        out["class3_cat21"] = (("mgmt_class", "3"), *cat21)
    return out


def _fire(
    rule: Rule, hits: list[tuple[str, tuple[str, ...]]], conds: dict[str, tuple[tuple[str, str], ...]],
) -> tuple[float, tuple[Evidence, ...]] | None:
    """(confidence, evidence) of one rule from the words it found per field, or None when a condition is unmet."""
    if rule.requires and any(req not in conds for req in rule.requires):
        return None
    confidence = rule.confidence * max(FIELD_WEIGHT[f] for f, _ in hits)
    if not rule.requires:
        return confidence, tuple(Evidence(_SHOWN_AS.get(f, f), ws, rule.id, RULES_VERSION) for f, ws in hits)
    # Condition words join the evidence of their field, so one row says e.g. name: 辅助检测 + 软件.
    by_field: dict[str, list[str]] = {f: list(words) for f, words in hits}
    for req in rule.requires:
        for f, word in conds[req]:
            if word not in by_field.setdefault(f, []):
                by_field[f].append(word)
    evidence = tuple(Evidence(_SHOWN_AS.get(f, f), tuple(ws), rule.id, RULES_VERSION) for f, ws in by_field.items())
    return confidence, evidence


def _classify(fields: dict[str, str | None], mgmt_class: int | str | None = None) -> Classification:
    items = tuple(fields.items())
    return _classify_items(items, mgmt_class) if _CACHE_ON else _classify_items.__wrapped__(items, mgmt_class)


_CACHE_ON = True


def clear_cache() -> None:
    """Forget the answers kept for recurring inputs (they stay right: rules change only with the code)."""
    _classify_items.cache_clear()


@contextlib.contextmanager
def cache_disabled() -> Iterator[None]:
    """Classify every input afresh inside the block (for measuring the cost of unseen names)."""
    global _CACHE_ON
    _CACHE_ON = False
    try:
        yield
    finally:
        _CACHE_ON = True


# A classification is a pure function of the fields, and immutable, so equal inputs share one answer: product names
# recur across certificates (a UDI release lists the same generic name for thousands of them). Bounded, so memory
# stays flat over a full release.
@functools.lru_cache(maxsize=CACHE_SIZE)
def _classify_items(items: tuple[tuple[str, str | None], ...], mgmt_class: int | str | None) -> Classification:
    norm = {k: normalize(v) for k, v in items}
    conds = conditions(norm, mgmt_class)
    # The one pass: each field is scanned once for the words of every rule; only rules with a word found are tried.
    hits: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
    for f, text in norm.items():
        if not text or f not in _MATCHER.fields:
            continue
        found = _MATCHER.scan(text)
        for index in _MATCHER.candidates(f, found):
            words = Matcher.words(_MATCHER.rules[index], text, found)
            if words:
                hits.setdefault(index, []).append((f, words))
    found_tags: dict[tuple[str, str], list[tuple[float, tuple[Evidence, ...], Rule]]] = {}
    veto: float | None = None
    blocked: set[tuple[str, str]] = set()
    for index in sorted(hits):  # rule order: evidence is listed in the order of the rule table
        rule = _MATCHER.rules[index].rule
        rule_hits = hits[index]
        if len(rule_hits) > 1:
            rule_hits.sort(key=lambda hit: rule.fields.index(hit[0]))
        fired = _fire(rule, rule_hits, conds)
        if fired is None:
            continue
        if rule.kind == "veto":
            veto = rule.confidence if veto is None else min(veto, rule.confidence)
            continue
        if rule.kind == "block":
            blocked.add((rule.facet, rule.code))
            continue
        found_tags.setdefault((rule.facet, rule.code), []).append((fired[0], fired[1], rule))
    for key in blocked:
        found_tags.pop(key, None)
    for c in _FALLBACKS:
        rule = c.rule
        if any(facet == rule.facet for facet, _ in found_tags):
            continue
        present = [f for f in rule.fields if norm.get(f)]
        if present:
            evidence = tuple(Evidence(f, (), rule.id, RULES_VERSION) for f in present)
            found_tags[(rule.facet, rule.code)] = [(rule.confidence, evidence, rule)]
    ai_hits = found_tags.pop(("ai", "ai"), [])
    ai_confidence = _ai_confidence(ai_hits, veto)
    tags: list[Tag] = []
    if ai_confidence >= AI_THRESHOLD:
        tags.append(Tag("ai", "ai", ai_confidence, tuple(e for _, evs, _ in ai_hits for e in evs)))
    for (facet, code), hits in found_tags.items():
        evidence = tuple(e for _, evs, _ in hits for e in evs)
        tags.append(Tag(facet, code, round(max(h[0] for h in hits), 3), evidence))
    tags = _prune(tags)
    return Classification(
        is_ai=ai_confidence >= AI_THRESHOLD, ai_confidence=ai_confidence, tags=tuple(tags),
        rules_version=RULES_VERSION, taxonomy_version=taxonomy.TAXONOMY_VERSION,
    )


def _ai_confidence(hits: list[tuple[float, tuple[Evidence, ...], Rule]], veto: float | None) -> float:
    if not hits:
        return 0.0
    strong = max((conf for conf, _, rule in hits if rule.beats_veto), default=0.0)
    weak = max((conf for conf, _, rule in hits if not rule.beats_veto), default=0.0)
    if veto is not None:
        weak = min(weak, veto)
    return round(max(strong, weak), 3)


def _prune(tags: list[Tag]) -> list[Tag]:
    """Drop area parents whose child is tagged, keep one tag of single-valued facets, and sort deterministically."""
    area_codes = {t.code for t in tags if t.facet == "area"}
    parents = {taxonomy.get(code).parent for code in area_codes}
    tags = [t for t in tags if not (t.facet == "area" and t.code in parents)]
    for facet in SINGLE_VALUED:
        same = [t for t in tags if t.facet == facet]
        if len(same) > 1:
            keep = max(same, key=lambda t: t.confidence)  # max() keeps the first of equals: rule order decides
            tags = [t for t in tags if t.facet != facet or t is keep]
    order = _taxonomy_order()
    return sorted(tags, key=lambda t: (_FACET_ORDER.index(t.facet), order.get(t.code, -1)))


@functools.cache
def _taxonomy_order() -> dict[str, int]:
    # The taxonomy is data fixed at import; its order is read for every classification.
    return {node.code: i for i, node in enumerate(taxonomy.all_nodes())}


def classify_device(*, name: str, description: str | None = None, structure: str | None = None,
                    scope: str | None = None, catalogue_code: str | None = None, mgmt_class: int | None = None,
                    category: str | None = None) -> Classification:
    """Classify a device certificate from its name, description, 结构及组成 (structure) and 适用范围 (scope).

    `catalogue_code` is the classification-catalogue code ("21-04-02"); `category` is either the catalogue category
    a certificate number carries ("21") or a category name ("决策支持软件"); `mgmt_class` is 1, 2 or 3.
    """
    return _classify(
        {"name": name, "description": description, "structure": structure, "scope": scope,
         "catalogue_code": catalogue_code, "category": category},
        mgmt_class,
    )


def classify_policy(*, title: str, body: str | None = None, issuer: str | None = None,
                    doc_no: str | None = None) -> Classification:
    """Classify a policy document from its title, body text, issuing body and document number."""
    prefix = title.partition("关于")[0] if "关于" in (title or "") else ""
    return _classify({"title": title, "body": body, "issuer": issuer, "doc_no": doc_no, "title_prefix": prefix})
