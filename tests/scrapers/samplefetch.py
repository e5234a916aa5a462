"""A fetcher for scraper tests that serves a samples/<slug>/ folder as if it were the site below a base URL."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tracker.fetch.base import FetchError, Response

SAMPLES_ROOT = Path(__file__).resolve().parents[2] / "samples"
FETCHED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


class SampleFetcher:
    """Serves samples/<slug> at `base`; missing files are HTTP 404; `requested` lists every URL asked for."""

    def __init__(self, slug: str, base: str, fetched_at: datetime = FETCHED_AT) -> None:
        self.folder = SAMPLES_ROOT / slug
        self.base = base.rstrip("/") + "/"
        self.fetched_at = fetched_at
        self.requested: list[str] = []

    def get(self, url: str, *, headers=None, max_bytes=None, conditional=False) -> Response:
        self.requested.append(url)
        path = self.folder / url.removeprefix(self.base)
        if not url.startswith(self.base) or not path.is_file():
            raise FetchError(f"HTTP 404 from {url}", url=url, status=404)
        return Response(url=url, status=200, headers={"content-type": "text/html"}, content=path.read_bytes(),
                        fetched_at=self.fetched_at)

    def close(self) -> None:
        pass
