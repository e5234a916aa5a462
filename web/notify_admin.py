"""Admin pages of team notifications: chat channels (add, send a test message, remove), watches (add, remove) and
the deliveries with the platforms' answers.

Reviewers see all three and manage watches; channels (which hold credentials) are added and removed by
administrators only. A channel's URL and secret are never sent back to the browser: the page shows them masked, and
a generated webhook secret is shown once, on the page that answers the form (not through a flash message, which
would keep it in the session cookie).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker import i18n
from tracker.classify import taxonomy
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.notify import channels as chans
from tracker.notify import watches as watchlist
from tracker.notify.kinds import KINDS
from tracker.notify.refusal import NotifyRefusal
from web import context, params
from web.auth import require_role, role_required
from web.i18n import gettext

bp = Blueprint("notify_admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
def _reviewers_only():
    return require_role("reviewer")


def refusal_text(exc: ValueError) -> str:
    """A refusal's reason in the reader's language (tracker.notify.refusal); the English one when not keyed."""
    if isinstance(exc, NotifyRefusal) and i18n.known(exc.catalogue_key):
        return gettext(exc.catalogue_key, **{k: str(v) for k, v in exc.values.items()})
    return str(exc)


def _change(action, refused: type[ValueError], page, back: str, status: int = 400):
    """Run `action(db)` in one transaction; on success flash "saved" and go to `back`, on a refusal show `page` with
    the reason and `status`."""
    try:
        with context.state().sessions.begin() as db:
            action(db)
    except refused as exc:
        return page(error=refusal_text(exc), status=status)
    flash(gettext("saved"))
    return redirect(url_for(back))


def _channels_page(error: str | None = None, generated: str | None = None, status: int = 200):
    page = render_template("admin/channels.html", channels=chans.list_channels(context.db()), kinds=list(KINDS),
                           langs=chans.LANGS, error=error, generated=generated)
    return page, status


@bp.get("/channels")
@role_required("reviewer")
def channel_list():
    """Every channel, masked, with its delivery counts; the form to add one."""
    return _channels_page()


@bp.post("/channels")
@role_required("admin")
def channel_add():
    """Add a channel."""
    form = request.form
    try:
        with context.state().sessions.begin() as db:
            _channel, generated = chans.add_channel(
                db, name=form.get("name", "").strip(), kind=form.get("kind", ""), url=form.get("url", "").strip(),
                secret=form.get("secret") or None, lang=form.get("lang", "zh"), actor=current_user.username,
                now=context.now())
    except chans.ChannelError as exc:
        return _channels_page(error=refusal_text(exc), status=400)
    if generated:
        return _channels_page(generated=generated)
    flash(gettext("saved"))
    return redirect(url_for("notify_admin.channel_list"))


@bp.post("/channels/<name>/test")
@role_required("admin")
def channel_test(name: str):
    """Send a test message now and say what the platform answered."""
    try:
        outcome = chans.send_test_message(context.state().sessions, context.state().settings, name,
                                          now=context.now, actor=current_user.username, wait=10.0)
    except chans.ChannelError as exc:
        return _channels_page(error=refusal_text(exc), status=404)
    flash(gettext("channel_test_ok" if outcome.ok else "channel_test_failed", channel=name,
                  answer=outcome.answer or outcome.status))
    return redirect(url_for("notify_admin.channel_list"))


@bp.post("/channels/<name>/remove")
@role_required("admin")
def channel_remove(name: str):
    """Remove a channel."""
    return _change(lambda db: chans.remove_channel(db, name, actor=current_user.username, now=context.now()),
                   chans.ChannelError, _channels_page, "notify_admin.channel_list", status=404)


def _watches_page(error: str | None = None, status: int = 200):
    db = context.db()
    page = render_template(
        "admin/watches.html", watches=watchlist.list_watches(db), channels=chans.list_channels(db),
        frequencies=watchlist.FREQUENCIES, error=error,
        codes={facet: taxonomy.nodes(facet) for facet in ("area", "function", "disease", "issuer")},
        stages=POLICY_STAGES)
    return page, status


@bp.get("/watches")
@role_required("reviewer")
def watch_list():
    """Every watch; the form to add one."""
    return _watches_page()


def _words(text: str | None) -> list[str]:
    return [w.strip() for w in (text or "").replace("，", ",").split(",") if w.strip()]


@bp.post("/watches")
@role_required("reviewer")
def watch_add():
    """Add a watch."""
    form = request.form
    only = form.get("only", "")
    filters = {"areas": form.getlist("area"), "functions": form.getlist("function"),
               "diseases": form.getlist("disease"), "issuers": form.getlist("issuer"), "stages": form.getlist("stage"),
               "companies": _words(form.get("companies")), "keywords": _words(form.get("keywords")),
               "certificates": _words(form.get("certificates")), "ai_only": not form.get("all_devices")}
    hour = form.get("hour", "0").strip()
    # A non-number becomes an out-of-range hour, so add_watch refuses it with its own message.
    daily_hour = int(hour) if hour.isdigit() else -1
    return _change(lambda db: watchlist.add_watch(
        db, name=form.get("name", "").strip(), filters=filters, channels=form.getlist("channel"),
        frequency=form.get("frequency", ""), include_devices=only != "policies", include_policies=only != "devices",
        daily_hour=daily_hour, actor=current_user.username, now=context.now()), watchlist.WatchError, _watches_page, "notify_admin.watch_list")


@bp.post("/watches/<name>/remove")
@role_required("reviewer")
def watch_remove(name: str):
    """Remove a watch."""
    return _change(lambda db: watchlist.remove_watch(db, name, actor=current_user.username, now=context.now()),
                   watchlist.WatchError, _watches_page, "notify_admin.watch_list", status=404)


@bp.get("/deliveries")
@role_required("reviewer")
def delivery_list():
    """Deliveries, newest first, optionally of one state, with the platform's answer."""
    status, page = params.read(lambda a: (a.choice("status", chans.DELIVERY_STATES), a.paging()["page"]))
    rows, total = chans.list_deliveries(context.db(), status=status, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    params.check_page(page, total, PER_PAGE)
    kept = {"status": status} if status else {}
    prev_url = url_for("notify_admin.delivery_list", **kept, page=page - 1) if page > 1 else None
    next_url = url_for("notify_admin.delivery_list", **kept, page=page + 1) if page * PER_PAGE < total else None
    return render_template("admin/deliveries.html", rows=rows, total=total, status=status,
                           states=chans.DELIVERY_STATES, prev_url=prev_url, next_url=next_url)
