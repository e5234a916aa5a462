"""The named end states of one attachment's extraction and the result a reader returns.

Every file ends in exactly one state; only `ok` and `partial` carry text. A state is a code (stored as such, shown
in the reader's language through the `extract_state_<code>` catalogue entries); `detail` says what was seen, in
plain words for an operator (a byte count, a page count, the library's error).
"""
from __future__ import annotations

from dataclasses import dataclass, field

OK = "ok"                  # all text read
PARTIAL = "partial"        # the page cap was reached: the first pages' text is kept
ENCRYPTED = "encrypted"    # the file needs a password to open
NO_TEXT = "no_text"        # the file opened but holds no text layer (a scan); OCR is not run here
TRUNCATED = "truncated"    # the file is cut short or damaged (the reader failed part-way)
BAD_FORMAT = "bad_format"  # the bytes are no format read here (an HTML error page saved as .pdf, garbage)
UNSUPPORTED = "unsupported"  # a known format with no reader here (WPS, RAR, OFD, old XLS)
TOO_LARGE = "too_large"    # over the byte cap, or a compressed file that would expand past it (a ZIP or PDF bomb)
TIMEOUT = "timeout"        # the time cap per file was reached; the worker was stopped
CRASHED = "crashed"        # the worker died (the memory cap was hit, or the library crashed)
FETCH_FAILED = "fetch_failed"  # the file could not be downloaded (it is tried again on the next run)

STATES = (OK, PARTIAL, ENCRYPTED, NO_TEXT, TRUNCATED, BAD_FORMAT, UNSUPPORTED, TOO_LARGE, TIMEOUT, CRASHED,
          FETCH_FAILED)
WITH_TEXT = (OK, PARTIAL)
# States worth another try on a later run: nothing about the file itself was learned.
RETRY = (FETCH_FAILED,)


@dataclass(frozen=True)
class Extracted:
    """What reading one file gave: its state, a detail line, the detected format and the text of each page.

    Formats without pages (DOCX, DOC) give parts of about `PART_CHARS` characters cut at paragraph ends, so a search
    hit points at a part of a long document rather than the whole of it.
    """

    state: str
    detail: str = ""
    kind: str | None = None
    pages: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        """True when the state carries text."""
        return self.state in WITH_TEXT
