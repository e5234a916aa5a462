"""Full text: the search page over policy bodies and attachment text (snippets, the file each hit came from, the
policy filters of the lists), an attachment's readable text beside its archived original, and the draft ↔ final
comparison of a guideline. Views parse arguments, ask tracker.read.fulltext / tracker.read.compare, render."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from tracker.read import compare, filters, fulltext
from web import params
from web.context import db
from web.policies import filter_options

bp = Blueprint("fulltext", __name__)
HITS_PER_PAGE = 20


@bp.get("/search")
def search():
    """Passages holding every term of `q`, newest first, a page at a time, with the policy filters."""
    f = params.list_filter(filters.PolicyFilter)
    f = f.replace(per_page=min(f.per_page, HITS_PER_PAGE), page=f.page)
    found = fulltext.search(db(), f)
    if f.page > 1 and not found.hits:
        raise params.NoSuchPage(f.page, 1)
    short = bool(f.q) and not found.terms
    return render_template("fulltext/search.html", f=f, found=found, short=short, options=filter_options())


@bp.get("/attachments/<id:attachment_id>")
def attachment(attachment_id: int):
    """An attachment's extracted text, with its structure, its state, and the link to the archived original."""
    view = fulltext.attachment(db(), attachment_id)
    if view is None:
        abort(404)
    return render_template("fulltext/attachment.html", v=view)


@bp.get("/policies/<id:policy_id>/compare")
def compare_page(policy_id: int):
    """A draft and its final version side by side (a unified view on narrow screens), the summary on top."""
    pair = compare.draft_and_final(db(), policy_id)
    if pair is None:
        abort(404)
    return render_template("fulltext/compare.html", pair=pair, c=pair.comparison)
