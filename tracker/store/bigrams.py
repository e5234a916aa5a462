"""Character bigrams of text, for the search index (tracker.store.search): pure functions, no database.

A term of two or more characters can only occur in a text that holds all of the term's adjacent character pairs,
so the pairs of a row's searchable columns let the index pick the candidate rows of a substring search.

Pairs are ASCII-lower-cased, because SQLite's LIKE ignores ASCII case and nothing else. They are the tokens of an
FTS5 table with the `ascii` tokenizer, which treats every non-ASCII character and ASCII letters and digits as token
characters: a pair holding ASCII punctuation or a blank would be split, so it is left out (on both sides, which
only makes the filter looser, never wrong).
"""
from __future__ import annotations

from typing import Iterable

# The name under which tracker.store.engine registers `document` on SQLite connections (the index's triggers call it).
SQL_FUNCTION = "tracker_bigrams"


def fold_ascii_case(text: str) -> str:
    """`text` with ASCII letters lower-cased and everything else kept (the case folding of SQLite's LIKE)."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _is_token_char(char: str) -> bool:
    # The `ascii` tokenizer's rule: ASCII letters and digits, and every non-ASCII character (blanks excluded here).
    return (char.isalnum() if char.isascii() else not char.isspace())


def bigrams(value: str | None) -> set[str]:
    """The distinct indexable character pairs of a text."""
    if not value:
        return set()
    folded = fold_ascii_case(value)
    return {a + b for a, b in zip(folded, folded[1:], strict=False) if _is_token_char(a) and _is_token_char(b)}


def document(*values: str | None) -> str:
    """The index text of one row: the bigrams of all its searchable columns, blank-separated."""
    grams: set[str] = set()
    for value in values:
        grams |= bigrams(value)
    return " ".join(sorted(grams))


def match_expression(terms: Iterable[str]) -> str | None:
    """An FTS5 query every row containing all `terms` satisfies, or None when no term has an indexable bigram
    (single characters, punctuation): then only the scan can answer."""
    grams = sorted(set().union(*(bigrams(term) for term in terms)))
    # Tokens hold no ASCII punctuation, so none contains a double quote: quoting makes each a literal string.
    return " AND ".join(f'"{gram}"' for gram in grams) or None
