"""The admin side: review queue and reviewer decisions, the audit log with filters, accounts, audit bundle download.

Every route here needs a login: the blueprint refuses anonymous and viewer accounts before any view runs (so a route
added later without a decorator is still closed), and views that need more say so with `role_required`. State
changes are POST forms (CSRF-checked by Flask-WTF for the whole app), each in its own transaction together with its
audit-log row.
"""
from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from tracker.audit import bundle as audit
from tracker.audit import log as auditlog
from tracker.audit import review, users
from tracker.classify import taxonomy
from tracker.read import filters
from web import context, params
from web.auth import require_role, role_required
from web.i18n import gettext

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50
FACETS = ("ai",) + taxonomy.FACETS


@bp.before_request
def _reviewers_only():
    return require_role("reviewer")


def _page() -> int:
    return params.read(lambda a: a.paging()["page"])


def _form_date(name: str) -> date | None:
    """A date field of the posted form (None when empty, malformed or out of the calendar the tracker answers)."""
    return filters.Args(request.form).date(name)


@bp.get("/")
@role_required("reviewer")
def index():
    """Overview: queue size and the latest audit entries."""
    db = context.db()
    _items, waiting = review.review_queue(db, limit=1)
    latest = auditlog.query(db, limit=10)
    return render_template("admin/index.html", waiting=waiting, latest=latest)


@bp.get("/review")
@role_required("reviewer")
def queue():
    """Devices whose classification needs a person."""
    page = _page()
    items, total = review.review_queue(context.db(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    params.check_page(page, total, PER_PAGE)
    return render_template("admin/queue.html", items=items, total=total, page=page, per_page=PER_PAGE)


def _render_review(entity_type: str, entity_id: int, error: str | None = None, status: int = 200):
    view = review.review_page(context.db(), entity_type, entity_id)
    if view is None:
        abort(404)
    detail_url = (url_for("devices.detail", device_id=entity_id) if entity_type == "device"
                  else url_for("policies.detail", policy_id=entity_id))
    page = render_template(
        "admin/review.html", entity_type=entity_type, entity=view.entity, detail_url=detail_url, tags=view.tags,
        history=view.history, log=view.log, effective=view.effective, facets=FACETS, decisions=review.DECISIONS,
        codes={f: [n.code for n in taxonomy.nodes(f)] for f in taxonomy.FACETS} | {"ai": ["ai"]}, error=error,
    )
    return page, status


@bp.get("/review/<any(device, policy):entity_type>/<id:entity_id>")
@role_required("reviewer")
def review_entity(entity_type: str, entity_id: int):
    """An entity's tags with their evidence, the decision forms and the history of decisions."""
    return _render_review(entity_type, entity_id)


@bp.post("/review/<any(device, policy):entity_type>/<id:entity_id>")
@role_required("reviewer")
def decide(entity_type: str, entity_id: int):
    """Record a decision (confirm, remove or add one tag) with its reason."""
    if review.find_entity(context.db(), entity_type, entity_id) is None:
        abort(404)
    form = request.form
    try:
        with context.state().sessions.begin() as db:
            review.decide(db, entity_type=entity_type, entity_id=entity_id, facet=form.get("facet", ""),
                          code=form.get("code", "").strip(), decision=form.get("decision", ""),
                          reason=form.get("reason", ""), reviewer=current_user.username, now=context.now())
    except ValueError as exc:
        return _render_review(entity_type, entity_id, error=str(exc), status=400)
    flash(gettext("decision_recorded"))
    return redirect(url_for("admin.review_entity", entity_type=entity_type, entity_id=entity_id))


@bp.get("/audit")
@role_required("reviewer")
def audit_log():
    """The audit log, newest first, filtered by actor, action, target, period and words of the reason."""
    args = request.args
    first, last, page, flt = params.read(lambda a: (a.date("from"), a.date("to"), a.paging()["page"], dict(
        actor=a.text("actor"), action=a.text("action"), target_type=a.text("target_type"),
        target_id=a.text("target_id"), text=a.text("q"))))
    tz = context.state().settings.timezone
    since = audit.period_bounds(first, first, tz)[0] if first else None
    until = audit.period_bounds(last, last, tz)[1] if last else None
    flt = auditlog.AuditFilter(**flt, since=since, until=until)
    db = context.db()
    total = auditlog.count(db, flt)
    params.check_page(page, total, PER_PAGE)
    entries = auditlog.query(db, flt, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    actors = auditlog.known_actors(db)
    kept = {k: v for k, v in args.items() if k != "page" and v}
    prev_url = url_for("admin.audit_log", **kept, page=page - 1) if page > 1 else None
    next_url = url_for("admin.audit_log", **kept, page=page + 1) if page * PER_PAGE < total else None
    return render_template(
        "admin/audit.html", entries=entries, total=total, page=page, per_page=PER_PAGE,
        actions=auditlog.known_actions(db), actors=actors, args=args, prev_url=prev_url, next_url=next_url,
    )


@bp.get("/users")
@role_required("admin")
def user_list():
    """Accounts, with forms to create one, change a role or disable one."""
    return render_template("admin/users.html", users=users.list_users(context.db()), roles=users.ROLES, error=None)


def _user_change(action):
    try:
        with context.state().sessions.begin() as db:
            action(db)
    except (ValueError, LookupError) as exc:
        page = render_template("admin/users.html", users=users.list_users(context.db()), roles=users.ROLES,
                               error=str(exc))
        return page, 400
    flash(gettext("saved"))
    return redirect(url_for("admin.user_list"))


@bp.post("/users")
@role_required("admin")
def user_create():
    """Create an account."""
    form = request.form
    return _user_change(lambda db: users.create_user(
        db, form.get("username", "").strip(), form.get("password", ""), form.get("role", ""),
        email=form.get("email") or None, actor=current_user.username, now=context.now(),
        reason=form.get("reason") or None))


@bp.post("/users/<username>/role")
@role_required("admin")
def user_role(username: str):
    """Change an account's role."""
    return _user_change(lambda db: users.set_role(db, username, request.form.get("role", ""),
                                                  actor=current_user.username, now=context.now(),
                                                  reason=request.form.get("reason") or None))


@bp.post("/users/<username>/disable")
@role_required("admin")
def user_disable(username: str):
    """Disable an account (not one's own: an admin could lock everyone out)."""
    def change(db):
        if username == current_user.username:
            raise ValueError("you cannot disable your own account")
        users.disable_user(db, username, actor=current_user.username, now=context.now(),
                           reason=request.form.get("reason") or None)

    return _user_change(change)


@bp.get("/export")
@role_required("reviewer")
def export_form():
    """The form to download an audit bundle."""
    today = context.today()
    return render_template("admin/export.html", first=today - timedelta(days=30), last=today, error=None)


@bp.post("/export")
@role_required("reviewer")
def export_bundle():
    """Build the audit bundle of a period and send it as a download (the export itself is audited)."""
    first, last = _form_date("from"), _form_date("to")
    settings = context.state().settings
    if first is None or last is None or last < first:
        page = render_template("admin/export.html", first=first, last=last,
                               error=gettext("bad_period"))
        return page, 400
    start, end = audit.period_bounds(first, last, settings.timezone)
    folder = Path(tempfile.mkdtemp(prefix="audit-bundle-"))
    name = f"audit-{first.isoformat()}-{last.isoformat()}.zip"
    try:
        with context.state().sessions.begin() as db:
            summary = audit.export_bundle(db, settings.archive_dir, start=start, end=end, out=folder / name,
                                          now=context.now())
            auditlog.record(db, actor=current_user.username, action="audit.export", now=context.now(),
                            target_type="bundle", detail={"from": start.isoformat(), "to": end.isoformat(),
                                                          "counts": summary.counts,
                                                          "manifest_sha256": summary.manifest_sha256})
        response = send_file(folder / name, mimetype="application/zip", as_attachment=True, download_name=name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response
