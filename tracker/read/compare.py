"""Draft ↔ final: which policy is compared with which, and the clause-aligned comparison of their texts.

Clauses (tracker.extract.structure.clauses: chapter headings, 第X条, 一、, （一）…) are lined up by what they say,
not by their numbers, since numbers shift when one clause is added: first identical texts, then the most similar
pairs (difflib ratio ≥ MATCH_RATIO), best first. A pair whose order differs from the others' (outside the longest
run of pairs in order) is moved; a draft clause left alone was removed, a final one added. Changed words are marked
by a character diff (Chinese has no blanks between words). The summary lists added, removed and moved clauses
first, then the changed ones, each with its number and its first words.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.extract.structure import Clause, clauses
from tracker.i18n import gettext
from tracker.ids import policytype
from tracker.read.fulltext import document_text
from tracker.store.models import AttachmentFile, Policy

MATCH_RATIO = 0.5
EXCERPT_CHARS = 40
KINDS = ("added", "removed", "moved", "changed", "same")
Segments = tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view: the draft clause (or None), the final clause (or None), what happened,
    and each side's text as (text, changed) segments."""

    kind: str
    old: Clause | None
    new: Clause | None
    old_segments: Segments = ()
    new_segments: Segments = ()


@dataclass(frozen=True)
class Change:
    """A summary line: kind, the clause's number (the final's; the draft's for a removed one), its first words, and
    for a moved clause its number in the draft."""

    kind: str
    label: str
    excerpt: str
    old_label: str = ""


@dataclass(frozen=True)
class Comparison:
    """The aligned rows and the summary of changes."""

    rows: list[Row]
    summary: list[Change]

    def counts(self) -> dict[str, int]:
        """How many clauses of each kind (headings left out)."""
        out = dict.fromkeys(KINDS, 0)
        for row in self.rows:
            if (row.new or row.old).level == 2:
                out[row.kind] += 1
        return out


def _ratio(a: str, b: str) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= MATCH_RATIO else 0.0


def align(old: list[Clause], new: list[Clause]) -> dict[int, int]:
    """new index → old index of the clauses that are the same clause in both versions (see module docstring)."""
    pairs: dict[int, int] = {}
    free_old = set(range(len(old)))
    by_text: dict[tuple[int, str], list[int]] = {}
    for i, clause in enumerate(old):
        by_text.setdefault((clause.level, clause.body), []).append(i)
    for j, clause in enumerate(new):
        same = by_text.get((clause.level, clause.body))
        if same:
            i = same.pop(0)
            pairs[j] = i
            free_old.discard(i)
    scored = sorted(((_ratio(old[i].body, new[j].body), j, i) for j in range(len(new)) if j not in pairs
                     for i in free_old if old[i].level == new[j].level), reverse=True)
    for score, j, i in scored:
        if score < MATCH_RATIO:
            break
        if j not in pairs and i in free_old:
            pairs[j] = i
            free_old.discard(i)
    return pairs


def _in_order(pairs: dict[int, int]) -> set[int]:
    """The new indexes of the longest run of pairs whose draft order agrees with the final's (the rest moved)."""
    js = sorted(pairs)
    tails: list[int] = []  # old index ending the best run of each length
    tail_at: list[int] = []  # position in js of that end
    parent = [-1] * len(js)
    for pos, j in enumerate(js):
        k = bisect_left(tails, pairs[j])
        if k == len(tails):
            tails.append(pairs[j])
            tail_at.append(pos)
        else:
            tails[k], tail_at[k] = pairs[j], pos
        parent[pos] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    pos = tail_at[-1] if tail_at else -1
    while pos >= 0:
        keep.add(js[pos])
        pos = parent[pos]
    return keep


def word_diff(old: str, new: str) -> tuple[Segments, Segments]:
    """Each side as (text, changed) segments: what the draft lost, what the final gained."""
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append((old[i1:i2], tag != "equal"))
        if j2 > j1:
            right.append((new[j1:j2], tag != "equal"))
    return tuple(left), tuple(right)


def _excerpt(clause: Clause) -> str:
    body = clause.body
    return body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS] + "…"


def compare_texts(draft: str, final: str) -> Comparison:
    """The comparison of two versions of a document's text."""
    old, new = clauses(draft), clauses(final)
    pairs = align(old, new)
    ordered = _in_order(pairs)
    matched_old = set(pairs.values())
    rows: list[Row] = []
    emitted_old: set[int] = set()

    def flush_removed(until: int) -> None:
        for i in range(until):
            if i not in matched_old and i not in emitted_old:
                emitted_old.add(i)
                rows.append(Row("removed", old[i], None, ((old[i].text, True),), ()))

    for j, clause in enumerate(new):
        if j not in pairs:
            rows.append(Row("added", None, clause, (), ((clause.text, True),)))
            continue
        i = pairs[j]
        if j in ordered:
            flush_removed(i)
        left, right = word_diff(old[i].body, clause.body)
        left = ((old[i].label + " ", False), *left) if old[i].label else left
        right = ((clause.label + " ", False), *right) if clause.label else right
        kind = "moved" if j not in ordered else ("same" if old[i].body == clause.body else "changed")
        rows.append(Row(kind, old[i], clause, left, right))
    flush_removed(len(old))
    return Comparison(rows, _summary(rows))


def _summary(rows: list[Row]) -> list[Change]:
    firsts, changed = [], []
    for row in rows:
        clause = row.new or row.old
        # Unnumbered lines (the title, a note under it) are shown in the rows but are not clauses to list.
        if clause.level != 2 or row.kind == "same" or not clause.label:
            continue
        change = Change(row.kind, clause.label, _excerpt(clause),
                        row.old.label if row.kind == "moved" and row.old else "")
        (changed if row.kind == "changed" else firsts).append(change)
    return firsts + changed


# ---------------------------------------------------------------------------------------------------- the pair

@dataclass(frozen=True)
class Pair:
    """A draft and its final version, the text each is compared by and where that text came from."""

    draft: Policy
    final: Policy
    draft_file: AttachmentFile | None
    final_file: AttachmentFile | None
    comparison: Comparison


def counterpart(session: Session, policy: Policy) -> Policy | None:
    """A draft's final version, or the (latest) draft of a final version; None when there is none."""
    if policytype.is_draft(policy.stage):
        return session.get(Policy, policy.final_version_id) if policy.final_version_id else None
    return session.execute(select(Policy).where(Policy.final_version_id == policy.id)
                           .order_by(Policy.published_on.desc(), Policy.id.desc()).limit(1)).scalar_one_or_none()


def change_lines(changes: list[Change], lang: str, limit: int = 3) -> list[str]:
    """The first `limit` summary lines as text in `lang` ("第十条 新增 上市后应当…"): what the policy page's
    comparison, the digest and the channel messages say of a draft becoming final."""
    out = []
    for change in changes[:limit]:
        kind = gettext(f"compare_{change.kind}", lang)
        was = f" ({gettext('compare_was', lang, label=change.old_label)})" if change.old_label else ""
        out.append(f"{change.label} {kind}{was} {change.excerpt}")
    return out


def final_changes(session: Session, policy_id: int) -> list[Change]:
    """The summary of what changed from a final version's draft, or [] when the policy is no final of a draft."""
    policy = session.get(Policy, policy_id)
    if policy is None or policytype.is_draft(policy.stage) or counterpart(session, policy) is None:
        return []
    pair = draft_and_final(session, policy_id)
    return pair.comparison.summary if pair is not None else []


def draft_and_final(session: Session, policy_id: int) -> Pair | None:
    """The comparison of a policy with its counterpart (either side may be asked for), or None when the policy
    does not exist or has no counterpart."""
    policy = session.get(Policy, policy_id)
    other = counterpart(session, policy) if policy is not None else None
    if other is None:
        return None
    draft, final = (policy, other) if policytype.is_draft(policy.stage) else (other, policy)
    draft_text, draft_file = document_text(session, draft.id)
    final_text, final_file = document_text(session, final.id)
    return Pair(draft, final, draft_file, final_file, compare_texts(draft_text, final_text))
