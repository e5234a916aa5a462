"""The language of a request, and UI strings read in it through Flask-Babel.

The catalogue is tracker.i18n's gettext catalogues (`tracker/i18n/locale/{zh,en}/LC_MESSAGES/messages.po`, shared with
e-mails, exports and the CLI); Flask-Babel is configured on that directory with `lang()` as its locale selector, so
its formatters (dates, relative times) speak the request's language too. The language comes from `?lang=zh|en` (then
remembered in a cookie), else the cookie, else Chinese. Taxonomy labels are not here: they come from
`tracker.classify.taxonomy.label(code, lang)`. A key missing from the catalogue is shown as the key itself, so a
forgotten string is visible rather than blank.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import flask_babel
from flask import Flask, Response, g, has_app_context, request
from markupsafe import Markup

from tracker import i18n as catalogue
from tracker.classify import reasons, taxonomy
from tracker.i18n import LANGS
from tracker.read.links import reason_of
from tracker.read.lists import POLICY_TYPE_LABELS
from web import context

COOKIE = "lang"


def report_title(stem: str, full: bool = False) -> str:
    """A seed report's short (or full) citation in the request's language (the file stem when unknown)."""
    key = f"report_full_{stem}" if full else f"report_{stem}"
    return gettext(key) if catalogue.known(key) else stem


def lang() -> str:
    """The language of the current request ("zh" or "en")."""
    if "lang" not in g:
        asked = request.args.get("lang")
        g.lang = asked if asked in LANGS else (request.cookies.get(COOKIE) if request.cookies.get(COOKIE) in LANGS
                                                 else "zh")
    return g.lang


def gettext(key: str, **values: object) -> str:
    """The UI string `key` in the request's language, with `%(name)s` placeholders filled in.

    A plain string (not Markup): templates escape it like any other value, so a `&` or `<` in a translation is text.
    The request's catalogue is looked up once and kept in `g`: a list page asks for about 180 strings, and
    Flask-Babel's own lookup (context, domain, locale, cache) for each was a tenth of the page's time.
    """
    if not has_app_context():
        return flask_babel.gettext(key, **values)
    translations = g.get("_translations")
    if translations is None:
        translations = g._translations = flask_babel.get_translations()
    text = translations.ugettext(key)
    return text % values if values else text  # what flask_babel.gettext does with the same catalogue


def ngettext(key: str, plural_key: str, n: int, **values: object) -> str:
    """`key` or `plural_key` in the request's language, chosen by `n` under its plural rule; `%(num)s` is `n`."""
    return flask_babel.ngettext(key, plural_key, n, **values)


def label(code: str | None) -> str:
    """A taxonomy code's label in the request's language (the code itself when the taxonomy does not know it)."""
    if not code:
        return ""
    if code == "ai":  # the AI flag is a tag of its own facet, outside the taxonomy tree
        return "AI"
    try:
        return taxonomy.label(code, lang())
    except KeyError:
        return code


def switch_url() -> str:
    """The current page in the other language (same path and arguments, `lang` swapped)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = ["en" if lang() == "zh" else "zh"]
    return request.path + "?" + urlencode(args, doseq=True)


def doc_type_label(stored: str | None) -> str:
    """A policy's stored type (the Chinese label of TAXONOMY.md §4) in the request's language."""
    code = next((c for c, zh in POLICY_TYPE_LABELS.items() if zh == stored), None)
    return label(code) if code else (stored or "")


def field_value(name: str, value: str | None) -> str:
    """A stored field value (as the history keeps it: text) in words where the field is a code or a flag."""
    if value is None:
        return ""
    prefixed = {"origin": "origin_", "status": "status_", "stage": "stage_"}
    if name in prefixed and catalogue.known(f"{prefixed[name]}{value}"):
        return gettext(f"{prefixed[name]}{value}")
    if name in ("is_ai", "is_sample") and value in ("true", "false"):
        return gettext("yes" if value == "true" else "no")
    if name == "mgmt_class" and value.isdigit():
        return gettext("class_n", n=value)
    if name == "doc_type":
        return doc_type_label(value)
    return value


def reason_text(reason: reasons.Reason | Any) -> str:
    """A reason in the request's language: a Reason, or a stored link row (its reason code and parameters)."""
    return (reason if isinstance(reason, reasons.Reason) else reason_of(reason)).text(lang())


def evidence_text(evidence: dict[str, Any]) -> str:
    """One stored evidence entry of a rule tag (field, words, rule) as a sentence in the request's language."""
    return reasons.evidence_reason(evidence).text(lang())


def evidence_html(evidence: dict[str, Any]) -> Markup:
    """`evidence_text` with the matched words marked (<mark>), everything escaped."""
    reason = reasons.evidence_reason(evidence)
    marked = {k: [Markup("<mark>{}</mark>").format(w) for w in v] if k == "words" else v
              for k, v in reason.params.items()}
    return reasons.Reason(reason.code, marked).markup(lang())


def remember(response: Response) -> Response:
    """Store an explicitly chosen language in a cookie, so later pages keep it."""
    asked = request.args.get("lang")
    if asked in LANGS and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def sample_mode() -> bool:
    """Whether the site runs on the bundled samples (TRACKER_SAMPLE_MODE, set by `make run` offline): every page
    then says so in a banner, on top of the badge each sample record carries."""
    return context.state().settings.sample_mode


def init_app(app: Flask) -> None:
    """Configure Flask-Babel on the shared catalogues (compiled first if a `.po` is newer than its `.mo`), make `_`,
    `label` and `lang` available to templates and remember the chosen language.

    Flask-Babel's own Jinja set-up is off: its `_` marks translations as safe HTML, ours returns text to be escaped.
    """
    catalogue.compile_catalogues()
    flask_babel.Babel(app, configure_jinja=False, locale_selector=lang, default_locale=catalogue.DEFAULT_LANG,
                      default_translation_directories=str(catalogue.LOCALE_DIR), default_domain=catalogue.DOMAIN)
    app.after_request(remember)
    app.jinja_env.globals.update(_=gettext, ngettext=ngettext, label=label, lang=lang, switch_url=switch_url,
                                  report_title=report_title,
                                  doc_type_label=doc_type_label, field_value=field_value, sample_mode=sample_mode,
                                  reason_text=reason_text, evidence_text=evidence_text,
                                  evidence_html=evidence_html)
    app.jinja_env.filters["reason_text"] = reason_text
