"""Response headers every page gets: a strict Content-Security-Policy (no inline scripts or styles), no MIME sniffing,
no framing by other sites, and a modest referrer policy. A view that needs a stricter policy (the archived raw copy)
sets its own header first; these are only defaults.

When the configured public base URL is https, every answer also carries Strict-Transport-Security (HSTS), so a
browser that has seen the site once never tries it over plain http again. Over http (`make run`, a LAN install) it is
left out: a browser would refuse the site on that host for a year."""
from __future__ import annotations

from flask import Flask, Response

from web import context

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"  # one year; no includeSubDomains: other hosts under the same domain are not ours to pin


def add_headers(response: Response) -> Response:
    """Set the default security headers where the view did not set its own."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if context.state().settings.serves_https:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Install the headers on every response."""
    app.after_request(add_headers)
