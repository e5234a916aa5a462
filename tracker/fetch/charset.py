"""Explicit text decoding for fetched pages, done before any parsing.

Chinese government pages are mostly UTF-8, some older ones GB2312/GBK, and a few declare gb2312 while holding
GBK-only characters (e.g. 镕). Handing such bytes to BeautifulSoup+lxml can yield an empty document, and guessing
from short texts goes wrong, so the order here is fixed: byte-order mark, the HTTP header charset, the charset the
document declares in its first 2 KB (`<meta charset>`, `http-equiv`, XML declaration), strict UTF-8, GB18030.
Each step decodes strictly; a declaration that does not fit the bytes is skipped rather than trusted.
"""
from __future__ import annotations

import codecs
import re

SNIFF_BYTES = 2048

# GB2312 and GBK are subsets of GB18030: decoding with the superset keeps GBK-only characters that a page
# declaring gb2312 often contains, and never changes a character the narrower codec would have produced.
# WHATWG likewise reads the latin-1 label as windows-1252.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso8859-1": "cp1252"}
# Labels browsers accept that Python's codec registry does not know.
_ALIASES = {"x-gbk": "gbk", "gb_2312-80": "gb2312", "x-gb2312": "gb2312"}

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([^\s\"';,]+)", re.IGNORECASE)
# Covers <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x"> and <?xml encoding="x"?>.
_DOC_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w.:]+)|<\?xml[^>]*?encoding\s*=\s*["']([-\w.:]+)""",
    re.IGNORECASE,
)


def normalise_charset(label: str | None) -> str | None:
    """Map a charset label to a Python codec name (gb2312/gbk → gb18030); None when unknown or empty."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def header_charset(content_type: str | None) -> str | None:
    """The codec named by a Content-Type header's charset parameter, if any and known."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_charset(match.group(1)) if match else None


def document_charset(content: bytes) -> str | None:
    """The codec the document itself declares in its first 2 KB, if any and known."""
    match = _DOC_CHARSET.search(content[:SNIFF_BYTES])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace")
    codec = normalise_charset(label)
    # A document that could be read far enough to find an ASCII declaration is not UTF-16/32 (as in WHATWG).
    if codec and codec.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return codec


def _strict(content: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_text(content: bytes, content_type: str | None = None) -> str:
    """Decode fetched bytes to text: BOM, header charset, document charset, strict UTF-8, then GB18030.

    Every candidate decodes strictly, so a wrong declaration falls through to the next step instead of producing
    mojibake. Only when nothing decodes cleanly does it return UTF-8 with replacement characters: never an empty
    string for non-empty bytes.
    """
    if not content:
        return ""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            text = _strict(content, codec)
            if text is not None:
                return text
    candidates = [header_charset(content_type), document_charset(content), "utf-8", "gb18030"]
    seen: set[str] = set()
    for codec in candidates:
        if codec is None or codec in seen:
            continue
        seen.add(codec)
        text = _strict(content, codec)
        if text is not None:
            return text
    return content.decode("utf-8", errors="replace")
