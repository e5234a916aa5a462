"""Why the tracker says what it says, as codes with parameters, and their texts in Chinese and English.

Stored reasons are never sentences: a guidance ↔ device link keeps `reason_code` and `reason_params`, a news ↔
device link the same, a tag keeps its evidence as (field, words, rule id, rules version), and the reviewer queue
says why a device waits as codes too. This module is the one catalogue of their texts and renders any of them in
the reader's language ("zh" or "en"): pages and exports in the request's language, emails in both, the API both.

A parameter is rendered by its name: `tags` and `areas` are taxonomy codes shown as their labels, `field` a
classifier field shown by its label, `software` (field, word) pairs, `words` a list of matched words, `confidence`
a number with two decimals; anything else is shown as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from markupsafe import Markup, escape

from tracker.classify import taxonomy
from tracker.store.devices import NEWS_BY_CERTIFICATE, NEWS_BY_PRODUCT

LANGS = ("zh", "en")

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

# code → (Chinese, English).
TEMPLATES: dict[str, tuple[str, str]] = {
    LINK_SCOPE: ("器械标签 {tags} 符合《{title}》的适用范围",
                 "device tags {tags} match the scope of 《{title}》"),
    LINK_EQUIPMENT: ("器械标签 {tags} 符合《{title}》的适用范围；该文件针对设备（{words}），本器械不是软件",
                     "device tags {tags} match the scope of 《{title}》; guidance about equipment ({words}), device "
                     "not software"),
    LINK_SOFTWARE: ("器械标签 {tags} 符合《{title}》的适用范围；该文件针对软件（{words}），本器械是软件（{software}）",
                    "device tags {tags} match the scope of 《{title}》; guidance about software ({words}), device is "
                    "software ({software})"),
    LINK_AI: ("器械标签 {tags} 符合《{title}》的适用范围；该文件针对软件（{words}），本器械是 AI 器械",
              "device tags {tags} match the scope of 《{title}》; guidance about software ({words}), device is AI"),
    NEWS_BY_CERTIFICATE: ("文章提及注册证 {cert}", "certificate {cert} named in the article"),
    NEWS_BY_PRODUCT: ("文章提及产品“{product}”及注册人“{registrant}”",
                      "product {product} and registrant {registrant} named in the article"),
    EVIDENCE_WORDS: ("{field}中有“{words}”", "{field} says “{words}”"),
    EVIDENCE_PRESENT: ("{field}已填写，其他规则均不适用", "{field} given, no other rule applies"),
    QUEUE_CONFIDENCE: ("AI 置信度 {confidence}", "AI confidence {confidence}"),
    QUEUE_OLD_RULES: ("标签来自规则版本 {version}（当前版本 {current}）", "tags from rules version {version} (now {current})"),
    QUEUE_SEVERAL_AREAS: ("多个应用领域：{areas}", "several areas: {areas}"),
    QUEUE_SEVERAL_MODALITIES: ("多种成像方式：{areas}", "several imaging modalities: {areas}"),
    LEGACY: ("{text}", "{text}"),
}

# The classifier's fields (tracker.classify.rules.KNOWN_FIELDS and the certificate's class) by their labels.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("产品名称", "name"),
    "description": ("产品描述", "description"),
    "structure": ("结构及组成", "structure"),
    "scope": ("适用范围", "scope"),
    "category": ("类别代码", "category"),
    "catalogue_code": ("分类编码", "catalogue code"),
    "mgmt_class": ("管理类别", "class"),
    "title": ("标题", "title"),
    "body": ("正文", "body"),
    "issuer": ("发文机关", "issuer"),
    "doc_no": ("文号", "document no."),
}

_SEPARATOR = {"zh": "、", "en": ", "}


def field_label(name: str | None, lang: str) -> str:
    """A classifier field's label in `lang`; the name itself when the catalogue does not know it."""
    labels = FIELD_LABELS.get(name or "")
    return labels[LANGS.index(lang)] if labels else (name or "")


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


class _Blank(dict):
    # A parameter a stored reason lacks is shown empty, never as an error page.
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Reason:
    """A reason: a code of TEMPLATES and its parameters (JSON-able values)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The reason in `lang` ("zh" or "en"); an unknown code is shown as the code with its parameters, so a
        reason written by a newer version is still readable rather than lost."""
        templates = TEMPLATES.get(self.code)
        if templates is None:
            return f"{self.code} {dict(self.params)}"
        template = templates[LANGS.index(lang)]
        return template.format_map(_Blank({k: _value(k, v, lang) for k, v in self.params.items()}))

    def markup(self, lang: str) -> Markup:
        """The reason in `lang` as HTML: the template and every parameter escaped, except parameters that are
        Markup already (a page marks matched words)."""
        templates = TEMPLATES.get(self.code)
        if templates is None:
            return escape(self.text(lang))
        values = {k: _markup_value(k, v, lang) for k, v in self.params.items()}
        return Markup(escape(templates[LANGS.index(lang)])).format_map(_Blank(values))

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
