"""Shared date parsing for scrapers: every date format the sources print (SOURCES.md §6) becomes a datetime.date.

Formats: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (NMPA PubDate), `(YYYY-MM-DD)` (CMDE list spans), `YYYY年M月D日` (notice
tables, possibly split across spans so blanks may sit between the parts), `YYYY.MM.DD` (gov.cn pubtimeStr),
`YYYY-MM-DD-HH:mm:ss` (gov.cn meta), `YYYYMMDD` (UDI file names); full-width digits and punctuation are accepted.
Times are dropped: callers that need a time parse it themselves.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

_S = r"\s*"
_TIME = r"(?:(?:\s+|-|T)\d{1,2}:\d{2}(?::\d{2})?)?"
# Group names are shared by all alternatives through separate patterns (re forbids duplicate names in one pattern).
_PATTERNS = [
    re.compile(rf"(?P<y>\d{{4}}){_S}-{_S}(?P<m>\d{{1,2}}){_S}-{_S}(?P<d>\d{{1,2}}){_TIME}"),
    re.compile(rf"(?P<y>\d{{4}}){_S}年{_S}(?P<m>\d{{1,2}}){_S}月{_S}(?P<d>\d{{1,2}}){_S}日"),
    re.compile(rf"(?P<y>\d{{4}}){_S}\.{_S}(?P<m>\d{{1,2}}){_S}\.{_S}(?P<d>\d{{1,2}})"),
    re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
]
_BRACKETS = re.compile(r"^[(\[【〔]\s*(.*?)\s*[)\]】〕]$", re.S)


def _prepare(text: str) -> str:
    # NFKC maps full-width digits, brackets and U+3000 to ASCII; NBSP becomes a plain space too.
    return unicodedata.normalize("NFKC", text).strip()


def _to_date(match: re.Match[str]) -> date | None:
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def parse_date(text: str | None) -> date | None:
    """The date a whole string spells in one of the known formats (surrounding brackets allowed), else None."""
    if not text:
        return None
    s = _prepare(text)
    bracketed = _BRACKETS.match(s)
    if bracketed:
        s = bracketed.group(1)
    for pattern in _PATTERNS:
        match = pattern.fullmatch(s)
        if match:
            return _to_date(match)
    return None


def find_date(text: str | None) -> date | None:
    """The first valid date found anywhere in a longer text (e.g. `发布时间：2026-11-20`), else None.

    Digits glued onto a candidate disqualify it, so a certificate or file number is not read as a date.
    """
    if not text:
        return None
    s = _prepare(text)
    best: tuple[int, date] | None = None
    for pattern in _PATTERNS:
        for match in re.finditer(rf"(?<!\d)(?:{pattern.pattern})(?!\d)", s):
            found = _to_date(match)
            if found is not None:
                if best is None or match.start() < best[0]:
                    best = (match.start(), found)
                break
    return best[1] if best else None
