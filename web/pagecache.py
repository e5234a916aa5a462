"""A cache of rendered pages (the device list, search and device page, and the API's device list): the same answer
is not built twice while the data it shows has not changed.

An entry is the page's body, kept under everything that decides it:
- the path and the query string, normalised (parameters sorted, so two spellings of one filter share an entry);
- the language (`web.i18n.lang`: a `lang` parameter or the cookie) and today's date in the display time zone (the
  device page's as-of view is measured from it; an as-of date asked for is in the query);
- who asks: the logged-in account's session token (id and session version) and role, or nobody;
- the data stamp (`tracker.read.pages.data_stamp`): every committed write raises it (tracker.store.stamp), so a run,
  a reviewer's decision, a tag rule, a migration make every earlier entry unreachable at once.
The site's settings are fixed for an app's life, and the cache belongs to the app.

Pages that carry something of one session are never stored: a request with flashed messages waiting, or one whose
rendering asked for a CSRF token or changed the session. Only 200 answers to GET are stored.

Bounded memory: at most `Settings.page_cache_mb` MiB of bodies per worker process, least recently used first out
(cachetools' LRUCache, measured in bytes); `TRACKER_PAGE_CACHE_MB=0` turns the cache off. Each gunicorn worker has
its own: nothing is shared between processes, so nothing is served across a restart or a stamp change.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, NamedTuple

from cachetools import LRUCache
from flask import Flask, Response, current_app, g, make_response, request, session
from flask_login import current_user

from tracker.read import pages
from web import context
from web.context import db
from web.i18n import lang

EXTENSION = "tracker_page_cache"


class Page(NamedTuple):
    """A stored answer: its body and content type."""

    body: bytes
    mimetype: str


class PageCache:
    """Bodies by key, at most `max_bytes` of them, least recently used evicted first; safe across threads."""

    def __init__(self, max_bytes: int) -> None:
        self._pages: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=lambda page: len(page.body) + 200)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Page | None:
        """The page stored under `key`, or None."""
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple, page: Page) -> None:
        """Store `page` (a page larger than the whole cache is not kept)."""
        with self._lock:
            try:
                self._pages[key] = page
            except ValueError:  # cachetools: larger than maxsize
                pass

    def __len__(self) -> int:
        with self._lock:
            return len(self._pages)


def init_app(app: Flask) -> None:
    """Give the app its page cache, unless the settings turn it off."""
    megabytes = app.extensions["tracker"].settings.page_cache_mb
    app.extensions[EXTENSION] = PageCache(int(megabytes * 1024 * 1024)) if megabytes > 0 else None


def cached(view: Callable) -> Callable:
    """Serve `view`'s answer from the app's page cache when it holds one for this request, else build and keep it."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        cache: PageCache | None = current_app.extensions.get(EXTENSION)
        if cache is None or request.method != "GET" or "_flashes" in session:
            return view(*args, **kwargs)
        key = _key()
        page = cache.get(key)
        if page is not None:
            return Response(page.body, mimetype=page.mimetype)
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and not _session_bound():
            cache.put(key, Page(response.get_data(), response.mimetype))
        return response

    return wrapped


def _key() -> tuple:
    who = (current_user.get_id(), current_user.role) if current_user.is_authenticated else None
    query = tuple(sorted(request.args.items(multi=True)))
    # The stamp is read first: data read after it is at least as new, so an entry is never older than its stamp.
    return (request.host_url, request.path, query, lang(), context.today().isoformat(), who,
            pages.data_stamp(db()))


def _session_bound() -> bool:
    # Flask-WTF keeps the token it generated for this request in g; a changed session means a flash or a login.
    return "csrf_token" in g or session.modified
