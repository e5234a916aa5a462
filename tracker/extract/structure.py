"""The structure of Chinese regulatory text: which lines are headings (第X章, 一、), which start numbered clauses
(第X条, （一）, 1.), and how a PDF's laid-out lines are put back into paragraphs. Pure functions, no I/O.

A PDF keeps no paragraphs, only placed glyphs: its text comes back as lines cut at the page width and often with a
blank between every two Chinese characters. `reflow` removes those blanks and joins a line to the one before unless
it starts a heading or clause or the one before ended a sentence, so a term split across two lines (技 / 术) is one
word again for search and comparison. `clauses` is what the comparison view lines up and the text view shows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{CJK}])[ \t\u00a0]+(?=[{CJK}])")
NUM = "〇零一二三四五六七八九十百千两"
CHAPTER = re.compile(rf"^第[{NUM}\d]+[章节编部分]+")
ARTICLE = re.compile(rf"^第[{NUM}\d]+条")
SECTION = re.compile(rf"^[{NUM}]+、")
ITEM = re.compile(rf"^[（(][{NUM}\d]+[）)]|^\d+[.．、]\s*\S")
SENTENCE_END = tuple("。；;：:！？!?）)」』")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")


def tidy_line(line: str) -> str:
    """A line without control characters (some PDF font maps give a NUL before every glyph), with blanks between
    Chinese characters removed and other runs of blanks made one."""
    return _CJK_GAP.sub("", " ".join(_CONTROL.sub("", line).split()))


def starts_block(line: str) -> bool:
    """True when a line opens a heading or a numbered clause."""
    return bool(CHAPTER.match(line) or ARTICLE.match(line) or SECTION.match(line) or ITEM.match(line))


def reflow(text: str) -> str:
    """Laid-out lines (a PDF page) joined back into paragraphs (see module docstring)."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = tidy_line(raw)
        if not line:
            continue
        if out and not starts_block(line) and not out[-1].endswith(SENTENCE_END) and not _is_short_title(out[-1]):
            out[-1] = out[-1] + ("" if _joins_without_blank(out[-1], line) else " ") + line
        else:
            out.append(line)
    return "\n".join(out)


def _is_short_title(line: str) -> bool:
    # A heading line ("第一章 总则", a centred title) stays a line of its own.
    return bool(CHAPTER.match(line) or SECTION.match(line)) and len(line) <= 30


def _joins_without_blank(before: str, after: str) -> bool:
    return bool(re.match(rf"[{CJK}]", before[-1:]) or re.match(rf"[{CJK}]", after[:1]))


@dataclass(frozen=True)
class Clause:
    """One block of a document: a heading (`level` 1) or a clause/paragraph (`level` 2), its number as written
    (第五条, 三、) or "" and its full text."""

    level: int
    label: str
    text: str

    @property
    def body(self) -> str:
        """The text without its number (what a comparison compares)."""
        return self.text[len(self.label):].strip()


def label_of(line: str) -> tuple[int, str]:
    """(level, number as written) of a line: 1 for chapter and section headings, 2 otherwise."""
    for pattern, level in ((CHAPTER, 1), (SECTION, 1), (ARTICLE, 2), (ITEM, 2)):
        if (m := pattern.match(line)) is not None:
            label = m.group(0)
            return level, label if not label[-1:].isspace() else label.strip()
    return 2, ""


def clauses(text: str) -> list[Clause]:
    """The blocks of a document's text, one per line (lines are paragraphs once reflowed)."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if line:
            level, label = label_of(line)
            if level == 1 and len(line) > 40:  # a long "一、…" line is a clause, not a heading
                level = 2
            out.append(Clause(level, label if ARTICLE.match(line) or level == 1 else label.rstrip(".．、 "), line))
    return out
