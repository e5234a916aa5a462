"""Shared HTML text helpers for scrapers: whitespace normalisation and the visible text of an element.

Government pages are often pasted from Word: one cell's text is split across several `<span>`s, padded with
`&nbsp;` and full-width spaces (U+3000), and wrapped mid-word by the editor's line breaks. These helpers turn such
markup into the text a reader sees.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import Declaration, Doctype, ProcessingInstruction

from tracker.records import Attachment

# \s covers NBSP and U+3000 in Python 3; zero-width characters are not whitespace to re but are to a reader.
_BLANKS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")
_CJK = r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"
_CJK_GAP = re.compile(rf"(?<={_CJK}) (?={_CJK})")
_BLOCK_TAGS = frozenset({"address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "h1", "h2", "h3", "h4",
                         "h5", "h6", "hr", "li", "ol", "p", "section", "table", "td", "th", "tr", "ul"})
_SKIP_PARENTS = frozenset({"script", "style", "template", "noscript"})
_NON_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)


def normalise_space(text: str | None) -> str:
    """Collapse every run of blanks (incl. &nbsp;, U+3000, zero-width) to one space and strip the ends."""
    if not text:
        return ""
    return _BLANKS.sub(" ", text).strip()


def squeeze_cjk(text: str) -> str:
    """Drop single spaces between two CJK characters: Word line-wraps and &nbsp; padding put them inside names."""
    return _CJK_GAP.sub("", text)


def element_text(element: Tag | None) -> str:
    """The normalised visible text of an element: inline pieces (spans) joined as is, block elements spaced apart."""
    if element is None:
        return ""
    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, NavigableString):
            if isinstance(node, _NON_TEXT) or (node.parent is not None and node.parent.name in _SKIP_PARENTS):
                continue
            parts.append(str(node))
        elif isinstance(node, Tag) and node.name in _BLOCK_TAGS:
            parts.append(" ")
    return normalise_space("".join(parts))


def make_soup(text: str) -> BeautifulSoup:
    """Parse already-decoded HTML text with lxml (bytes must go through tracker.fetch.charset.decode_text first)."""
    return BeautifulSoup(text, "lxml")


def meta_content(soup: BeautifulSoup, name: str) -> str | None:
    """The normalised content of `<meta name=...>` (name compared case-insensitively), or None when absent/empty."""
    wanted = name.lower()
    for meta in soup.find_all("meta"):
        if str(meta.get("name", "")).lower() == wanted:
            value = normalise_space(str(meta.get("content", "")))
            return value or None
    return None


def block_text(element: Tag | None) -> str:
    """The visible text of an article body, one line per paragraph (block element or `<br>`), blanks normalised.

    Unlike `element_text` it keeps paragraph breaks, so a stored policy body reads like the page.
    """
    if element is None:
        return ""
    parts: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _NON_TEXT):
                    parts.append(str(child))
            elif isinstance(child, Tag) and child.name not in _SKIP_PARENTS:
                block = child.name in _BLOCK_TAGS
                if block:
                    parts.append("\n")
                walk(child)
                if block:
                    parts.append("\n")

    walk(element)
    lines = (normalise_space(line) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


ATTACHMENT_TYPES = ("doc", "docx", "pdf", "xls", "xlsx", "zip", "rar", "wps", "et", "ofd")
# Forms for sending comments back on a draft are not documents of their own (SOURCES.md §3).
FEEDBACK_FORM_WORDS = ("反馈意见表", "征求意见表", "意见反馈表")


def find_attachments(root: Tag | None, base_url: str, *,
                     skip_words: tuple[str, ...] = FEEDBACK_FORM_WORDS) -> tuple[Attachment, ...]:
    """Links to files (by extension of the URL path) under `root`: name as shown, absolute URL, lower-case type.

    Links whose text or file name contains one of `skip_words` (feedback forms) are left out; a URL linked twice
    is listed once, with the first non-empty name.
    """
    if root is None:
        return ()
    found: dict[str, Attachment] = {}
    for link in root.find_all("a", href=True):
        href = str(link["href"]).strip()
        url = urljoin(base_url, href)
        path = unquote(urlsplit(url).path)
        file_name = path.rsplit("/", 1)[-1]
        ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        if ext not in ATTACHMENT_TYPES:
            continue
        name = squeeze_cjk(element_text(link) or normalise_space(str(link.get("title") or "")) or file_name)
        if any(word in name or word in file_name for word in skip_words):
            continue
        if url not in found:
            found[url] = Attachment(name=name, url=url, file_type=ext)
    return tuple(found.values())
