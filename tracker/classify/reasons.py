"""Why the tracker says what it says, as codes with parameters, rendered in Chinese or English.

Stored reasons are never sentences: a guidance ↔ device link keeps `reason_code` and `reason_params`, a news ↔
device link the same, a tag keeps its evidence as (field, words, rule id, rules version), and the reviewer queue
says why a device waits as codes too. This module names the codes (their texts are catalogue entries "reason_<code>" of tracker.i18n) and renders any of them in
the reader's language ("zh" or "en"): pages and exports in the request's language, emails in both, the API both.

A parameter is rendered by its name: `tags` and `areas` are taxonomy codes shown as their labels, `field` a
classifier field shown by its label, `software` (field, word) pairs, `words` a list of matched words, `confidence`
a number with two decimals; anything else is shown as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from markupsafe import Markup, escape

from tracker import i18n
from tracker.classify import taxonomy
from tracker.i18n import LANGS
from tracker.store.devices import NEWS_BY_CERTIFICATE, NEWS_BY_PRODUCT

# Link reasons (tracker.classify.link_rules): one code per kind of agreement between the guidance and the device.
LINK_SCOPE = "link.scope"
LINK_EQUIPMENT = "link.scope_equipment"
LINK_SOFTWARE = "link.scope_software"
LINK_AI = "link.scope_ai"
# Tag evidence (tracker.classify.classifier): words a rule found in a field, or a fallback rule's field.
EVIDENCE_WORDS = "evidence.words"
EVIDENCE_PRESENT = "evidence.present"
# Why a device waits in the reviewer queue (tracker.audit.review).
QUEUE_CONFIDENCE = "queue.ai_confidence"
QUEUE_OLD_RULES = "queue.old_rules"
QUEUE_SEVERAL_AREAS = "queue.several_areas"
QUEUE_SEVERAL_MODALITIES = "queue.several_modalities"
# A stored sentence from before reasons were codes that no pattern of the migration recognised: shown as it is.
LEGACY = "legacy"

# Every code; its texts are the catalogue entries "reason_<code>" (tracker.i18n, both languages, `%(param)s`).
CODES = (LINK_SCOPE, LINK_EQUIPMENT, LINK_SOFTWARE, LINK_AI, NEWS_BY_CERTIFICATE, NEWS_BY_PRODUCT, EVIDENCE_WORDS,
         EVIDENCE_PRESENT, QUEUE_CONFIDENCE, QUEUE_OLD_RULES, QUEUE_SEVERAL_AREAS, QUEUE_SEVERAL_MODALITIES, LEGACY)
# The classifier's fields (tracker.classify.rules.KNOWN_FIELDS and the certificate's class): catalogue "ev_<field>".
FIELDS = ("name", "description", "structure", "scope", "category", "catalogue_code", "mgmt_class", "title", "body",
          "issuer", "doc_no")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_key(code: str) -> str:
    """The catalogue key of a reason code's text."""
    return "reason_" + code.replace(".", "_")


def _template(code: str, lang: str) -> str | None:
    key = template_key(code)
    return i18n.gettext(key, lang) if i18n.known(key) else None


_SEPARATOR = {"zh": "、", "en": ", "}


def field_label(name: str | None, lang: str) -> str:
    """A classifier field's label in `lang`; the name itself when the catalogue does not know it."""
    key = f"ev_{name}"
    return i18n.gettext(key, lang) if name and i18n.known(key) else (name or "")


def tag_label(tag: str, lang: str) -> str:
    """A "facet:code" tag (or a bare taxonomy code) by its label in `lang`; the AI flag is "AI"."""
    code = tag.split(":", 1)[-1]
    if code == "ai":
        return "AI"
    try:
        return taxonomy.label(code, lang)
    except KeyError:
        return code


def _markup_value(name: str, value: Any, lang: str) -> Markup:
    if name == "words":  # each word escaped, or kept when it is Markup already
        return Markup(escape(_SEPARATOR[lang])).join(escape(v) for v in value or ())
    return escape(_value(name, value, lang))


def _value(name: str, value: Any, lang: str) -> str:
    sep = _SEPARATOR[lang]
    if name in ("tags", "areas"):
        return sep.join(tag_label(str(v), lang) for v in value or ())
    if name == "field":
        return field_label(value, lang)
    if name == "software":
        return sep.join(f"{field_label(f, lang)}: {w}" for f, w in value or ())
    if name == "words":
        return sep.join(str(v) for v in value or ())
    if name == "confidence":
        return f"{float(value):.2f}"
    return "" if value is None else str(value)


def _fill(template: str, values: dict[str, Any], blank: Any = "") -> dict[str, Any]:
    # A parameter a stored reason lacks is shown empty, never as an error page.
    return {name: values.get(name, blank) for name in _PLACEHOLDER.findall(template)}


@dataclass(frozen=True)
class Reason:
    """A reason: a code of CODES and its parameters (JSON-able values)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The reason in `lang` ("zh" or "en"); an unknown code is shown as the code with its parameters, so a
        reason written by a newer version is still readable rather than lost."""
        template = _template(self.code, lang)
        if template is None:
            return f"{self.code} {dict(self.params)}"
        return template % _fill(template, {k: _value(k, v, lang) for k, v in self.params.items()})

    def markup(self, lang: str) -> Markup:
        """The reason in `lang` as HTML: the template and every parameter escaped, except parameters that are
        Markup already (a page marks matched words)."""
        template = _template(self.code, lang)
        if template is None:
            return escape(self.text(lang))
        values = {k: _markup_value(k, v, lang) for k, v in self.params.items()}
        return Markup(escape(template)) % _fill(template, values, Markup(""))

    def texts(self) -> dict[str, str]:
        """The reason in every language, {"zh": ..., "en": ...} (what the API gives)."""
        return {lang: self.text(lang) for lang in LANGS}

    def to_json(self) -> dict[str, Any]:
        """The reason as the API gives it: its code, its parameters and its text in both languages."""
        return {"code": self.code, "params": dict(self.params), **self.texts()}


def evidence_reason(evidence: Mapping[str, Any]) -> Reason:
    """The reason one stored evidence entry of a rule tag ({field, words, rule_id, rule_version}) stands for."""
    words = list(evidence.get("words") or ())
    if words:
        return Reason(EVIDENCE_WORDS, {"field": evidence.get("field"), "words": words})
    return Reason(EVIDENCE_PRESENT, {"field": evidence.get("field")})
