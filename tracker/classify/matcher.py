"""One pass over a text for every rule: an Aho-Corasick automaton of all the words the rules name.

Every word of every rule (its words, its `unless` words and its `mask` words, NFKC-normalised and case-folded) is one
key of a single automaton (pyahocorasick). Scanning a field finds every occurrence of every word, overlapping ones
included, in time linear in the text; the rules are then decided from those occurrences alone, and only rules with
at least one word found are looked at. The text is never scanned again per rule or per tag.

A rule's word counts where it occurs
- not inside one of the rule's `mask` words (计算 inside 计算机断层 is no 计算), and
- for a word of ASCII letters and digits (CT, MRI, AI), with no ASCII letter or digit on either side ("ct" is no hit
  inside "oct" or "dict");
and a rule matches nothing in a field where one of its `unless` words occurs.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable

import ahocorasick

from tracker.classify.rules import Rule


def normalize(text: str | None) -> str:
    """NFKC, case-folded, whitespace collapsed: the form every rule word and field is matched in."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its words as automaton term ids: (shown in evidence, term id, must stand alone).

    `checked`: the rule has a mask word or a word that must stand alone, so each occurrence is looked at; for the
    other rules any occurrence of a word counts."""

    rule: Rule
    words: tuple[tuple[str, int, bool], ...]
    unless: frozenset[int]
    mask: tuple[int, ...]
    checked: bool


class Matcher:
    """All rules' words in one automaton, and the rules to try for each word found in each field."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.terms: dict[str, int] = {}
        compiled = []
        for rule in rules:
            words = tuple((unicodedata.normalize("NFKC", w), self._term(w), normalize(w).isascii()) for w in rule.words)
            mask = tuple(self._term(w) for w in rule.mask)
            compiled.append(CompiledRule(rule, words, frozenset(self._term(w) for w in rule.unless), mask,
                                         bool(mask) or any(standalone for _, _, standalone in words)))
        self.rules: tuple[CompiledRule, ...] = tuple(compiled)
        self._automaton = ahocorasick.Automaton()
        for term, term_id in self.terms.items():
            self._automaton.add_word(term, (term_id, len(term)))
        self._automaton.make_automaton()
        # field -> term id -> (index into self.rules, position among that rule's words) for every rule that lists
        # the term as a word and reads the field.
        self._by_field: dict[str, dict[int, list[tuple[int, int]]]] = {}
        for index, c in enumerate(self.rules):
            for field in c.rule.fields:
                by_term = self._by_field.setdefault(field, {})
                for position, (_, term_id, _) in enumerate(c.words):
                    by_term.setdefault(term_id, []).append((index, position))
        self.fields = frozenset(self._by_field)

    def _term(self, word: str) -> int:
        return self.terms.setdefault(normalize(word), len(self.terms))

    def scan(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Every occurrence of every term in `text` (already normalised): term id -> [(start, end)]."""
        found: dict[int, list[tuple[int, int]]] = {}
        for end, (term_id, length) in self._automaton.iter(text):
            spans = found.get(term_id)
            if spans is None:
                found[term_id] = [(end + 1 - length, end + 1)]
            else:
                spans.append((end + 1 - length, end + 1))
        return found

    def hits(self, field: str, text: str) -> dict[int, tuple[str, ...]]:
        """Rule index -> the rule's words that count in `field` (see the module docstring), in the rule's order, for
        every rule with at least one; `text` is normalised and scanned once."""
        by_term = self._by_field.get(field)
        if not by_term or not text:
            return {}
        found = self.scan(text)
        positions: dict[int, list[int]] = {}
        for term_id in found:
            for index, position in by_term.get(term_id, ()):
                listed = positions.get(index)
                if listed is None:
                    positions[index] = [position]
                else:
                    listed.append(position)
        out: dict[int, tuple[str, ...]] = {}
        for index, listed in positions.items():
            c = self.rules[index]
            if c.unless and not c.unless.isdisjoint(found):
                continue
            if c.checked:
                words = _counted(c, (c.words[p] for p in sorted(listed)), text, found)
            elif len(listed) == 1:
                words = (c.words[listed[0]][0],)
            else:
                listed.sort()
                words = tuple(c.words[p][0] for p in listed)
            if words:
                out[index] = words
        return out


def _counted(c: CompiledRule, words: Iterable[tuple[str, int, bool]], text: str,
             found: dict[int, list[tuple[int, int]]]) -> tuple[str, ...]:
    """Those of `words` with an occurrence outside the rule's mask words that stands alone where it must."""
    masked = [span for term_id in c.mask for span in found.get(term_id, ())]
    hits = []
    for shown, term_id, standalone in words:
        for start, end in found[term_id]:
            if standalone and ((start > 0 and _alnum(text[start - 1])) or (end < len(text) and _alnum(text[end]))):
                continue
            if any(start < m_end and m_start < end for m_start, m_end in masked):
                continue
            hits.append(shown)
            break
    return tuple(hits)
