"""Character bigrams of text, for the search index (tracker.store.search): pure functions, no database.

A term of two or more characters can only occur in a text that holds all of the term's adjacent character pairs,
so the pairs of a row's searchable columns let the index pick the candidate rows of a substring search.

Pairs are ASCII-lower-cased, because SQLite's LIKE ignores ASCII case and nothing else. They are the tokens of an
FTS5 table with the `ascii` tokenizer, which treats every non-ASCII character and ASCII letters and digits as token
characters: a pair holding ASCII punctuation or a blank would be split, so it is left out (on both sides, which
only makes the filter looser, never wrong).
"""
from __future__ import annotations

import re
from typing import Iterable

# The name under which tracker.store.engine registers `document` on SQLite connections (the index's triggers call it).
SQL_FUNCTION = "tracker_bigrams"


# A-Z to a-z, nothing else: str.translate does it in C (a generator over the characters cost a third of indexing).
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
# A run of token characters: the `ascii` tokenizer's rule, ASCII letters and digits and every non-ASCII character,
# blanks excluded here (\s is str.isspace's set). Two or more: a lone character makes no pair.
_TOKEN_RUN = re.compile(r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f\s]{2,}")


def fold_ascii_case(text: str) -> str:
    """`text` with ASCII letters lower-cased and everything else kept (the case folding of SQLite's LIKE)."""
    return text.translate(_ASCII_LOWER)


def bigrams(value: str | None) -> set[str]:
    """The distinct indexable character pairs of a text: adjacent pairs of token characters (see the module)."""
    if not value:
        return set()
    # Pairs are taken within each run of token characters, so no character is tested twice (the triggers call this
    # for every written row: it was a tenth of a UDI ingest's store time).
    return {run[i:i + 2] for run in _TOKEN_RUN.findall(fold_ascii_case(value)) for i in range(len(run) - 1)}


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
