"""Parse and normalise NMPA medical-device certificate numbers (SOURCES.md §5).

Three shapes are recognised:

* current registrations (since 2014), ``国械注准20203210172``: authority, origin, first-registration year,
  management class, catalogue category, serial;
* legacy SFDA registrations (before 2014), ``国食药监械(准)字2013第3210001号``;
* class I filings (备案), ``国械备20150001`` / ``粤潮械备20140023``, which are *not* registrations.

Anything else raises `CertNoError` naming the problem and the input. The store keys devices by `CertNo.normalised`,
so the same certificate printed with full-width digits or stray spaces lands on the same row.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tracker.records import ORIGINS as RECORD_ORIGINS

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
AUTHORITIES = "国" + PROVINCES
ORIGINS = dict(zip("准进许", RECORD_ORIGINS, strict=True))  # the mark in a number → its origin (tracker.records.ORIGINS)
MIN_YEAR = 1990
DEFAULT_MAX_YEAR = 2100

# NFKC turns U+3000 and NBSP into plain spaces, but zero-width characters survive it and are common in copied web text.
_BLANKS = r"[\s\u200b-\u200d\u2060\ufeff]"
_BLANK_RUN = re.compile(_BLANKS + "+")

_LEGACY = re.compile(r"(?P<auth>.*?)食药监械\((?P<origin>.?)\)字(?P<year>[0-9]{4})第(?P<tail>[0-9]*)号", re.S)
_CURRENT = re.compile(r"(?P<auth>.*?)械注(?P<origin>.?)(?P<digits>.*?)号?", re.S)
_FILING = re.compile(r"(?P<auth>.*?)械备(?P<digits>.*?)号?", re.S)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A number written plainly (nothing for `normalise` to change): a current registration, or a filing with at most a
# city. Group `shape` is what `parse` validates; the digits after it (category and serial, or serial) it never reads.
_PLAIN = re.compile(f"(?P<shape>[{AUTHORITIES}]械注[准进许][0-9]{{5}})[0-9]{{6}}"
                    f"|(?P<filing>[{AUTHORITIES}][\u4e00-\u9fff]?械备[0-9]{{4}})[0-9]{{4}}")


def _loose(*tokens: str) -> str:
    """Join regex tokens allowing blanks between them: news bodies split numbers across spaces and line breaks."""
    return (_BLANKS + "*").join(tokens)


_D = "[0-9]"
_AUTH = f"[{AUTHORITIES}]"
# A filing's city is at most one character; allowing more would make "江苏省苏械备…" read as authority "苏省苏".
_FIND = re.compile("|".join([
    _loose(_AUTH, "械", "注", "[准进许]", *[_D] * 11) + "(?![0-9])",
    _loose(_AUTH, "食", "药", "监", "械", r"\(", "[准进许]", r"\)", "字", *[_D] * 4, "第", *[_D] * 7, "号"),
    _loose(_AUTH + f"(?:{_BLANKS}*(?!械)[\u4e00-\u9fff])?", "械", "备", *[_D] * 8) + "(?![0-9])",
]))


class CertNoError(ValueError):
    """A text that is not a valid certificate number; `problem` says what is wrong, `text` is the input."""

    def __init__(self, problem: str, text: object) -> None:
        super().__init__(f"{problem}: {text!r}")
        self.problem = problem
        self.text = text


@dataclass(frozen=True)
class CertNo:
    """One parsed certificate number; `normalised` is the canonical string used as the device key."""

    normalised: str
    kind: str  # "registration" | "filing"
    form: str  # "current" | "legacy" | "filing"
    authority: str  # "国" or a province abbreviation (plus a city for filings, e.g. "粤潮")
    origin: str | None  # "domestic" | "imported" | "hmt"; None for filings
    year: int | None
    mgmt_class: int | None
    category: str | None
    serial: str | None

    @property
    def is_registration(self) -> bool:
        """True for registration certificates (current or legacy), False for class I filings."""
        return self.kind == "registration"

    @property
    def is_class3(self) -> bool:
        """True when the number says management class III."""
        return self.mgmt_class == 3


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters and brackets to half-width) and removal of all whitespace; never raises."""
    previous = None
    # Removing a blank can put a base letter next to a combining mark that NFKC then composes, so repeat to a fixed
    # point; this keeps normalise idempotent. It settles after at most three passes.
    while text != previous:
        previous, text = text, _BLANK_RUN.sub("", unicodedata.normalize("NFKC", text))
    return text


def _check_year(text: str, year: int, max_year: int | None) -> None:
    top = DEFAULT_MAX_YEAR if max_year is None else max_year
    if not MIN_YEAR <= year <= top:
        raise CertNoError(f"year {year} outside {MIN_YEAR}..{top}", text)


def _check_prefix(text: str, auth: str, origin_char: str) -> None:
    if not auth:
        raise CertNoError("missing authority (国 or a province abbreviation) before the number", text)
    if auth not in AUTHORITIES or len(auth) != 1:
        raise CertNoError(f"unknown authority {auth!r} (expected 国 or a province abbreviation)", text)
    if origin_char not in ORIGINS:
        raise CertNoError(f"unknown origin {origin_char!r} (expected 准, 进 or 许)", text)


def _registration(text: str, form: str, normalised: str, auth: str, origin_char: str, year: int, digits7: str,
                  max_year: int | None) -> CertNo:
    """Validate the parts shared by current and legacy registrations and build the CertNo."""
    _check_prefix(text, auth, origin_char)
    mgmt_class = int(digits7[0])
    if not 1 <= mgmt_class <= 3:
        raise CertNoError(f"management class {mgmt_class} out of range 1..3", text)
    if mgmt_class == 1:
        raise CertNoError("class 1 devices are filed (械备), not registered", text)
    if origin_char != "准" and auth != "国":
        raise CertNoError(f"{origin_char} (imported/Hong Kong-Macao-Taiwan) is only issued by 国, not {auth}", text)
    if mgmt_class == 3 and auth != "国":
        raise CertNoError(f"class 3 registrations are issued by 国, not {auth}", text)
    _check_year(text, year, max_year)
    return CertNo(normalised, "registration", form, auth, ORIGINS[origin_char], year, mgmt_class, digits7[1:3],
                  digits7[3:])


def _digits(text: str, digits: str, count: int, after: str) -> None:
    if not re.fullmatch("[0-9]*", digits):
        raise CertNoError(f"expected only digits after {after!r}, got {digits!r}", text)
    if len(digits) != count:
        raise CertNoError(f"expected {count} digits after {after!r}, got {len(digits)}", text)


def parse(text: str, *, max_year: int | None = None) -> CertNo:
    """Parse one certificate number (any typography); raise CertNoError saying what is wrong.

    `max_year` caps the plausible year (default 2100); pass the current year to reject numbers from the future.
    """
    if not isinstance(text, str):
        raise CertNoError(f"expected a string, got {type(text).__name__}", text)
    s = normalise(text)
    if not s:
        raise CertNoError("empty certificate number", text)
    if "食药监械" in s:
        m = _LEGACY.fullmatch(s)
        if not m:
            raise CertNoError("malformed legacy number (expected ×食药监械(准|进|许)字YYYY第NNNNNNN号)", text)
        if len(m["tail"]) != 7:
            raise CertNoError(f"expected 7 digits between 第 and 号, got {len(m['tail'])}", text)
        return _registration(text, "legacy", s, m["auth"], m["origin"], int(m["year"]), m["tail"], max_year)
    if "械注" in s:
        m = _CURRENT.fullmatch(s)
        assert m  # the pattern matches any string containing 械注
        _check_prefix(text, m["auth"], m["origin"])
        _digits(text, m["digits"], 11, f"{m['auth']}械注{m['origin']}")
        d = m["digits"]
        canonical = f"{m['auth']}械注{m['origin']}{d}"
        return _registration(text, "current", canonical, m["auth"], m["origin"], int(d[:4]), d[4:], max_year)
    if "械备" in s:
        m = _FILING.fullmatch(s)
        assert m
        auth = m["auth"]
        if not auth or auth[0] not in AUTHORITIES or len(auth) > 2 or not all(_CJK.fullmatch(c) for c in auth):
            raise CertNoError(f"unknown filing authority {auth!r} (expected 国, or a province plus a city)", text)
        if auth[0] == "国" and len(auth) > 1:
            raise CertNoError(f"国 filings carry no city, got {auth!r}", text)
        _digits(text, m["digits"], 8, f"{auth}械备")
        year = int(m["digits"][:4])
        _check_year(text, year, max_year)
        # Only class I devices are filed (备案), so the class is implied rather than printed.
        return CertNo(f"{auth}械备{m['digits']}", "filing", "filing", auth, None, year, 1, None, m["digits"][4:])
    raise CertNoError("unknown prefix (expected …械注…, …食药监械(…)字… or …械备…)", text)


def try_parse(text: str | None, *, max_year: int | None = None) -> CertNo | None:
    """Like parse, but None for None input or an invalid number."""
    if text is None:
        return None
    try:
        return parse(text, max_year=max_year)
    except CertNoError:
        return None


def shape(text: str) -> str | None:
    """A plainly written number with the digits `parse` never validates set to 0 (a current registration's category
    and serial, a filing's serial); None for any other text.

    `parse(shape(text))` fails exactly when `parse(text)` fails, and otherwise agrees with it on kind, form,
    authority, origin, year and class: a bulk reader that needs only those (the UDI scope check) can parse once per
    shape instead of once per number.
    """
    m = _PLAIN.fullmatch(text)
    if m is None:
        return None
    if m["shape"]:
        return m["shape"] + "000000"
    return m["filing"] + "0000"


def find_all(text: str, *, max_year: int | None = None) -> list[CertNo]:
    """Every valid certificate number in a longer text, in order of first appearance, each number once.

    Blanks inside a number are tolerated; digits glued onto a number make it unreadable and it is skipped, as are
    numbers of the right shape that fail validation (e.g. class 5).
    """
    found: dict[str, CertNo] = {}
    for m in _FIND.finditer(unicodedata.normalize("NFKC", text)):
        cert = try_parse(m.group(), max_year=max_year)
        if cert is not None:
            found.setdefault(cert.normalised, cert)
    return list(found.values())
