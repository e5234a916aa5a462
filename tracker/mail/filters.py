"""What a subscriber or a team watch follows, as data: the one definition of the stored filter dict
(`normalize_filters`, shared by the subscription pages, digests and team watches), and how it becomes the web lists'
filters (tracker.read.lists): one filter per chosen value, OR within a facet, AND across facets.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import and_, false, or_

from tracker.classify import taxonomy
from tracker.ids import certno
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.read.filters import DeviceFilter, PolicyFilter
from tracker.read.lists import POLICY_TYPE_LABELS, device_conditions, policy_conditions

MAX_VALUES = 10          # per facet: keeps the generated SQL small and the form honest
MAX_TEXT = 60


def _codes(values: Any, facet: str) -> list[str]:
    out: list[str] = []
    for value in values if isinstance(values, (list, tuple)) else [values] if values else []:
        if isinstance(value, str) and taxonomy.is_valid(value) and taxonomy.get(value).facet == facet \
                and value not in out:
            out.append(value)
    return out[:MAX_VALUES]


def _split(values: Any) -> list[Any]:
    # A form's text box holds values separated by commas (either width) or lines; a list is taken as it is.
    if isinstance(values, str):
        values = values.replace("，", ",").replace("\n", ",").split(",")
    return list(values) if isinstance(values, (list, tuple)) else []


def _texts(values: Any) -> list[str]:
    out: list[str] = []
    for value in _split(values):
        text = " ".join(str(value).split())[:MAX_TEXT]
        if text and text not in out:
            out.append(text)
    return out[:MAX_VALUES]


def certificate_numbers(values: Any) -> list[str]:
    """Registration certificate numbers, canonical (tracker.ids.certno), in order, without repeats; a text that is
    not one raises certno.CertNoError (filings are refused too: they are not certificates a team follows)."""
    out: list[str] = []
    for value in _split(values):
        if not str(value).strip():
            continue
        parsed = certno.parse(str(value))
        if not parsed.is_registration:
            raise certno.CertNoError("a class I filing, not a registration certificate", value)
        if parsed.normalised not in out:
            out.append(parsed.normalised)
    return out


def _certificates(values: Any) -> list[str]:
    # Stored dicts were checked when saved; a number that no longer parses is dropped rather than failing a digest.
    out: list[str] = []
    for value in _split(values):
        try:
            out += [c for c in certificate_numbers([value]) if c not in out]
        except certno.CertNoError:
            continue
    return out[:MAX_VALUES]


def normalize_filters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical filter dict of a subscription: known keys only, valid taxonomy codes, trimmed texts.

    Policy types and issuers are stored as taxonomy codes (`guidance`, `nmpa`, ...), stages as tracker.ids.policytype
    STAGES (`draft`, `issued`, ...); digests' forms offer types, team watches all three. Certificates are canonical
    registration numbers (tracker.ids.certno), a device-only facet. `ai_only` (default True) keeps the digest to
    AI-tagged devices and policies, the tracker's subject.
    """
    raw = raw or {}
    policy_types = [c for c in _codes(raw.get("policy_types"), "policy_type") if c in POLICY_TYPE_LABELS]
    return {
        "areas": _codes(raw.get("areas"), "area"),
        "functions": _codes(raw.get("functions"), "function"),
        "diseases": _codes(raw.get("diseases"), "disease"),
        "companies": _texts(raw.get("companies")),
        "certificates": _certificates(raw.get("certificates")),
        "keywords": _texts(raw.get("keywords")),
        "policy_types": policy_types,
        "issuers": _codes(raw.get("issuers"), "issuer"),
        "stages": [v for v in POLICY_STAGES if v in _texts(raw.get("stages"))],
        "ai_only": bool(raw.get("ai_only", True)),
    }


def filter_groups(kind: str, filters: Mapping[str, Any]) -> list[list[Any]]:
    """A subscription's filters for `kind` as groups of tracker.read.lists filters: an item matches when, in every
    group, at least one filter matches it (OR within a facet, AND across facets)."""
    f = normalize_filters(filters)
    if kind == "device":
        groups = [
            [DeviceFilter(ai=True)] if f["ai_only"] else [],
            [DeviceFilter(sub=c) if taxonomy.get(c).parent else DeviceFilter(area=c) for c in f["areas"]],
            [DeviceFilter(function=c) for c in f["functions"]],
            [DeviceFilter(disease=c) for c in f["diseases"]],
            [DeviceFilter(registrant=c) for c in f["companies"]],
            [DeviceFilter(cert=c) for c in f["certificates"]],
            [DeviceFilter(q=k) for k in f["keywords"]],
        ]
    elif f["certificates"]:
        # A policy holds no certificate: filters that follow certificates match no policy (an empty group).
        return [[]]
    else:
        groups = [
            [PolicyFilter(ai=True)] if f["ai_only"] else [],
            [PolicyFilter(area=c) for c in f["areas"]],
            [PolicyFilter(doc_type=c) for c in f["policy_types"]],
            [PolicyFilter(issuer=c) for c in f["issuers"]],
            [PolicyFilter(stage=v) for v in f["stages"]],
            [PolicyFilter(q=k) for k in f["keywords"]],
        ]
    return [g for g in groups if g]


def subscription_clauses(kind: str, filters: Mapping[str, Any]) -> list[Any]:
    """The same filters as WHERE clauses (for a one-off query, e.g. a list page of what a subscription matches)."""
    conditions = device_conditions if kind == "device" else policy_conditions
    return [or_(false(), *(and_(*conditions(f)) for f in group)) for group in filter_groups(kind, filters)]
