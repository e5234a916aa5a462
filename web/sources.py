"""Sources: every source's recent runs and health, and the archived raw copy of any source document.

The raw copy is looked up by the document's id only (never a path from the request), read from the WARC archive and
served as text/plain under a `sandbox` CSP, so archived HTML can never run as a page of this site. Binary bodies
(ZIP files) are offered as a download.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template
from werkzeug.utils import secure_filename

from tracker.fetch.archive import Archive, sha256_hex
from tracker.fetch.charset import decode_text
from tracker.read import health, pages
from web import context
from web.context import db
from web.templating import local_dt

bp = Blueprint("sources", __name__)
RUNS_SHOWN = 10
MAX_RAW_BYTES = 64 * 1024 * 1024
RAW_CSP = "sandbox; default-src 'none'"


@bp.get("/sources")
def index():
    """Every source: last runs (ok / empty / blocked / failed), age of the last good run, counts, errors."""
    sources = health.source_health(db(), context.state().sources, context.now(), RUNS_SHOWN)
    return render_template("sources/index.html", sources=sources)


@bp.get("/documents/<id:document_id>/raw")
def raw(document_id: int):
    """The archived body of a source document, as plain text (or a download for binary files)."""
    doc = pages.source_document(db(), document_id)
    if doc is None or not doc.warc_path or doc.warc_offset is None:
        abort(404)
    if doc.size > MAX_RAW_BYTES:
        abort(413)
    try:
        headers, body = Archive(context.state().settings.archive_dir).read_record(doc.warc_path, doc.warc_offset)
    except (ValueError, OSError):
        abort(404)
    verified = sha256_hex(body) == doc.sha256
    if b"\x00" in body[:8192]:
        name = secure_filename(PurePosixPath(urlsplit(doc.url).path).name) or f"document-{doc.id}.bin"
        response = Response(body, mimetype="application/octet-stream")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        preamble = "\n".join((
            f"# Archived copy of source document {doc.id} ({doc.source})",
            f"# URL: {doc.url}",
            f"# Fetched: {local_dt(doc.fetched_at)}  HTTP status: {doc.http_status or headers.get('status') or '-'}",
            f"# SHA-256: {doc.sha256} ({'verified' if verified else 'MISMATCH: archive differs from the record'})",
            f"# Archive: {doc.warc_path} @ {doc.warc_offset}",
            "", "",
        ))
        text = decode_text(body, headers["http"].get("content-type") or doc.content_type)
        response = Response(preamble + text, mimetype="text/plain")
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Archive-Sha256-Verified"] = "true" if verified else "false"
    return response
