"""The filters of the lists: every argument a device or policy list accepts, parsed from any string mapping
(`from_args`: a request's arguments, a stored subscription) and turned back into one (`to_args`), so every list state
is a shareable URL and a digest subscription can store the same dict. Parsing is lenient: a malformed or unknown
value is dropped. Nothing here builds SQL (tracker.read.lists does) or imports Flask.
"""
from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from tracker.classify import taxonomy
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.records import ORIGINS
from tracker.store.models import Device, Policy

MAX_QUERY_CHARS = 100
MAX_TERMS = 8
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 10_000
DATA_KINDS = ("live", "sample")


def search_terms(query: str | None) -> tuple[str, ...]:
    """The terms of a search box value: NFKC-normalised, cut to MAX_QUERY_CHARS, split on blanks, de-duplicated."""
    if not query:
        return ()
    text = unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS])
    terms: list[str] = []
    for term in text.split():
        if term not in terms:
            terms.append(term)
    return tuple(terms[:MAX_TERMS])


# ---------------------------------------------------------------- argument parsing (lenient: bad values are ignored)

def _text(args: Mapping[str, Any], name: str, limit: int = 100) -> str | None:
    value = args.get(name)
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())[:limit]
    return value or None


def _int(args: Mapping[str, Any], name: str, lo: int, hi: int) -> int | None:
    value = _text(args, name, 12)
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and lo <= number <= hi else None


def _date(args: Mapping[str, Any], name: str) -> date | None:
    value = _text(args, name, 10)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _flag(args: Mapping[str, Any], name: str) -> bool:
    return _text(args, name, 5) in ("1", "true", "on", "yes")


def _choice(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = _text(args, name, 40)
    return value if value in tuple(allowed) else None


def _code(args: Mapping[str, Any], name: str, facet: str, *, top: bool | None = None) -> str | None:
    """A taxonomy code of `facet` (top=True: a top-level area, top=False: a sub-area), else None."""
    value = _text(args, name, 80)
    if not value or not taxonomy.is_valid(value):
        return None
    node = taxonomy.get(value)
    if node.facet != facet or (top is True and node.parent) or (top is False and not node.parent):
        return None
    return value


def _sort(args: Mapping[str, Any], allowed: Iterable[str], default: str) -> str:
    value = _text(args, "sort", 20) or default
    return value if value.removeprefix("-") in tuple(allowed) else default


class _Filter:
    """What device and policy filters share: paging, sort and the round trip to URL arguments."""

    page: int
    per_page: int

    def to_args(self) -> dict[str, str]:
        """The URL arguments that reproduce this filter (defaults left out, so URLs stay short)."""
        out: dict[str, str] = {}
        defaults = type(self)()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == getattr(defaults, f.name) or value is None:
                continue
            name = f.metadata.get("arg", f.name)
            out[name] = "1" if value is True else value.isoformat() if isinstance(value, date) else str(value)
        return out

    def replace(self, **changes: Any):
        """A copy with some fields changed (a filter change goes back to page 1 unless `page` is given)."""
        changes.setdefault("page", 1)
        return dataclasses.replace(self, **changes)

    @property
    def offset(self) -> int:
        """Rows to skip for the current page."""
        return (self.page - 1) * self.per_page

    def is_empty(self) -> bool:
        """True when no filter (other than paging and sort) is set."""
        return not {k for k in self.to_args() if k not in ("page", "per_page", "sort")}


def _paging(args: Mapping[str, Any]) -> dict[str, int]:
    return {
        "page": _int(args, "page", 1, MAX_PAGE) or 1,
        "per_page": _int(args, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE,
    }


DEVICE_SORTS = {
    "issued": Device.issued_on, "seen": Device.first_seen, "name": Device.product_name,
    "registrant": Device.registrant, "year": Device.first_reg_year, "cert": Device.cert_no,
}


@dataclass(frozen=True)
class DeviceFilter(_Filter):
    """Every filter of the approvals list; the field metadata names the URL argument where it differs."""

    q: str | None = None
    area: str | None = None
    sub: str | None = None
    function: str | None = None
    disease: str | None = None
    site: str | None = None
    signal: str | None = None
    ai: bool = False
    mgmt_class: int | None = dataclasses.field(default=None, metadata={"arg": "class"})
    origin: str | None = None
    year: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    seen_from: date | None = None
    registrant: str | None = None
    catalogue: str | None = None
    company: int | None = None
    data: str | None = None
    sort: str = "-issued"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "DeviceFilter":
        """Parse URL arguments (a MultiDict or any mapping of strings); unknown or malformed values are dropped."""
        return cls(
            q=_text(args, "q", MAX_QUERY_CHARS), area=_code(args, "area", "area", top=True),
            sub=_code(args, "sub", "area", top=False), function=_code(args, "function", "function"),
            disease=_code(args, "disease", "disease"), site=_code(args, "site", "site"),
            signal=_code(args, "signal", "signal"), ai=_flag(args, "ai"), mgmt_class=_int(args, "class", 1, 3),
            origin=_choice(args, "origin", ORIGINS), year=_int(args, "year", 1980, 2100),
            issued_from=_date(args, "issued_from"), issued_to=_date(args, "issued_to"),
            seen_from=_date(args, "seen_from"), registrant=_text(args, "registrant", 300),
            catalogue=_text(args, "catalogue", 32), company=_int(args, "company", 1, 2**31 - 1),
            data=_choice(args, "data", DATA_KINDS), sort=_sort(args, DEVICE_SORTS, "-issued"), **_paging(args),
        )


POLICY_SORTS = {"date": Policy.published_on, "seen": Policy.first_seen, "title": Policy.title, "issuer": Policy.issuer}


@dataclass(frozen=True)
class PolicyFilter(_Filter):
    """Every filter of the policies list."""

    q: str | None = None
    area: str | None = None
    doc_type: str | None = dataclasses.field(default=None, metadata={"arg": "type"})
    issuer: str | None = None
    stage: str | None = None
    scenario: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    ai: bool = False
    data: str | None = None
    sort: str = "-date"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "PolicyFilter":
        """Parse URL arguments; unknown or malformed values are dropped."""
        return cls(
            q=_text(args, "q", MAX_QUERY_CHARS), area=_code(args, "area", "area"),
            doc_type=_code(args, "type", "policy_type"), issuer=_code(args, "issuer", "issuer"),
            stage=_choice(args, "stage", POLICY_STAGES), scenario=_code(args, "scenario", "scenario"),
            date_from=_date(args, "date_from"), date_to=_date(args, "date_to"), ai=_flag(args, "ai"),
            data=_choice(args, "data", DATA_KINDS), sort=_sort(args, POLICY_SORTS, "-date"), **_paging(args),
        )
