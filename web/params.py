"""Request-level parameter rules: a view reads its query arguments here (through tracker.read.filters.Args, the one
reader of URL arguments) and gets either good values or a 400 naming every refused argument; path ids go through
the `id` URL converter, so an id the database cannot hold (0, 2**63) is a 404 before any view runs; a page past the
end is a 404 that names the last page.

Decision (one rule, HTML and API alike): a malformed or out-of-range value of a known argument is refused (400), not
dropped, since a dropped filter or page answers a different question than the one asked. Unknown argument names are
ignored (`lang`, tracking tags), and an empty value counts as absent (a form's "any"). Three arguments are
conveniences, not questions, and stay lenient: `lang` (an unknown language gives Chinese), the login page's `next`
(followed only when it is a local path) and the subscribe form's pre-fill (unknown codes are left unticked).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping, TypeVar

from flask import Flask, request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import BaseConverter, ValidationError

from tracker.read import filters

# A query string of this many bytes or more is refused with the tracker's own 400 page (gunicorn's request-line
# limit, web/serving.py, is set above it, so the app and not the server answers).
MAX_QUERY_STRING = 4096
T = TypeVar("T")


class BadParameters(BadRequest):
    """400 naming the refused arguments (`invalid`: name -> Refusal)."""

    def __init__(self, invalid: Mapping[str, filters.Refusal]) -> None:
        self.invalid = dict(invalid)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.invalid.items()))


class NoSuchPage(NotFound):
    """404 for a page past the end of a list, naming the last page."""

    def __init__(self, page: int, last: int) -> None:
        self.page, self.last = page, last
        self.invalid = {"page": filters.Refusal("past_end", (("last", last),))}
        super().__init__(f"There is no page {page}: the last page is {last}.")


class IdConverter(BaseConverter):
    """`<id:name>`: a record id, 1..MAX_ID in plain digits; anything else matches no route (404)."""

    regex = r"[0-9]{1,19}"  # ASCII digits only: \d would take "١" (Arabic-Indic one) for 1

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= filters.MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def read(parse: Callable[[filters.Args], T], args: Mapping[str, Any] | None = None) -> T:
    """`parse(Args(request.args))`, or 400 naming every argument it refused."""
    reader = filters.Args(request.args if args is None else args)
    value = parse(reader)
    if reader.errors:
        raise BadParameters(reader.errors)
    return value


def list_filter(cls: Any) -> Any:
    """The request's DeviceFilter / PolicyFilter, or 400 naming every refused argument."""
    f, errors = cls.parse(request.args)
    if errors:
        raise BadParameters(errors)
    return f


def asof() -> date | None:
    """The `asof` date of a detail page or API record, or 400 when it is malformed or out of range."""
    return read(lambda a: a.date("asof"))


def check_page(page: int, total: int, per_page: int) -> None:
    """404 (naming the last page) when `page` is past the end of `total` rows; page 1 always exists."""
    last = filters.last_page(total, per_page)
    if page > last:
        raise NoSuchPage(page, last)


def _query_too_long():
    if len(request.query_string) >= MAX_QUERY_STRING:
        raise BadParameters({"query": filters.Refusal("query_too_long", (("limit", MAX_QUERY_STRING),))})
    return None


def init_app(app: Flask) -> None:
    """Install the `id` converter and the query-string bound."""
    app.url_map.converters["id"] = IdConverter
    app.before_request(_query_too_long)
