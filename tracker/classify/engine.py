"""One rule set compiled and applied: the automaton of all its words (tracker.classify.matcher), what deciding each
rule needs, computed once, and the decision of every rule from the words found in one pass over each field.

The rules are decided as the rule table says (tracker.classify.classifier's docstring tells the decisions worth
knowing); the engine only avoids work: rules with no word found are never looked at, and the outcome of a rule that
fired (its evidence and the tag it gives) is made once per distinct value and shared, since the same few recur
across thousands of product names.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

from tracker.classify import taxonomy
from tracker.classify.answers import Classification, Evidence, Tag
from tracker.classify.matcher import Matcher, normalize
from tracker.classify.rules import FIELD_WEIGHT, SINGLE_VALUED, Rule

AI_THRESHOLD = 0.5
# Answers kept for recurring inputs. One entry of a name-only device costs about 0.4 KiB beside its name
# (bench/classify.py measures it), so 16,384 entries are under 10 MiB.
CACHE_SIZE = 16_384
_FACET_ORDER = ("ai",) + taxonomy.FACETS
# Derived fields are reported as the field they were cut from.
_SHOWN_AS = {"title_prefix": "title"}


def conditions(fields: dict[str, str], mgmt_class: int | str | None) -> dict[str, tuple[tuple[str, str], ...]]:
    """The entity-level conditions rules may require, each with the (field, word) evidence that satisfied it."""
    return _conditions(fields, is_class3(mgmt_class))


def is_class3(mgmt_class: int | str | None) -> bool:
    """Whether a management class (3, "3", "III", "Ⅲ") is class III: all of the class that an answer depends on."""
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
# Fired-rule outcomes kept for reuse. The bench's 7,815 names need 70; texts of random rule words in several fields
# make about one per entity, up to 2 KiB each (a rule of n words can say 2^n things). Past the limit new outcomes are
# made and not kept, so memory stays a few MiB whatever the input.
_INTERN_LIMIT = 4096


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
        return self._fired.get(key) or self._new_fired(key, conds, confidence)

    def _new_fired(self, key: tuple[Any, ...], conds: dict[str, tuple[tuple[str, str], ...]],
                   confidence: float) -> _Fired:
        index, hits = key[0], key[1]
        rule = self.rules[index].rule
        evidence = self._make_evidence(index, hits, conds)
        fired = _Fired(confidence, evidence, rule.beats_veto, Tag(rule.facet, rule.code, round(confidence, 3), evidence))
        if len(self._fired) < _INTERN_LIMIT:
            self._fired[key] = fired
        return fired

    def classify(self, key: tuple[Any, ...]) -> Classification:
        """The answer for an answer key ("device" or "policy", the raw fields, class III or not), computed afresh."""
        if key[0] == "device":
            norm = {f: normalize(v) for f, v in zip(_DEVICE, key[1:7], strict=True) if v}
        else:
            title = key[1]
            norm = {f: normalize(v) for f, v in zip(_POLICY, key[1:5], strict=True) if v}
            if "关于" in (title or ""):
                norm["title_prefix"] = normalize(title.partition("关于")[0])
        return self.decide(norm, _conditions(norm, key[-1]))

    def decide(self, norm: dict[str, str], conds: dict[str, tuple[tuple[str, str], ...]]) -> Classification:
        """Decide every rule from the normalised fields (empty ones left out) and the entity's conditions."""
        # The one pass: each field is scanned once for the words of every rule; only rules with a word found are tried.
        hits: dict[int, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        for f, text in norm.items():
            for index, words in self.matcher.hits(f, text).items():
                listed = hits.get(index)
                hits[index] = ((f, words),) if listed is None else listed + ((f, words),)
        found_tags: dict[tuple[str, str], list[_Fired]] = {}
        veto: float | None = None
        blocked = []
        known = self._fired.get
        for index in sorted(hits):  # rule order: evidence is listed in the order of the rule table
            data = self.rules[index]
            rule = data.rule
            requires = rule.requires
            if requires and any(req not in conds for req in requires):
                continue
            rule_hits = hits[index]
            if len(rule_hits) > 1:
                rule_hits = tuple(sorted(rule_hits, key=lambda hit: data.rank[hit[0]]))
                confidence = max(data.confidence[f] for f, _ in rule_hits)
            else:
                confidence = data.confidence[rule_hits[0][0]]
            if rule.kind == "veto":  # a cap, whatever field it was found in
                veto = rule.confidence if veto is None else min(veto, rule.confidence)
            elif rule.kind == "block":
                blocked.append(data.key)
            else:
                # Inlined `fired` (this loop is most of the cost of an answer).
                key = (index, rule_hits, tuple(conds[req] for req in requires)) if requires else (index, rule_hits)
                fired = known(key) or self._new_fired(key, conds, confidence)
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
    strong = weak = 0.0
    for fired in hits:
        if fired.beats_veto:
            strong = max(strong, fired.confidence)
        else:
            weak = max(weak, fired.confidence)
    if veto is not None:
        weak = min(weak, veto)
    return round(max(strong, weak), 3)


def _prune(tags: list[Tag]) -> tuple[Tag, ...]:
    """Drop area parents whose child is tagged, keep one tag of single-valued facets, and sort deterministically."""
    areas = [t.code for t in tags if t.facet == "area"]
    if len(areas) > 1:  # one area tag cannot be the parent of another
        parents = _area_parents()
        drop = {parents[code] for code in areas}
        tags = [t for t in tags if not (t.facet == "area" and t.code in drop)]
    for facet in SINGLE_VALUED:
        same = [t for t in tags if t.facet == facet]
        if len(same) > 1:
            keep = max(same, key=lambda t: t.confidence)  # max() keeps the first of equals: rule order decides
            tags = [t for t in tags if t.facet != facet or t is keep]
    rank = _rank()
    tags.sort(key=lambda t: rank.get((t.facet, t.code)) or _rank_of(t.facet, t.code))
    return tuple(tags)


@functools.cache
def _rank() -> dict[tuple[str, str], tuple[int, int]]:
    # The taxonomy is data fixed at import; the order of its codes is read for every classification.
    nodes = [(node.facet, node.code) for node in taxonomy.all_nodes() if node.facet in _FACET_ORDER]
    return {key: _rank_of(*key) for key in [("ai", "ai"), *nodes]}


def _rank_of(facet: str, code: str) -> tuple[int, int]:
    """Where a tag sorts: by facet (the AI flag first), then by taxonomy order (codes outside it first)."""
    return _FACET_ORDER.index(facet), _positions().get(code, -1)


@functools.cache
def _positions() -> dict[str, int]:
    return {node.code: i for i, node in enumerate(taxonomy.all_nodes())}


@functools.cache
def _area_parents() -> dict[str, str | None]:
    return {node.code: node.parent for node in taxonomy.all_nodes()}
