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

How: one compiled rule set (tracker.classify.engine) scans each field once for the words of every rule. Answers are
immutable (tracker.classify.answers) and kept for recurring short inputs (a bounded LRU keyed on exactly what decides
an answer); a new rule set (`use_rules`) comes with an empty one.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from tracker.classify.answers import Classification, Evidence, Tag
from tracker.classify.engine import AI_THRESHOLD, CACHE_SIZE, Engine, conditions, is_class3
from tracker.classify.matcher import normalize
from tracker.classify.rules import RULES, RULES_VERSION, Rule

__all__ = [
    "AI_THRESHOLD", "CACHE_SIZE", "RULES_VERSION", "Classification", "Evidence", "Tag", "classify_device",
    "classify_policy", "conditions", "normalize",
]

# Only answers whose fields together are this short are kept: generic product names recur, a description or a
# policy body is near-unique, and keeping those would bound the cache in entries but not in bytes.
_CACHEABLE_CHARS = 256

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
    return _answer(("device", name, description, structure, scope, catalogue_code, category, is_class3(mgmt_class)))


def classify_policy(*, title: str, body: str | None = None, issuer: str | None = None,
                    doc_no: str | None = None) -> Classification:
    """Classify a policy document from its title, body text, issuing body and document number."""
    return _answer(("policy", title, body, issuer, doc_no, False))
