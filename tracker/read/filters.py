"""The filters of the lists: every argument a device or policy list accepts, parsed from any string mapping
(`from_args`: a request's arguments, a stored subscription) and turned back into one (`to_args`), so every list state
is a shareable URL and a digest subscription can store the same dict. `parse` returns the filter and the refused
arguments with why (the web answers 400 for any: a dropped filter would be a silent wrong answer); `from_args` drops
them (lenient, for stored arguments). Unknown argument names are ignored (`lang`, tracking tags). `Args` is the one
reader of URL arguments, which the other views use too. Nothing here builds SQL (tracker.read.lists does) or imports Flask.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from tracker.classify import taxonomy
from tracker.ids import certno
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.records import ORIGINS
from tracker.store.events import EVENT_KINDS
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


# ---------------------------------------------------------------- argument parsing

# The calendar the tracker answers about: dates outside it (0001-01-01, 9999-12-31) are refused rather than turned
# into instants that overflow in time-zone arithmetic.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
MAX_ID = 2**31 - 1  # the largest id the database's integer keys hold
MAX_TEXT_CHARS = 300
MAX_SOURCE_CHARS = 40  # a source slug
# Control characters other than blanks: no search or name holds one, and PostgreSQL refuses NUL in text.
_CONTROLS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_WHOLE = re.compile(r"-?[0-9]+(\.0*)?\Z")
TEXT_PATTERN = f"^[^{_CONTROLS}]*$"  # what a text argument may hold, as the OpenAPI document states it
# The years MIN_DATE..MAX_DATE as a pattern on top of `format: date`, for the OpenAPI document.
DATE_PATTERN = "^(19|2[0-9])[0-9][0-9]-"
FLAG_VALUES = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


# Why an argument is refused: key -> English wording (the problem documents'); web/i18n.py has both languages under
# "refused_<key>" for the error page.
REFUSALS = {
    "too_long": "longer than {limit} characters", "control": "contains control characters",
    "not_whole": "not a whole number", "range": "not between {lo} and {hi}", "not_date": "not a date (YYYY-MM-DD)",
    "not_flag": "not one of {accepted}", "not_choice": "not an accepted value", "not_code": "not a known {facet} code",
    "not_sort": "not a sort key", "past_end": "past the end: the last page is {last}",
    "query_too_long": "the query string is longer than {limit} bytes",
    "not_certno": "not a registration certificate number (国械注准/进/许…)",
}


@dataclass(frozen=True)
class Refusal:
    """Why one argument was refused: a REFUSALS key and its values; str() gives the English wording."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return REFUSALS[self.key].format(**dict(self.values))


class Args:
    """URL arguments being parsed: each reader returns the value (None when absent or bad) and notes in `errors`
    why a bad one was refused (argument name -> reason). An empty value counts as absent (a form's "any")."""

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.args = args
        self.errors: dict[str, Refusal] = {}

    def bad(self, name: str, key: str, **values: Any) -> None:
        """Note that argument `name` was refused, and why (a REFUSALS key)."""
        self.errors.setdefault(name, Refusal(key, tuple(values.items())))

    def text(self, name: str, limit: int = MAX_QUERY_CHARS) -> str | None:
        """Text with blanks collapsed; longer than `limit` characters or holding control characters is refused."""
        value = self.args.get(name)
        if not isinstance(value, str) or not value:
            return None
        if len(value) > limit:
            return self.bad(name, "too_long", limit=limit)
        if _CONTROL.search(value):
            return self.bad(name, "control")
        return " ".join(value.split()) or None

    def int(self, name: str, lo: int, hi: int) -> int | None:
        """A whole number in lo..hi ("48.0" is 48, as JSON Schema counts integers)."""
        value = self.text(name, 14)
        if value is None:
            return None
        if not _WHOLE.match(value):
            return self.bad(name, "not_whole")
        number = int(value.partition(".")[0])
        return number if lo <= number <= hi else self.bad(name, "range", lo=lo, hi=hi)

    def date(self, name: str) -> date | None:
        """A YYYY-MM-DD date between MIN_DATE and MAX_DATE."""
        value = self.text(name, 10)
        if value is None:
            return None
        try:
            day = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            return self.bad(name, "not_date")
        return day if MIN_DATE <= day <= MAX_DATE else self.bad(name, "range", lo=MIN_DATE, hi=MAX_DATE)

    def flag(self, name: str) -> bool:
        """A yes/no flag (1/true/on/yes or 0/false/off/no); absent is no."""
        value = self.text(name, 5)
        if value is None:
            return False
        if value.lower() not in FLAG_VALUES:
            self.bad(name, "not_flag", accepted=", ".join(FLAG_VALUES))
            return False
        return FLAG_VALUES[value.lower()]

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        """One of `allowed`."""
        value = self.text(name, 80)
        return value if value is None or value in tuple(allowed) else self.bad(name, "not_choice")

    def code(self, name: str, facet: str, *, top: bool | None = None) -> str | None:
        """A taxonomy code of `facet` (top=True: a top-level area, top=False: a sub-area)."""
        value = self.text(name, 80)
        if value is None:
            return None
        node = taxonomy.get(value) if taxonomy.is_valid(value) else None
        if node is None or node.facet != facet or (top is True and node.parent) or (top is False and not node.parent):
            return self.bad(name, "not_code", facet=facet)
        return value

    def certificate(self, name: str) -> str | None:
        """A registration certificate number, canonicalised (full-width digits, stray blanks); filings and malformed
        numbers are refused."""
        value = self.text(name, 80)
        if value is None:
            return None
        parsed = certno.try_parse(value)
        return parsed.normalised if parsed and parsed.is_registration else self.bad(name, "not_certno")

    def sort(self, allowed: Iterable[str], default: str) -> str:
        """A sort key of `allowed`, optionally with a leading '-'."""
        value = self.text("sort", 20)
        if value is None:
            return default
        return value if value.removeprefix("-") in tuple(allowed) else self.bad("sort", "not_sort") or default

    def paging(self, max_per_page: int = MAX_PER_PAGE, default_per_page: int = DEFAULT_PER_PAGE,
               names: tuple[str, str] = ("page", "per_page")) -> dict[str, int]:
        """`page` (1..MAX_PAGE) and `per_page` (1..max_per_page) under `names`."""
        return {"page": self.int(names[0], 1, MAX_PAGE) or 1,
                "per_page": self.int(names[1], 1, max_per_page) or default_per_page}


def last_page(total: int, per_page: int) -> int:
    """The number of the last page of `total` rows (1 when there are none: an empty list has one, empty, page)."""
    return max(1, -(-total // per_page))


class _Filter:
    """What device and policy filters share: paging, sort and the round trip to URL arguments."""

    page: int
    per_page: int

    @classmethod
    def from_args(cls, args: Mapping[str, Any]):
        """The filter of URL arguments with refused values dropped (lenient: for stored, not typed, arguments, such
        as a digest subscription's filters); `parse` is the strict reading that reports refusals."""
        return cls.parse(args)[0]

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
    # The certificate had an event of this kind (any kind when only dates are given) dated within event_from..to:
    # "renewals this month", "changes to a competitor's certificates".
    event: str | None = None
    event_from: date | None = None
    event_to: date | None = None
    registrant: str | None = None
    catalogue: str | None = None
    company: int | None = None
    # One registration certificate, canonical (tracker.ids.certno): "follow this certificate".
    cert: str | None = None
    data: str | None = None
    sort: str = "-issued"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> tuple["DeviceFilter", dict[str, Refusal]]:
        """The filter of URL arguments (a MultiDict or any mapping of strings), and the refused ones with why."""
        a = Args(args)
        f = cls(
            q=a.text("q"), area=a.code("area", "area", top=True), sub=a.code("sub", "area", top=False),
            function=a.code("function", "function"), disease=a.code("disease", "disease"),
            site=a.code("site", "site"), signal=a.code("signal", "signal"), ai=a.flag("ai"),
            mgmt_class=a.int("class", 1, 3), origin=a.choice("origin", ORIGINS), year=a.int("year", 1980, 2100),
            issued_from=a.date("issued_from"), issued_to=a.date("issued_to"), seen_from=a.date("seen_from"),
            event=a.choice("event", EVENT_KINDS), event_from=a.date("event_from"), event_to=a.date("event_to"),
            registrant=a.text("registrant", MAX_TEXT_CHARS), catalogue=a.text("catalogue", 32),
            company=a.int("company", 1, MAX_ID), cert=a.certificate("cert"), data=a.choice("data", DATA_KINDS),
            sort=a.sort(DEVICE_SORTS, "-issued"), **a.paging(),
        )
        return f, a.errors


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
    def parse(cls, args: Mapping[str, Any]) -> tuple["PolicyFilter", dict[str, Refusal]]:
        """The filter of URL arguments, and the refused ones with why."""
        a = Args(args)
        f = cls(
            q=a.text("q"), area=a.code("area", "area"), doc_type=a.code("type", "policy_type"),
            issuer=a.code("issuer", "issuer"), stage=a.choice("stage", POLICY_STAGES),
            scenario=a.code("scenario", "scenario"), date_from=a.date("date_from"), date_to=a.date("date_to"),
            ai=a.flag("ai"), data=a.choice("data", DATA_KINDS), sort=a.sort(POLICY_SORTS, "-date"), **a.paging(),
        )
        return f, a.errors
