"""Chinese policy document numbers (发文字号) and the de-duplication key of a policy.

Two shapes are recognised:

* bracket form, ``国发〔2017〕35号`` / ``国卫规划发〔2018〕23号``: an issuer code, the year in brackets, a serial. Sources
  print the brackets as 〔〕, [], （）, (), 【】 or full-width forms; `normalise` maps them all to 〔〕.
* announcement form, ``2022年第8号``: a yearly serial of an issuer's 公告 or 通告, optionally led by the issuer
  (``国家药监局2022年第8号``, ``国家药品监督管理局公告2022年第8号``). NMPA numbers 公告 and 通告 separately, so
  "2022年第8号" alone names two documents; `qualify` adds the issuer and kind a source shows elsewhere (the
  publishing body, a title ending in "的通告") so the same document gets the same number everywhere.

Anything else raises `DocNoError`. `policy_key` is the store's de-duplication key; `strip_draft_markers` and
`core_title` reduce titles so a draft can be matched to its final version.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date

from tracker.ids.policytype import canonical_issuer

MIN_YEAR = 1949
MAX_YEAR = 2100
# NFKC already folds ［］（）﹝﹞ to ASCII or 〔〕; these are the brackets left to unify afterwards.
_OPENING = "([【〖"
_CLOSING = ")]】〗"
_BRACKETS = str.maketrans({**{c: "〔" for c in _OPENING}, **{c: "〕" for c in _CLOSING}})
_BLANKS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")

_CJK = "\u4e00-\u9fff"
# Serials are capped at 6 digits: real ones have at most 4, and int() refuses absurdly long digit runs anyway.
_BRACKET_FORM = re.compile(rf"(?P<prefix>[{_CJK}]*)〔(?P<year>[0-9]{{4}})〕第?(?P<number>[0-9]{{1,6}})号")
_ANNOUNCEMENT_FORM = re.compile(
    rf"(?P<prefix>[{_CJK}]*?)(?P<kind>公告|通告)?(?P<year>[0-9]{{4}})年第?(?P<number>[0-9]{{1,6}})号")
# In running text a number is only taken when a bracket pair encloses it, as titles and bodies print it
# ("…的通告（2022年第8号）", "（国发〔2017〕35号）"): an unenclosed prefix cannot be told from the words before it.
_ENCLOSED = re.compile(r"〔(?P<inner>[^〔〕]{0,20}〔[0-9]{4}〕第?[0-9]{1,6}号|[^〔〕]{0,24}?[0-9]{4}年第?[0-9]{1,6}号)〕")
_KIND_AT_END = re.compile(r"(?P<kind>公告|通告)(?:〔[^〔〕]*〕)?$")

_DRAFT_WRAPPER = re.compile(r"^.*?(?:关于)?(?:公开)?征求《(?P<inner>.+)》(?:[^《》]*?)意见(?:的(?:通知|函|公告))?$")
_DRAFT_MARK = re.compile(r"[(（]\s*征求意见稿\s*[)）]|征求意见稿")
_ISSUING_WRAPPER = re.compile(
    r"^.*?关于(?:发布|印发|公布|颁布)(?P<inner>.+?)的(?:通告|通知|公告|决定)(?:\s*[(（][^()（）]*号\s*[)）])?$")
_TRAILING_DOCNO = re.compile(r"\s*[(（][^()（）]*号\s*[)）]$")


class DocNoError(ValueError):
    """A text that is not a document number; the message says what is wrong and quotes the input."""

    def __init__(self, problem: str, text: object) -> None:
        super().__init__(f"{problem}: {text!r}")
        self.problem = problem
        self.text = text


@dataclass(frozen=True)
class DocNo:
    """A parsed document number. `normalised` is the canonical spelling; `kind` is 公告/通告 when known."""

    raw: str
    normalised: str
    prefix: str | None
    year: int
    number: int
    form: str  # "bracket" | "announcement"
    kind: str | None = None

    def __str__(self) -> str:
        return self.normalised


def normalise(text: str) -> str:
    """NFKC, every bracket style → 〔〕, blanks dropped. Idempotent: normalise(normalise(x)) == normalise(x)."""
    current = text
    # Dropping blanks can join a base character and a combining mark that NFKC then composes, so repeat to a
    # fixed point; two rounds suffice in practice, the bound only guards against surprises.
    for _ in range(8):
        step = _BLANKS.sub("", unicodedata.normalize("NFKC", current).translate(_BRACKETS))
        if step == current:
            break
        current = step
    return current


def _format(prefix: str | None, year: int, number: int, form: str, kind: str | None) -> str:
    if form == "bracket":
        return f"{prefix or ''}〔{year}〕{number}号"
    return f"{prefix or ''}{kind or ''}{year}年第{number}号"


def _check(text: str, year: int, number: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DocNoError(f"year {year} outside {MIN_YEAR}–{MAX_YEAR}", text)
    if number < 1:
        raise DocNoError("serial number must be at least 1", text)


def parse(text: str) -> DocNo:
    """Parse a whole text as a document number (an enclosing bracket pair is allowed), else raise DocNoError."""
    if not isinstance(text, str):
        raise DocNoError("not a string", text)
    s = normalise(text)
    if not s:
        raise DocNoError("empty document number", text)
    # Titles print numbers in brackets ("（2022年第8号）", "(国发〔2017〕35号)"): try without the enclosing pair first.
    candidates = [s[1:-1], s] if len(s) > 2 and s[0] == "〔" and s[-1] == "〕" else [s]
    for candidate in candidates:
        match = _BRACKET_FORM.fullmatch(candidate)
        if match:
            year, number = int(match["year"]), int(match["number"])
            _check(text, year, number)
            prefix = match["prefix"] or None
            return DocNo(text, _format(prefix, year, number, "bracket", None), prefix, year, number, "bracket")
        match = _ANNOUNCEMENT_FORM.fullmatch(candidate)
        if match:
            year, number = int(match["year"]), int(match["number"])
            _check(text, year, number)
            prefix = canonical_issuer(match["prefix"]) if match["prefix"] else None
            kind = match["kind"] or None
            return DocNo(text, _format(prefix, year, number, "announcement", kind), prefix, year, number,
                         "announcement", kind)
    if "号" not in s:
        raise DocNoError("no 号: not a document number", text)
    raise DocNoError("neither 〔year〕 nor 年第…号 form", text)


def try_parse(text: str | None) -> DocNo | None:
    """`parse`, or None when the text is empty or not a document number."""
    if not text:
        return None
    try:
        return parse(text)
    except DocNoError:
        return None


def find(text: str | None) -> DocNo | None:
    """The first bracket-enclosed document number in a title or body ("…的通告（2022年第8号）"), else None."""
    if not text:
        return None
    for match in _ENCLOSED.finditer(normalise(text)):
        found = try_parse(match["inner"])
        if found is not None:
            return found
    return None


# A number as a page prints it, inside any bracket pair ("（2022年第8号）", "(国发〔2017〕35号)"), or in a sentence
# that says which number published the document ("…以2022年第8号通告发布"). The inner text is taken unchanged.
_PRINTED_ENCLOSED = re.compile(r"[（(【\[［]\s*(?P<inner>[^（）()【】\[\]［］]{1,40}?号)\s*[）)】\]］]")
_PRINTED_PUBLISHED_AS = re.compile(r"以(?P<inner>[^，。；、\s以]{0,20}?[0-9]{4}\s*年\s*第?\s*[0-9]{1,6}\s*号)(?:通告|公告)?(?:发布|印发)")


def find_printed(text: str | None) -> str | None:
    """The document number as `text` prints it (blanks squeezed, nothing else changed), else None.

    Looks for a bracket-enclosed number ("…的通告（2022年第8号）") first, then a sentence saying the document was
    published as a number ("本指导原则由国家药监局以2022年第8号通告发布"). Only text that `parse` accepts counts.
    """
    if not text:
        return None
    for pattern in (_PRINTED_ENCLOSED, _PRINTED_PUBLISHED_AS):
        for match in pattern.finditer(text):
            inner = " ".join(match["inner"].split())
            if try_parse(inner) is not None:
                return inner
    return None


def kind_from_title(title: str | None) -> str | None:
    """公告 or 通告 when the title ends in one (optionally followed by its bracketed number), else None."""
    if not title:
        return None
    match = _KIND_AT_END.search(normalise(title))
    return match["kind"] if match else None


def qualify(doc: DocNo, issuer: str | None = None, title: str | None = None) -> DocNo:
    """An announcement-form number completed with the issuer and kind the source shows beside it.

    Bracket-form numbers already carry their issuer code and come back unchanged; so does a number whose issuer and
    kind are both known. `raw` is kept.
    """
    if doc.form != "announcement":
        return doc
    prefix = doc.prefix or canonical_issuer(issuer)
    kind = doc.kind or kind_from_title(title)
    if (prefix, kind) == (doc.prefix, doc.kind):
        return doc
    return replace(doc, prefix=prefix, kind=kind,
                   normalised=_format(prefix, doc.year, doc.number, "announcement", kind))


def _title_key(title: str) -> str:
    # Punctuation (incl. 《》 and quotes), separators and control characters are dropped: sources disagree on them.
    s = unicodedata.normalize("NFKC", title)
    return "".join(ch for ch in s if unicodedata.category(ch)[0] not in "PZC")


def policy_key(doc_no: str | None, title: str, issuer: str | None, published_on: date | None) -> str:
    """The store's de-duplication key of a policy: "doc:" + the qualified number, else "t:" + title|issuer|date.

    An announcement number is only a key when its issuer is known (from the number or `issuer`): "2022年第8号" alone
    is shared by many bodies.
    """
    parsed = try_parse(doc_no)
    if parsed is not None:
        parsed = qualify(parsed, issuer, title)
        if parsed.form == "bracket" or parsed.prefix:
            return "doc:" + parsed.normalised
    issuer_part = canonical_issuer(issuer) or ""
    date_part = published_on.isoformat() if published_on else ""
    return f"t:{_title_key(title)}|{issuer_part}|{date_part}"


def strip_draft_markers(title: str) -> str:
    """The title a draft's final version will carry: the 征求《…》意见 wrapper and 征求意见稿 markers removed.

    Other bracketed editions such as （试行） are kept: they are part of the final title.
    """
    s = title.strip()
    match = _DRAFT_WRAPPER.match(s)
    if match:
        s = match["inner"]
    return _DRAFT_MARK.sub("", s).strip()


def core_title(title: str) -> str:
    """The document's own name inside a title: draft markers, the "关于发布/印发…的通告/通知" wrapper, a trailing
    bracketed number and 《》 removed, so "国家药监局关于发布X的通告（2022年第8号）" and a draft of X both give X.
    """
    s = strip_draft_markers(title)
    match = _ISSUING_WRAPPER.match(s)
    if match:
        s = match["inner"]
    s = _TRAILING_DOCNO.sub("", s)
    return s.replace("《", "").replace("》", "").strip()
