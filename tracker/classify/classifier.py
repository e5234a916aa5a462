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
from typing import Any, Iterator, NamedTuple, Sequence

from tracker.classify import taxonomy
from tracker.classify.matcher import Matcher, normalize
from tracker.classify.rules import FIELD_WEIGHT, RULES, RULES_VERSION, SINGLE_VALUED, Rule
from tracker.store.tags import RuleTag, RuleTags

__all__ = [
    "AI_THRESHOLD", "RULES_VERSION", "Classification", "Evidence", "Tag", "classify_device", "classify_policy",
    "normalize",
]

AI_THRESHOLD = 0.5
# Answers kept for recurring inputs. One entry of a name-only device costs about 0.4 KiB beside its name
# (bench/classify.py measures it), so 16,384 entries are under 10 MiB.
CACHE_SIZE = 16_384
_FACET_ORDER = ("ai",) + taxonomy.FACETS
# Derived fields are reported as the field they were cut from.
_SHOWN_AS = {"title_prefix": "title"}
_JSON_KEYS = {
    "area": "areas", "function": "functions", "site": "sites", "disease": "diseases", "signal": "signals",
    "policy_type": "policy_types", "issuer": "issuers", "stage": "stages", "scenario": "scenarios",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Which words of which field made a rule fire (each word as the rule lists it, NFKC-normalised)."""

    field: str
    words: tuple[str, ...]
    rule_id: str
    rule_version: str


@dataclass(frozen=True, slots=True)
class Tag:
    """One taxonomy code given to an entity, with its confidence and all the evidence for it."""

    facet: str
    code: str
    confidence: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
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


def conditions(fields: dict[str, str], mgmt_class: int | str | None) -> dict[str, tuple[tuple[str, str], ...]]:
    """The entity-level conditions rules may require, each with the (field, word) evidence that satisfied it."""
    return _conditions(fields, _is_class3(mgmt_class))


def _is_class3(mgmt_class: int | str | None) -> bool:
    # The management class matters only as "class III or not": it is all of it an answer depends on (and all the
    # answer cache keys on).
    if mgmt_class is None:
        return False
    if type(mgmt_class) is int:
        return mgmt_class == 3
    return normalize(str(mgmt_class)) in ("3", "iii")


def _conditions(fields: dict[str, str], class3: bool) -> dict[str, tuple[tuple[str, str], ...]]:
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
    if class3 and cat21:
        out["class3_cat21"] = (("mgmt_class", "3"), *cat21)
    return out


_DEVICE = ("name", "description", "structure", "scope", "catalogue_code", "category")
_POLICY = ("title", "body", "issuer", "doc_no")
# Fired-rule outcomes kept for reuse. Their number is bounded by what the rules can say, but a rule of many words could
# in theory say 2^n things: past the limit new outcomes are made and not kept.
_INTERN_LIMIT = 65_536
# Only answers whose fields together are this short are kept: generic product names recur, a description or a
# policy body is near-unique, and keeping those would bound the cache in entries but not in bytes.
_CACHEABLE_CHARS = 256


class _RuleData(NamedTuple):
    """What deciding one rule needs, computed once per rule set."""

    rule: Rule
    key: tuple[str, str]
    confidence: dict[str, float]  # field -> rule confidence times the field's weight
    rank: dict[str, int]  # field -> its place in the rule's fields (evidence order)


class _Fired(NamedTuple):
    """One rule that fired: its confidence, its evidence, and the tag it gives when no other rule gives it too."""

    confidence: float
    evidence: tuple[Evidence, ...]
    beats_veto: bool
    tag: Tag


class Engine:
    """One rule set compiled: its automaton, per-rule decision data, the evidence objects it has made (shared by
    every answer that cites them) and the answers kept for recurring inputs. Changing the rules means a new
    engine (`use_rules`), so nothing computed under the old rules can be handed out under the new ones."""

    def __init__(self, rules: Sequence[Rule], version: str, cache_size: int = CACHE_SIZE) -> None:
        self.version = version
        self.matcher = Matcher(rules)
        self.rules = tuple(_RuleData(c.rule, (c.rule.facet, c.rule.code),
                                     {f: c.rule.confidence * FIELD_WEIGHT[f] for f in c.rule.fields},
                                     {f: i for i, f in enumerate(c.rule.fields)}) for c in self.matcher.rules)
        self.fallbacks = tuple(i for i, c in enumerate(self.matcher.rules) if c.rule.kind == "fallback")
        self._fired: dict[tuple[Any, ...], _Fired] = {}
        self.cached = functools.lru_cache(maxsize=cache_size)(self.classify)

    def fired(self, index: int, hits: tuple[tuple[str, tuple[str, ...]], ...],
              conds: dict[str, tuple[tuple[str, str], ...]], confidence: float) -> _Fired:
        """Rule `index` fired on the words it found per field (and the condition words it requires) at
        `confidence` (a function of those fields): one shared immutable value per distinct outcome, as the same few
        recur across entities."""
        requires = self.rules[index].rule.requires
        key = (index, hits, tuple(conds[req] for req in requires)) if requires else (index, hits)
        fired = self._fired.get(key)
        if fired is None:
            rule = self.rules[index].rule
            evidence = self._make_evidence(index, hits, conds)
            fired = _Fired(confidence, evidence, rule.beats_veto,
                           Tag(rule.facet, rule.code, round(confidence, 3), evidence))
            if len(self._fired) < _INTERN_LIMIT:
                self._fired[key] = fired
        return fired

    def classify(self, key: tuple[Any, ...]) -> Classification:
        """The answer for an answer key ("device" or "policy", the raw fields, class III or not), computed afresh."""
        if key[0] == "device":
            values = dict(zip(_DEVICE, key[1:7], strict=True))
        else:
            title = key[1]
            values = dict(zip(_POLICY, key[1:5], strict=True))
            values["title_prefix"] = title.partition("关于")[0] if "关于" in (title or "") else ""
        norm = {f: normalize(v) for f, v in values.items() if v}
        return self.decide(norm, _conditions(norm, key[-1]))

    def decide(self, norm: dict[str, str], conds: dict[str, tuple[tuple[str, str], ...]]) -> Classification:
        """Decide every rule from the normalised fields (empty ones left out) and the entity's conditions."""
        # The one pass: each field is scanned once for the words of every rule; only rules with a word found are tried.
        hits: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for f, text in norm.items():
            for index, words in self.matcher.hits(f, text).items():
                listed = hits.get(index)
                if listed is None:
                    hits[index] = [(f, words)]
                else:
                    listed.append((f, words))
        found_tags: dict[tuple[str, str], list[_Fired]] = {}
        veto: float | None = None
        blocked = []
        for index in sorted(hits):  # rule order: evidence is listed in the order of the rule table
            data = self.rules[index]
            rule = data.rule
            if rule.requires and any(req not in conds for req in rule.requires):
                continue
            rule_hits = hits[index]
            if len(rule_hits) > 1:
                rule_hits.sort(key=lambda hit: data.rank[hit[0]])
                confidence = max(data.confidence[f] for f, _ in rule_hits)
            else:
                confidence = data.confidence[rule_hits[0][0]]
            if rule.kind == "veto":  # a cap, whatever field it was found in
                veto = rule.confidence if veto is None else min(veto, rule.confidence)
            elif rule.kind == "block":
                blocked.append(data.key)
            else:
                fired = self.fired(index, tuple(rule_hits), conds, confidence)
                listed = found_tags.get(data.key)
                if listed is None:
                    found_tags[data.key] = [fired]
                else:
                    listed.append(fired)
        for key in blocked:
            found_tags.pop(key, None)
        facets = {facet for facet, _ in found_tags}
        for index in self.fallbacks:
            rule = self.rules[index].rule
            if rule.facet in facets:
                continue
            present = tuple((f, ()) for f in rule.fields if norm.get(f))
            if present:
                found_tags[(rule.facet, rule.code)] = [self.fired(index, present, conds, rule.confidence)]
                facets.add(rule.facet)
        ai_hits = found_tags.pop(("ai", "ai"), [])
        ai_confidence = _ai_confidence(ai_hits, veto)
        tags: list[Tag] = []
        if ai_confidence >= AI_THRESHOLD:
            if len(ai_hits) == 1 and ai_hits[0].tag.confidence == ai_confidence:
                tags.append(ai_hits[0].tag)
            else:
                tags.append(Tag("ai", "ai", ai_confidence, tuple(e for fired in ai_hits for e in fired.evidence)))
        for (facet, code), fired_list in found_tags.items():
            if len(fired_list) == 1:
                tags.append(fired_list[0].tag)
            else:
                tags.append(Tag(facet, code, round(max(fired.confidence for fired in fired_list), 3),
                                tuple(e for fired in fired_list for e in fired.evidence)))
        return Classification(
            is_ai=ai_confidence >= AI_THRESHOLD, ai_confidence=ai_confidence, tags=_prune(tags),
            rules_version=self.version, taxonomy_version=taxonomy.TAXONOMY_VERSION,
        )

    def _make_evidence(self, index: int, hits: tuple[tuple[str, tuple[str, ...]], ...],
                       conds: dict[str, tuple[tuple[str, str], ...]]) -> tuple[Evidence, ...]:
        rule = self.rules[index].rule
        if not rule.requires:
            return tuple(Evidence(_SHOWN_AS.get(f, f), ws, rule.id, self.version) for f, ws in hits)
        # Condition words join the evidence of their field, so one row says e.g. name: 辅助检测 + 软件.
        by_field: dict[str, list[str]] = {f: list(words) for f, words in hits}
        for req in rule.requires:
            for f, word in conds[req]:
                if word not in by_field.setdefault(f, []):
                    by_field[f].append(word)
        return tuple(Evidence(_SHOWN_AS.get(f, f), tuple(ws), rule.id, self.version) for f, ws in by_field.items())


def _ai_confidence(hits: list[_Fired], veto: float | None) -> float:
    if not hits:
        return 0.0
    strong = max((fired.confidence for fired in hits if fired.beats_veto), default=0.0)
    weak = max((fired.confidence for fired in hits if not fired.beats_veto), default=0.0)
    if veto is not None:
        weak = min(weak, veto)
    return round(max(strong, weak), 3)


def _prune(tags: list[Tag]) -> tuple[Tag, ...]:
    """Drop area parents whose child is tagged, keep one tag of single-valued facets, and sort deterministically."""
    parents = _area_parents()
    drop = {parents[t.code] for t in tags if t.facet == "area"}
    if drop:
        tags = [t for t in tags if not (t.facet == "area" and t.code in drop)]
    for facet in SINGLE_VALUED:
        same = [t for t in tags if t.facet == facet]
        if len(same) > 1:
            keep = max(same, key=lambda t: t.confidence)  # max() keeps the first of equals: rule order decides
            tags = [t for t in tags if t.facet != facet or t is keep]
    facet_order, position = _tag_order()
    tags.sort(key=lambda t: (facet_order[t.facet], position.get(t.code, -1)))
    return tuple(tags)


@functools.cache
def _tag_order() -> tuple[dict[str, int], dict[str, int]]:
    # The taxonomy is data fixed at import; the order of its codes is read for every classification.
    return ({facet: i for i, facet in enumerate(_FACET_ORDER)},
            {node.code: i for i, node in enumerate(taxonomy.all_nodes())})


@functools.cache
def _area_parents() -> dict[str, str | None]:
    return {node.code: node.parent for node in taxonomy.all_nodes()}


_ENGINE = Engine(RULES, RULES_VERSION)
_CACHE_ON = True


def use_rules(rules: Sequence[Rule], version: str) -> None:
    """Classify with `rules` (stamped `version`) from now on; the answers and evidence kept under the previous
    rules are dropped with them. The rule table is code, so this is for tests and tools that try rule sets."""
    global _ENGINE
    _ENGINE = Engine(rules, version)


def clear_cache() -> None:
    """Forget the answers kept for recurring inputs (each is right for as long as its engine's rules are used)."""
    _ENGINE.cached.cache_clear()


@contextlib.contextmanager
def cache_disabled() -> Iterator[None]:
    """Classify every input afresh inside the block (for measuring the cost of unseen names)."""
    global _CACHE_ON
    _CACHE_ON = False
    try:
        yield
    finally:
        _CACHE_ON = True


# A classification is a pure function of its key, and immutable all the way down (frozen dataclasses holding tuples),
# so equal inputs share one answer: product names recur across certificates (a UDI release lists the same generic
# name for thousands of them). Bounded, so memory stays flat over a full release.
def _answer(key: tuple[Any, ...]) -> Classification:
    engine = _ENGINE
    if _CACHE_ON and sum(map(len, filter(None, key[1:-1]))) <= _CACHEABLE_CHARS:
        return engine.cached(key)
    return engine.classify(key)


def classify_device(*, name: str, description: str | None = None, structure: str | None = None,
                    scope: str | None = None, catalogue_code: str | None = None, mgmt_class: int | None = None,
                    category: str | None = None) -> Classification:
    """Classify a device certificate from its name, description, 结构及组成 (structure) and 适用范围 (scope).

    `catalogue_code` is the classification-catalogue code ("21-04-02"); `category` is either the catalogue category
    a certificate number carries ("21") or a category name ("决策支持软件"); `mgmt_class` is 1, 2 or 3.
    """
    # The answer key: exactly what decides the answer (the raw fields, and the class only as "class III or not").
    return _answer(("device", name, description, structure, scope, catalogue_code, category, _is_class3(mgmt_class)))


def classify_policy(*, title: str, body: str | None = None, issuer: str | None = None,
                    doc_no: str | None = None) -> Classification:
    """Classify a policy document from its title, body text, issuing body and document number."""
    return _answer(("policy", title, body, issuer, doc_no, False))
