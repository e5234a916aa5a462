"""Full-text search over policy bodies and attachment pages (`passage` rows), with the policy filters of the lists
and a highlighted snippet per hit; and the attachment questions of the pages (a policy's files, one file's text).

The match is the lists' (tracker.read.search: every term, case-insensitively, as a substring, narrowed first by the
bigram index), so a two-character Chinese term is found wherever it occurs. Hits come newest-stored first and are
paged by "more" rather than counted: counting every page of every document holding a common term would read them
all, while a page of hits stops at the first `per_page + 1`.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from tracker.extract.structure import Clause, clauses
from tracker.read.filters import PolicyFilter, search_terms
from tracker.read.lists import policy_conditions
from tracker.read.search import matches_all, search_clauses
from tracker.store.models import AttachmentFile, Passage, Policy, PolicyAttachment, SourceDocument
from tracker.store.search import FULL_TEXT

SNIPPET_CHARS = 60  # of context on each side of the first match
SCAN_WINDOW = 250  # newest passages read directly before the index is asked (see `search`): ~5 ms of LIKE
FULL_TEXT_COLUMNS = FULL_TEXT["passage"]
MIN_TERM_CHARS = 2


@dataclass(frozen=True)
class Hit:
    """One matching passage: where it is (policy, attachment and page, or the policy's body) and its snippet as
    (text, is_match) segments (the template escapes the text and marks the matches)."""

    passage_id: int
    policy_id: int | None
    policy_title: str | None
    attachment_id: int | None
    attachment_name: str | None
    page_no: int
    snippet: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class HitPage:
    """A page of hits and whether more follow."""

    hits: list[Hit]
    more: bool
    terms: tuple[str, ...]


def usable_terms(query: str | None) -> tuple[str, ...]:
    """The search terms of a query when at least one has two or more characters (one character matches nearly
    every page), else ()."""
    terms = search_terms(query)
    return terms if any(len(t) >= MIN_TERM_CHARS for t in terms) else ()


# The case folding of the match (ASCII only, as SQLite's LIKE; PostgreSQL's ILIKE folds more, which only means a
# snippet may mark fewer places than matched, never more). A translation table keeps lengths and positions equal.
_ASCII_UPPER = re.compile("[A-Z]+")


def _fold(text: str) -> str:
    return _ASCII_UPPER.sub(lambda m: m.group().lower(), text) if _ASCII_UPPER.search(text) else text


def snippet(text: str, terms: Iterable[str], width: int = SNIPPET_CHARS) -> tuple[tuple[str, bool], ...]:
    """The part of `text` around the first occurrence of any term, as (text, is_match) segments, every occurrence
    of a term inside it marked; the start of the text when no term occurs (a match the database folded)."""
    folded = _fold(text)
    needles = sorted({_fold(t) for t in terms if t}, key=len, reverse=True)
    first = min((i for i in (folded.find(n) for n in needles) if i >= 0), default=0)
    start, end = max(0, first - width), min(len(text), first + width * 2)
    out: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    pos = start
    while pos < end:
        found = [(folded.find(n, pos, end), n) for n in needles]
        found = [(i, n) for i, n in found if i >= 0]
        if not found:
            out.append((text[pos:end], False))
            break
        i, needle = min(found, key=lambda x: (x[0], -len(x[1])))
        if i > pos:
            out.append((text[pos:i], False))
        out.append((text[i:i + len(needle)], True))
        pos = i + len(needle)
    if end < len(text):
        out.append(("…", False))
    return tuple((t.replace("\n", " "), m) for t, m in out if t)


def _filtered(f: PolicyFilter) -> list[Any]:
    conds = policy_conditions(f.replace(q=None))
    if not conds:
        return []
    matching = select(Policy.id).where(*conds)
    # coalesce() keeps the planner from answering the OR through the passage indexes (every page of every matching
    # policy, then a sort): the filter is a check on the rows the search reads, never the way to find them.
    return [or_(func.coalesce(Passage.policy_id, 0).in_(matching), func.coalesce(Passage.attachment_id, 0).in_(
        select(PolicyAttachment.attachment_id).where(PolicyAttachment.policy_id.in_(matching))))]


@contextmanager
def _index_preferred(session: Session) -> Iterator[None]:
    """On PostgreSQL, steer the planner to the GIN index for the next query.

    A page's pairs are a long array stored out of line (TOAST), so `passage_search`'s own heap is small and a
    sequential scan looks cheap to the planner, which then unpacks every row's array: 11 s instead of milliseconds
    at 210,000 pages. enable_seqscan only raises the price of sequential scans, for this transaction, and is set back
    right after.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        session.execute(text("SET LOCAL enable_seqscan = on"))


def search(session: Session, f: PolicyFilter) -> HitPage:
    """Page `f.page` of the passages holding every term of `f.q` among the policies `f`'s other filters match."""
    terms = usable_terms(f.q)
    if not terms:
        return HitPage([], False, ())
    wanted = f.offset + f.per_page + 1

    def page_of(*conditions: Any) -> list[Any]:
        stmt = (select(Passage.id, Passage.policy_id, Passage.attachment_id, Passage.page_no, Passage.text)
                .where(*conditions, *_filtered(f)).order_by(Passage.id.desc()).limit(f.per_page + 1)
                .offset(f.offset))
        return session.execute(stmt).all()

    # A common term occurs on most pages: its bigram candidates are most of the table, and collecting them costs
    # more than reading the newest pages until enough match. So the newest SCAN_WINDOW passages are read first;
    # when they hold the whole page of hits, those are exactly the hits the index would give (the order is by id),
    # and only otherwise does the index answer.
    newest = session.execute(select(func.max(Passage.id))).scalar() or 0
    rows = page_of(Passage.id > newest - SCAN_WINDOW, matches_all(terms, FULL_TEXT_COLUMNS)) \
        if wanted <= SCAN_WINDOW else []
    if len(rows) < f.per_page + 1:
        with _index_preferred(session):
            rows = page_of(*search_clauses("passage", terms))
    more, rows = len(rows) > f.per_page, rows[:f.per_page]
    files = {r.attachment_id for r in rows if r.attachment_id}
    owners: dict[int, tuple[int, str, str]] = {}
    if files:
        for aid, pid, title, name in session.execute(
                select(PolicyAttachment.attachment_id, Policy.id, Policy.title, PolicyAttachment.name)
                .join(Policy, Policy.id == PolicyAttachment.policy_id)
                .where(PolicyAttachment.attachment_id.in_(files)).order_by(Policy.published_on.desc(), Policy.id)):
            owners.setdefault(aid, (pid, title, name))
    direct = {r.policy_id for r in rows if r.policy_id}
    titles = {pid: title for pid, title in session.execute(
        select(Policy.id, Policy.title).where(Policy.id.in_(direct))).all()} if direct else {}
    hits = []
    for r in rows:
        pid, title, name = owners.get(r.attachment_id, (None, None, None)) if r.attachment_id else (
            r.policy_id, titles.get(r.policy_id), None)
        hits.append(Hit(r.id, pid, title, r.attachment_id, name, r.page_no, snippet(r.text, terms)))
    return HitPage(hits, more, terms)


# ---------------------------------------------------------------------------------------------------- attachments

@dataclass(frozen=True)
class FileView:
    """An attachment as a page shows it: the row, its archived copy, its pages' text, the policies listing it."""

    file: AttachmentFile
    document: SourceDocument | None
    pages: list[tuple[int, list[Clause]]]  # page number, its headings and clauses
    policies: list[tuple[int, str]]


def attachment(session: Session, attachment_id: int) -> FileView | None:
    """One attachment with its text, or None when there is no such attachment."""
    row = session.get(AttachmentFile, attachment_id)
    if row is None:
        return None
    pages = [(number, clauses(text)) for number, text in session.execute(select(Passage.page_no, Passage.text).where(
        Passage.attachment_id == attachment_id).order_by(Passage.page_no))]
    policies = [tuple(p) for p in session.execute(
        select(Policy.id, Policy.title).join(PolicyAttachment, PolicyAttachment.policy_id == Policy.id)
        .where(PolicyAttachment.attachment_id == attachment_id).order_by(Policy.id))]
    document = session.get(SourceDocument, row.document_id) if row.document_id else None
    return FileView(row, document, pages, policies)


def attachments_of(session: Session, policy_id: int) -> list[tuple[AttachmentFile, str]]:
    """A policy's stored attachments in page order, with the name the page gives each."""
    return [tuple(r) for r in session.execute(
        select(AttachmentFile, PolicyAttachment.name).join(PolicyAttachment,
                                                          PolicyAttachment.attachment_id == AttachmentFile.id)
        .where(PolicyAttachment.policy_id == policy_id).order_by(PolicyAttachment.position, AttachmentFile.id))]


def document_text(session: Session, policy_id: int) -> tuple[str, AttachmentFile | None]:
    """The text a comparison reads for a policy: its first attachment with text (the document itself; the page
    around it is a notice), else its body; with the attachment it came from."""
    for file, _name in attachments_of(session, policy_id):
        if file.pages:
            pages = session.execute(select(Passage.text).where(Passage.attachment_id == file.id)
                                    .order_by(Passage.page_no)).scalars()
            return "\n".join(pages), file
    body = session.execute(select(Policy.body).where(Policy.id == policy_id)).scalar_one_or_none()
    return body or "", None
