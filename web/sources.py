"""Sources: every source's recent runs and health, and the archived raw copy of any source document.

The raw copy is looked up by the document's id only (never a path from the request), read from the WARC archive and
served as text/plain under a `sandbox` CSP, so archived HTML can never run as a page of this site. Binary bodies
(ZIP files) are offered as a download. The document page shows an archived HTML page as it looked, inside a frame
that is sandboxed twice (the iframe's `sandbox` attribute and the copy's own `sandbox` CSP): no scripts, no forms,
no request to any other site; a switch shows its source text instead.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template, request
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
# The archived page in its frame: sandboxed (no scripts, no forms, its own opaque origin), nothing fetched but
# inline styles and data: images, framed by this site only.
RAW_HTML_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


@bp.get("/sources")
def index():
    """Every source: last runs (ok / empty / blocked / failed), age of the last good run, counts, errors."""
    sources = health.source_health(db(), context.state().sources, context.now(), RUNS_SHOWN)
    return render_template("sources/index.html", sources=sources)


def _archived(document_id: int):
    """The document, its archived HTTP headers and body, and whether the body still has the recorded sha256;
    404 when there is no archived copy, 413 when it is too big to serve."""
    doc = pages.source_document(db(), document_id)
    if doc is None or not doc.warc_path or doc.warc_offset is None:
        abort(404)
    if doc.size > MAX_RAW_BYTES:
        abort(413)
    try:
        headers, body = Archive(context.state().settings.archive_dir).read_record(doc.warc_path, doc.warc_offset)
    except (ValueError, OSError):
        abort(404)
    return doc, headers, body, sha256_hex(body) == doc.sha256


def _is_html(doc, headers, body: bytes) -> bool:
    content_type = (headers["http"].get("content-type") or doc.content_type or "").lower()
    return b"\x00" not in body[:8192] and ("html" in content_type or body.lstrip()[:15].lower().startswith(
        (b"<!doctype html", b"<html")))


@bp.get("/documents/<id:document_id>/raw")
def raw(document_id: int):
    """The archived body of a source document, as plain text (or a download for binary files); with `?as=html` an
    HTML body as the page itself, for the sandboxed frame of the document page."""
    doc, headers, body, verified = _archived(document_id)
    if request.args.get("as") == "html" and _is_html(doc, headers, body):
        text = decode_text(body, headers["http"].get("content-type") or doc.content_type)
        response = Response(text, mimetype="text/html")
        # Shown only inside this site's own frame: no scripts, no forms, no requests anywhere (images of the page
        # were not archived, so they stay blank rather than being fetched from the original site).
        response.headers["Content-Security-Policy"] = RAW_HTML_CSP
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    elif b"\x00" in body[:8192]:
        name = secure_filename(PurePosixPath(urlsplit(doc.url).path).name) or f"document-{doc.id}.bin"
        response = Response(body, mimetype="application/octet-stream")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Content-Security-Policy"] = RAW_CSP
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


@bp.get("/documents/<id:document_id>")
def document(document_id: int):
    """An archived source document on a page of this site: what it is, and the archived copy either as the page
    looked (a sandboxed frame) or as its source text (`?view=source`)."""
    doc, headers, body, verified = _archived(document_id)
    html = _is_html(doc, headers, body)
    view = "source" if request.args.get("view") == "source" or not html else "page"
    text = None
    if view == "source" and b"\x00" not in body[:8192]:
        text = decode_text(body, headers["http"].get("content-type") or doc.content_type)
    return render_template("sources/document.html", doc=doc, verified=verified, html=html, view=view, text=text)
