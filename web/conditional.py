"""Conditional GET for the feeds and exports: an `ETag` and a `Last-Modified` known before anything is rendered, and
`304 Not Modified` when the client already has that answer.

A feed reader polls every few minutes; what it gets back only changes when the list's data does, so the validators
are built from what decides the answer, not from the rendered bytes: the URL's filter (normalised, so two spellings
of one filter share a tag), the format, the language, the site's public URL, the day (an export's file name carries
it) and `tracker.read.pages.last_changed` (the newest row or tag change of the kind). A 304 then costs two
aggregate queries instead of the list query and a render. The ETag is weak: JSON exports carry their generation time
and XLSX files their creation time, so equal tags promise the same data, not the same bytes.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, request
from werkzeug.http import is_resource_modified

from tracker.read import pages
from web import context
from web.context import db
from web.i18n import lang


class Validators:
    """The ETag and Last-Modified of one feed or export answer."""

    def __init__(self, kind: str, fmt: str, f) -> None:
        self.last_modified = (pages.events_last_changed(db(), f) if kind == "events" else
                              pages.last_changed(db(), f))
        # ?headers=codes changes a sheet's header row and cells, so it is part of the tag too.
        parts = (kind, fmt, sorted(f.to_args().items()), lang(), request.args.get("headers") == "codes",
                 context.state().settings.public_base_url,
                 context.today().isoformat(), self.last_modified.isoformat() if self.last_modified else "-")
        self.etag = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]

    def fresh(self) -> bool:
        """Whether the request's If-None-Match (or, without it, If-Modified-Since) says the client has this answer."""
        return not is_resource_modified(request.environ, etag=f'W/"{self.etag}"',
                                        last_modified=self.last_modified)

    def stamp(self, response: Response) -> Response:
        """Set the validators on `response`."""
        response.set_etag(self.etag, weak=True)
        if self.last_modified is not None:
            response.last_modified = _whole_seconds(self.last_modified)
        # Readers should ask again each time (cheap with the validators) rather than trust a heuristic freshness.
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    def not_modified(self) -> Response:
        """The 304 answer, with the validators."""
        return self.stamp(Response(status=304))


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)
