"""What the classifier answers: an AI decision and taxonomy tags, each tag with the evidence that made it.

All of it is immutable (frozen dataclasses holding tuples), so one answer can be handed to every caller that asks
the same question, and the same evidence shared by every answer that cites it; what a caller may change are the
copies `codes`, `to_json` and `rule_tags` make.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.store.tags import RuleTag, RuleTags

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
