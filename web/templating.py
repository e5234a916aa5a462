"""Template helpers: local times, safe outbound links, filter URLs, relative ages, pagination, error pages.

Autoescaping is on for every template (Flask's default for .html); nothing here marks scraped text as safe. An
outbound link is only rendered as a link when its scheme is http or https, so a scraped `javascript:` URL stays text.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import flask_babel
from flask import Flask, current_app, g, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from web import context, history
from web.i18n import gettext, label


def local_dt(value: datetime | None) -> str:
    """A UTC datetime as "YYYY-MM-DD HH:MM" in the display time zone ('' for None)."""
    if value is None:
        return ""
    return value.astimezone(context.tz()).strftime("%Y-%m-%d %H:%M")


def iso_date(value: date | None) -> str:
    """A date as YYYY-MM-DD ('' for None)."""
    return value.isoformat() if value else ""


def safe_href(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL, else None (the template then prints it as text)."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def age(value: datetime | None) -> str:
    """How long ago `value` was, in the request's language ("5 天前", "1 hour ago"; "never" for None).

    Babel's formatter words it with each language's plural rules, so English never says "1 minutes ago".
    """
    if value is None:
        return gettext("never")
    elapsed = max(timedelta(0), context.now() - value)
    # threshold=2: a unit is used from two of it on, so ten days read "10 天前", not a rounded "1 周前".
    return flask_babel.format_timedelta(-elapsed, add_direction=True, threshold=2)


def link(endpoint: str, **values: Any) -> str:
    """`url_for(endpoint, **values)`, remembered for the rest of the request.

    A list page links every tag chip to its filtered list: about 250 links of which a few dozen differ, and building
    each through the URL map was a quarter of the page's time.
    """
    cache = g.setdefault("_links", {})
    key = (endpoint, tuple(values.items()))
    if key not in cache:
        cache[key] = url_for(endpoint, **values)
    return cache[key]


def tag_chips(pairs: Any, facets: tuple[str, ...] = ("area", "disease", "function"),
              endpoint: str = "devices.index") -> Markup:
    """The chips of `pairs` ((facet, code) tags) whose facet is in `facets`, each a link to `endpoint` filtered by it.

    Built here rather than by a Jinja macro: a list page shows 50 rows of chips, and a macro call per row (with a
    link and a label per chip) was the largest part of the page's rendering. Each chip's HTML is made once per
    request (the language is fixed for a request). A device list filters an area's sub-area with `sub`, a policy
    list its type with `type`; every other facet by its own name.
    """
    cache = g.setdefault("_chips", {})
    html = ['<span class="chips">\n']
    for facet, code in pairs:
        if facet not in facets:
            continue
        chip = cache.get((endpoint, facet, code))
        if chip is None:
            arg = "sub" if (facet == "area" and "." in code and endpoint == "devices.index") else (
                "type" if facet == "policy_type" else facet)
            chip = Markup('  <a class="chip chip-{}" href="{}">{}</a>\n').format(
                facet, link(endpoint, **{arg: code}), label(code))
            cache[(endpoint, facet, code)] = chip
        html.append(chip)
    html.append("</span>")
    return Markup("".join(html))


def filter_url(flt: Any, endpoint: str | None = None, **changes: Any) -> str:
    """The URL of the current list (or `endpoint`) with the filter changed; filter changes reset to page 1."""
    target = flt.replace(**changes) if changes else flt
    return link(endpoint or request.endpoint, **target.to_args())


def pages(total: int, per_page: int) -> int:
    """Number of pages for `total` rows (at least 1)."""
    return max(1, math.ceil(total / per_page))


# Error pages with their own wording in both languages; another code shows werkzeug's English name and text.
ERROR_KEYS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              413: "too_large", 429: "too_many", 500: "server_error"}
PROBLEM_TYPE = "application/problem+json"


def _error_headers(error: HTTPException) -> dict[str, str]:
    """The headers an HTTP error carries (`Allow` of a 405, `Retry-After` of a 429), without its content type."""
    return {k: v for k, v in error.get_headers() if k.lower() != "content-type"}


def refused(reason: Any) -> str:
    """Why an argument was refused, in the request's language (a tracker.read.filters.Refusal; else as it is)."""
    key, values = getattr(reason, "key", None), dict(getattr(reason, "values", ()))
    return gettext(f"refused_{key}", **values) if key else str(reason)


def render_error(error: HTTPException):
    """The tracker's page for a 4xx/5xx in the request's language; under /api/ an RFC 9457 problem document
    (type, title, status, detail, and `invalid_params` naming each refused argument)."""
    code = error.code or 500
    invalid = getattr(error, "invalid", None) or {}
    key = ERROR_KEYS.get(code)
    headers = _error_headers(error)
    if request.path.startswith("/api/"):
        body = {"type": "about:blank", "title": error.name, "status": code,
                "detail": error.description if invalid or code not in (404, 500) else gettext(f"{key}_text")}
        if invalid:
            body["invalid_params"] = [{"name": name, "reason": str(reason)} for name, reason in invalid.items()]
        response = current_app.response_class(current_app.json.dumps(body), status=code, mimetype=PROBLEM_TYPE)
        response.headers.update(headers)
        return response
    title = gettext(key) if key else error.name
    text = gettext(f"{key}_text") if key else (error.description or "")
    last, last_url = getattr(error, "last", None), None
    if last is not None:
        text = gettext("no_such_page", page=error.page, last=last)  # type: ignore[attr-defined]
        invalid = {}
        last_url = request.path + "?" + urlencode({**request.args.to_dict(), "page": last})
    invalid = {name: refused(reason) for name, reason in invalid.items()}
    return render_template("error.html", title=title, text=text, code=code, invalid=invalid, last=last,
                           last_url=last_url), code, headers


def init_app(app: Flask) -> None:
    """Register filters, globals and error pages."""
    app.jinja_env.filters.update(local_dt=local_dt, iso_date=iso_date, safe_href=safe_href, age=age)
    app.jinja_env.globals.update(filter_url=filter_url, link=link, pages=pages, tag_chips=tag_chips,
                                 revision_cells=history.revision_cells)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.register_error_handler(HTTPException, render_error)
