"""Subscriptions: sign up with filters and a frequency, double opt-in, manage preferences, one-click unsubscribe.

The form never reveals whether an address is already known: the answer is always "check your inbox". What each step
stores (subscriber, subscription, consent records) is tracker.mail.subscriptions'; this module parses forms and links.

Unsubscribing follows RFC 8058: the `List-Unsubscribe` URL answers GET with a confirmation page and POST (a mail
client's one-click `List-Unsubscribe=One-Click`, without cookies or a CSRF token) by unsubscribing at once. That one
POST view is exempt from CSRF: the signed token in its URL is the proof, and unsubscribing is harmless to repeat.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from tracker.classify import taxonomy
from tracker.ids import certno
from tracker.mail import subscriptions
from tracker.mail.digest import FREQUENCIES
from tracker.mail.filters import certificate_numbers, normalize_filters
from tracker.mail.tokens import PATHS, InvalidToken, make_token, read_token
from tracker.store.models import Subscriber
from web import context
from web.i18n import gettext, lang

bp = Blueprint("subscribe", __name__)
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")

def t(key: str, **values: object) -> str:
    """A string of this blueprint (catalogue key `sub_<key>`) in the request's language."""
    return gettext(f"sub_{key}", **values)


def _options() -> dict[str, list[tuple[str, str]]]:
    def pairs(nodes) -> list[tuple[str, str]]:
        return [(n.code, ("— " if n.parent else "") + taxonomy.label(n.code, lang())) for n in nodes]

    areas = []
    for top in (n for n in taxonomy.nodes("area") if n.parent is None):
        areas += [top, *taxonomy.children(top.code)]  # sub-areas right under their parent
    return {"areas": pairs(areas), "functions": pairs(taxonomy.nodes("function")),
            "diseases": pairs(taxonomy.nodes("disease")), "policy_types": pairs(taxonomy.nodes("policy_type"))}


def _form_values(source) -> dict:
    """Preferences from a submitted form (or from URL arguments, to pre-fill the form from a list page)."""
    filters = normalize_filters({
        "areas": source.getlist("areas"), "functions": source.getlist("functions"),
        "diseases": source.getlist("diseases"), "policy_types": source.getlist("policy_types"),
        "companies": source.get("companies", ""), "certificates": source.get("certificates", ""),
        "keywords": source.get("keywords", ""), "ai_only": source.get("ai_only") in ("1", "on", "true") if "frequency" in source else True,
    })
    frequency = source.get("frequency") if source.get("frequency") in FREQUENCIES else subscriptions.DEFAULT_FREQUENCY
    submitted = "frequency" in source
    return {
        "filters": filters, "frequency": frequency,
        "include_devices": source.get("include_devices") in ("1", "on") if submitted else True,
        "include_policies": source.get("include_policies") in ("1", "on") if submitted else True,
    }


def _form_errors(source, prefs: dict) -> list[str]:
    """What is wrong with submitted preferences, in the reader's language (empty: nothing)."""
    errors = []
    try:
        certificate_numbers(source.get("certificates", ""))
    except certno.CertNoError as exc:
        errors.append(t("bad_certificate", number=str(exc.text), problem=exc.problem))
    if not (prefs["include_devices"] or prefs["include_policies"]):
        errors.append(t("need_content"))
    return errors


def _as_typed(prefs: dict, source) -> dict:
    """`prefs` to show again after a refusal: the certificate numbers as typed, so a mistyped one can be corrected
    (the stored form drops numbers that do not parse)."""
    return {**prefs, "typed_certificates": source.get("certificates", "")}


def _render_form(template: str, prefs: dict, **extra):
    return render_template(f"subscribe/{template}", t=t, prefs=prefs, options=_options(), frequencies=FREQUENCIES,
                           consent_wording=subscriptions.SUBSCRIBE_WORDING[lang()], **extra)


def _message(title_key: str, text: str, status: int = 200, **extra):
    return render_template("subscribe/message.html", t=t, title=t(title_key), text=text, **extra), status


def _subscriber(purpose: str, token: str) -> Subscriber | None:
    """The subscriber a token names, or None when the token is not valid or no longer matches the row."""
    try:
        data = read_token(current_app.config["SECRET_KEY"], purpose, token)
    except InvalidToken:
        return None
    return subscriptions.subscriber_for(context.db(), data)


def _requester() -> subscriptions.Requester:
    return subscriptions.Requester(request.remote_addr, request.user_agent.string or None)


@bp.get("/subscribe")
def form():
    """The sign-up form (URL arguments such as ?areas=medical_imaging pre-fill it)."""
    return _render_form("form.html", _form_values(request.args), email="", errors=[])


@bp.post("/subscribe")
def submit():
    """Store a pending subscription and its consent, queue the opt-in email; always answer 'check your inbox'."""
    email = (request.form.get("email") or "").strip()
    local, _, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}" if local else email  # domains are case-insensitive, local parts need not be
    prefs = _form_values(request.form)
    errors = []
    if len(email) > 254 or not EMAIL_RE.match(email):
        errors.append(t("bad_email"))
    if request.form.get("consent") not in ("1", "on"):
        errors.append(t("need_consent"))
    errors += _form_errors(request.form, prefs)
    if errors:
        return _render_form("form.html", _as_typed(prefs, request.form), email=email, errors=errors), 400
    state = context.state()
    with state.sessions.begin() as session:
        subscriptions.sign_up(session, state.settings, email, prefs, lang(), _requester(), context.now())
    return _message("check_inbox", t("check_inbox_text"))


@bp.get(PATHS["confirm"].replace("{token}", "<token>"))
def confirm_page(token: str):
    """A page with one button: following a link alone confirms nothing (mail scanners open links)."""
    subscriber = _subscriber("confirm", token)
    if subscriber is None:
        return _message("bad_link", t("bad_link_text"), 404)
    return render_template("subscribe/confirm.html", t=t, subscriber=subscriber, token=token)


@bp.post(PATHS["confirm"].replace("{token}", "<token>"))
def confirm(token: str):
    """Activate the subscriber (double opt-in done) and show the manage page."""
    subscriber = _subscriber("confirm", token)
    if subscriber is None:
        return _message("bad_link", t("bad_link_text"), 404)
    with context.state().sessions.begin() as session:
        subscriptions.confirm(session, subscriber.id, _requester(), context.now())
    manage = make_token(current_app.config["SECRET_KEY"], "manage", subscriber.id, subscriber.email)
    return redirect(url_for("subscribe.manage", token=manage, done="confirmed"), code=303)


@bp.route(PATHS["manage"].replace("{token}", "<token>"), methods=["GET", "POST"])
def manage(token: str):
    """View and change preferences (reached from every email)."""
    subscriber = _subscriber("manage", token)
    if subscriber is None:
        return _message("bad_link", t("bad_link_text"), 404)
    notice = {"confirmed": t("confirmed")}.get(request.args.get("done", ""))
    errors: list[str] = []
    if request.method == "POST":
        prefs = _form_values(request.form)
        errors = _form_errors(request.form, prefs)
        if not errors:
            with context.state().sessions.begin() as session:
                subscriptions.change_preferences(session, subscriber.id, prefs, _requester(), context.now())
            notice = t("saved")
    else:
        prefs = subscriptions.preferences_of(subscriptions.latest_subscription(context.db(), subscriber.id))
    unsub = make_token(current_app.config["SECRET_KEY"], "unsubscribe", subscriber.id, subscriber.email)
    return _render_form("manage.html", _as_typed(prefs, request.form) if errors else prefs, subscriber=subscriber, notice=notice, errors=errors,
                        unsubscribe_url=url_for("subscribe.unsubscribe_page", token=unsub)), 400 if errors else 200


@bp.get(PATHS["unsubscribe"].replace("{token}", "<token>"))
def unsubscribe_page(token: str):
    """RFC 8058: a GET (a person, or a link scanner) only shows a confirmation page."""
    subscriber = _subscriber("unsubscribe", token)
    if subscriber is None:
        return _message("bad_link", t("bad_link_text"), 404)
    return render_template("subscribe/unsubscribe.html", t=t, subscriber=subscriber, token=token)


@bp.post(PATHS["unsubscribe"].replace("{token}", "<token>"))
def unsubscribe(token: str):
    """RFC 8058 one-click: a POST unsubscribes at once (and repeating it is harmless)."""
    subscriber = _subscriber("unsubscribe", token)
    if subscriber is None:
        abort(404)
    with context.state().sessions.begin() as session:
        subscriptions.unsubscribe(session, subscriber.id, _requester(), context.now())
    return _message("unsub_title", t("unsubscribed", email=subscriber.email),
                    link=(url_for("subscribe.form"), t("resubscribe")))


@bp.record_once
def _exempt_one_click(state) -> None:
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(unsubscribe)
