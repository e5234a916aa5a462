"""Template helpers: local times, safe outbound links, filter URLs, relative ages, pagination, error pages.

Autoescaping is on for every template (Flask's default for .html); nothing here marks scraped text as safe. An
outbound link is only rendered as a link when its scheme is http or https, so a scraped `javascript:` URL stays text.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from web import context
from web.i18n import gettext


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
    """How long ago `value` was, in the request's language ("never" for None)."""
    if value is None:
        return gettext("never")
    seconds = max(0, (context.now() - value).total_seconds())
    if seconds >= 86400:
        return gettext("ago_days", n=int(seconds // 86400))
    if seconds >= 3600:
        return gettext("ago_hours", n=int(seconds // 3600))
    return gettext("ago_minutes", n=int(seconds // 60))


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


def filter_url(flt: Any, endpoint: str | None = None, **changes: Any) -> str:
    """The URL of the current list (or `endpoint`) with the filter changed; filter changes reset to page 1."""
    target = flt.replace(**changes) if changes else flt
    return link(endpoint or request.endpoint, **target.to_args())


def pages(total: int, per_page: int) -> int:
    """Number of pages for `total` rows (at least 1)."""
    return max(1, math.ceil(total / per_page))


def render_error(error: HTTPException):
    """A small page for 4xx/5xx in the site's look (JSON under /api/)."""
    code = error.code or 500
    if request.path.startswith("/api/"):
        return {"error": error.name, "status": code}, code
    key = {404: "not_found", 400: "bad_request"}.get(code)
    title = gettext(key) if key else error.name
    text = gettext("not_found_text") if code == 404 else (error.description or "")
    return render_template("error.html", title=title, text=text, code=code), code


def init_app(app: Flask) -> None:
    """Register filters, globals and error pages."""
    app.jinja_env.filters.update(local_dt=local_dt, iso_date=iso_date, safe_href=safe_href, age=age)
    app.jinja_env.globals.update(filter_url=filter_url, link=link, pages=pages)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.register_error_handler(HTTPException, render_error)
