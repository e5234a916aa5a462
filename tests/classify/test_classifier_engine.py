"""Tests for how tracker.classify.classifier computes and keeps its answers: the one-pass engine gives exactly what the
rules say, rule by rule (a plain reference reading of the rule table below); kept answers cannot be changed by a
caller; a new rule set is used at once, never an answer kept under the old one.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.classify import classifier, taxonomy
from tracker.classify.classifier import AI_THRESHOLD, Classification, Evidence, Tag, classify_device, classify_policy
from tracker.classify.matcher import normalize
from tracker.classify.rules import FIELD_WEIGHT, RULES, RULES_VERSION, SINGLE_VALUED, Rule

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "classify" / "nmpa_names.json"


# --- the reference: every rule read on its own, every word looked for with str.find ------------------------------

def _occurrences(text: str, word: str) -> list[tuple[int, int]]:
    out, start = [], text.find(word)
    while start >= 0:
        out.append((start, start + len(word)))
        start = text.find(word, start + 1)
    return out


def _stands_alone(text: str, start: int, end: int) -> bool:
    def alnum(ch: str) -> bool:
        return ch.isascii() and ch.isalnum()
    return not ((start > 0 and alnum(text[start - 1])) or (end < len(text) and alnum(text[end])))


def _words_counted(rule: Rule, text: str) -> tuple[str, ...]:
    """The rule's words that count in `text`, as documented in tracker.classify.matcher."""
    if any(normalize(w) in text for w in rule.unless):
        return ()
    masked = [span for w in rule.mask for span in _occurrences(text, normalize(w))]
    counted = []
    for word in rule.words:
        term = normalize(word)
        for start, end in _occurrences(text, term):
            if term.isascii() and not _stands_alone(text, start, end):
                continue
            if any(start < m_end and m_start < end for m_start, m_end in masked):
                continue
            counted.append(word)  # rule words are NFKC already: shown as listed
            break
    return tuple(counted)


def _reference(fields: dict[str, str | None], mgmt_class: int | str | None) -> Classification:
    norm = {f: normalize(v) for f, v in fields.items()}
    conds = classifier.conditions(norm, mgmt_class)
    found: dict[tuple[str, str], list[tuple[float, tuple[Evidence, ...], Rule]]] = {}
    veto, blocked = None, set()
    for rule in RULES:
        if rule.kind == "fallback":
            continue
        hits = [(f, ws) for f in rule.fields if norm.get(f) for ws in [_words_counted(rule, norm[f])] if ws]
        if not hits or any(req not in conds for req in rule.requires):
            continue
        by_field = {f: list(ws) for f, ws in hits}
        for req in rule.requires:
            for f, word in conds[req]:
                if word not in by_field.setdefault(f, []):
                    by_field[f].append(word)
        evidence = tuple(Evidence("title" if f == "title_prefix" else f, tuple(ws), rule.id, RULES_VERSION)
                         for f, ws in by_field.items())
        if rule.kind == "veto":
            veto = rule.confidence if veto is None else min(veto, rule.confidence)
        elif rule.kind == "block":
            blocked.add((rule.facet, rule.code))
        else:
            confidence = rule.confidence * max(FIELD_WEIGHT[f] for f, _ in hits)
            found.setdefault((rule.facet, rule.code), []).append((confidence, evidence, rule))
    for key in blocked:
        found.pop(key, None)
    for rule in RULES:
        present = [f for f in rule.fields if norm.get(f)]
        if rule.kind == "fallback" and present and all(facet != rule.facet for facet, _ in found):
            found[(rule.facet, rule.code)] = [(rule.confidence, tuple(Evidence(f, (), rule.id, RULES_VERSION)
                                                                      for f in present), rule)]
    ai = found.pop(("ai", "ai"), [])
    strong = max((c for c, _, r in ai if r.beats_veto), default=0.0)
    weak = max((c for c, _, r in ai if not r.beats_veto), default=0.0)
    ai_confidence = round(max(strong, weak if veto is None else min(weak, veto)), 3) if ai else 0.0
    tags = [Tag("ai", "ai", ai_confidence, tuple(e for _, evs, _ in ai for e in evs))] if ai_confidence >= 0.5 else []
    tags += [Tag(facet, code, round(max(c for c, _, _ in hits), 3), tuple(e for _, evs, _ in hits for e in evs))
             for (facet, code), hits in found.items()]
    parents = {taxonomy.get(t.code).parent for t in tags if t.facet == "area"}
    tags = [t for t in tags if not (t.facet == "area" and t.code in parents)]
    for facet in SINGLE_VALUED:
        same = [t for t in tags if t.facet == facet]
        tags = [t for t in tags if t.facet != facet or t is max(same, key=lambda t: t.confidence)]
    position = {node.code: i for i, node in enumerate(taxonomy.all_nodes())}
    tags.sort(key=lambda t: ((("ai",) + taxonomy.FACETS).index(t.facet), position.get(t.code, -1)))
    return Classification(ai_confidence >= AI_THRESHOLD, ai_confidence, tuple(tags), RULES_VERSION,
                          taxonomy.TAXONOMY_VERSION)


def reference_device(*, name: str, description: str | None = None, structure: str | None = None,
                     scope: str | None = None, catalogue_code: str | None = None, mgmt_class: int | str | None = None,
                     category: str | None = None) -> Classification:
    return _reference({"name": name, "description": description, "structure": structure, "scope": scope,
                       "catalogue_code": catalogue_code, "category": category}, mgmt_class)


def reference_policy(*, title: str, body: str | None = None, issuer: str | None = None,
                     doc_no: str | None = None) -> Classification:
    prefix = title.partition("关于")[0] if "关于" in title else ""
    return _reference({"title": title, "body": body, "issuer": issuer, "doc_no": doc_no, "title_prefix": prefix}, None)


# --- the engine against the reference ------------------------------------------------------------------------

RULE_WORDS = sorted({w for rule in RULES for w in (*rule.words, *rule.unless, *rule.mask)})
# Texts made of rule words (overlapping, masked and cancelling ones side by side), glue and ASCII neighbours.
texts = st.lists(st.one_of(st.sampled_from(RULE_WORDS), st.sampled_from(["软件", "系统", "关于", "a", "1", " ", "-", "的"])),
                 max_size=8).map("".join)
optional = st.one_of(st.none(), texts)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "afresh"])
def test_answers_equal_the_rule_by_rule_reading_on_the_fixture_names(cached):
    entries = json.loads(FIXTURE.read_text(encoding="utf-8"))["entries"]
    classifier.clear_cache()
    for entry in entries * 2:  # the second time from the cache
        kwargs = {"name": entry["name"], **entry.get("fields", {})}
        if cached:
            assert classify_device(**kwargs) == reference_device(**kwargs), entry["name"]
        else:
            with classifier.cache_disabled():
                assert classify_device(**kwargs) == reference_device(**kwargs), entry["name"]


@settings(max_examples=400, deadline=None)
@given(name=texts, description=optional, structure=optional, scope=optional,
       catalogue_code=st.sampled_from([None, "21", "21-04-02", "06"]), category=st.sampled_from([None, "21", "决策支持软件"]),
       mgmt_class=st.sampled_from([None, 2, 3, "III", "Ⅲ", "3"]))
def test_device_answers_equal_the_rule_by_rule_reading(name, description, structure, scope, catalogue_code, category,
                                                       mgmt_class):
    kwargs = dict(name=name, description=description, structure=structure, scope=scope,
                  catalogue_code=catalogue_code, category=category, mgmt_class=mgmt_class)
    expected = reference_device(**kwargs)
    assert classify_device(**kwargs) == expected
    with classifier.cache_disabled():
        assert classify_device(**kwargs) == expected


@settings(max_examples=300, deadline=None)
@given(title=texts, body=optional, issuer=optional, doc_no=optional)
def test_policy_answers_equal_the_rule_by_rule_reading(title, body, issuer, doc_no):
    expected = reference_policy(title=title, body=body, issuer=issuer, doc_no=doc_no)
    assert classify_policy(title=title, body=body, issuer=issuer, doc_no=doc_no) == expected
    with classifier.cache_disabled():
        assert classify_policy(title=title, body=body, issuer=issuer, doc_no=doc_no) == expected


# --- kept answers --------------------------------------------------------------------------------------------

def test_a_kept_answer_cannot_be_changed_by_a_caller():
    classifier.clear_cache()
    first = classify_device(name="肺结节CT影像辅助检测软件")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.is_ai = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.tags[0].confidence = 0.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.tags[0].evidence[0].words = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.tags[0].evidence[0].words[0] = "x"  # type: ignore[index]
    # What callers get to change are copies: the JSON dict, the code lists, the rows the store keeps.
    data = first.to_json()
    data["ai"] = False
    data["evidence"][0]["words"].append("x")
    first.codes("area").append("medical_imaging.mr")
    first.rule_tags().tags[0].evidence[0]["words"].append("x")
    again = classify_device(name="肺结节CT影像辅助检测软件")
    assert again.to_json()["ai"] is True and "x" not in again.to_json()["evidence"][0]["words"]
    assert again.codes("area") == ["medical_imaging.ct"]
    with classifier.cache_disabled():
        assert classify_device(name="肺结节CT影像辅助检测软件") == again


def test_class_iii_written_any_way_decides_alike_and_other_classes_do_not():
    kwargs = dict(name="肺结节CT影像辅助软件", catalogue_code="21-04-02")
    classifier.clear_cache()
    assert classify_device(**kwargs, mgmt_class=3).is_ai and classify_device(**kwargs, mgmt_class="III").is_ai
    assert not classify_device(**kwargs, mgmt_class=2).is_ai and not classify_device(**kwargs).is_ai


@pytest.fixture
def restore_rules():
    yield
    classifier.use_rules(RULES, RULES_VERSION)


def test_new_rules_are_used_at_once_not_answers_kept_under_the_old_ones(restore_rules):
    name = "心电分析软件"
    assert not classify_device(name=name).is_ai  # kept now, under the shipped rules
    stronger = tuple(dataclasses.replace(r, confidence=0.9) if r.id == "ai.name.weak_function" else r for r in RULES)
    classifier.use_rules(stronger, "test")
    answer = classify_device(name=name)
    assert answer.is_ai and answer.rules_version == "test"
    assert {e.rule_version for t in answer.tags for e in t.evidence} == {"test"}
    classifier.use_rules(RULES, RULES_VERSION)
    assert classify_device(name=name) == reference_device(name=name)
