"""The attachment step of a run: each attachment of a stored policy is fetched once, archived like any page
(WARC + sha256 + source_document), read by the guarded extractor, and stored with its state and text.

A file already stored is only linked to the policy that lists it (a re-run fetches nothing); one whose download
failed (`fetch_failed`) is tried again on the next run. Nothing a file contains, nor a failed download, stops
the run: the file ends in a named state (tracker.extract.states) and the run goes on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from tracker.clock import Clock
from tracker.extract import states
from tracker.extract.worker import Extractor
from tracker.fetch.archive import ArchiveWriter
from tracker.fetch.base import FetchError, Response, TooLarge
from tracker.records import Attachment, Page, PolicyRecord
from tracker.store.attachments import (
    FileResult,
    failed_downloads,
    find_attachment,
    link_attachment,
    store_attachment,
)
from tracker.store.policies import find_policy
from tracker.store.write import record_document

Fetch = Callable[[str, int], Response]  # (url, max_bytes) -> Response


def local_fetch(root: Path, now: Clock, base_url: str | None = None) -> Fetch:
    """A fetch for `tracker ingest` of a saved folder: file:// URLs, or URLs below `base_url`, read from `root`
    (never from outside it); anything else is a FetchError (no network during a local ingest)."""
    root = root.resolve()

    def fetch(url: str, max_bytes: int) -> Response:
        if url.startswith("file://"):
            path = Path(unquote(urlsplit(url).path))
        elif base_url and url.startswith(base_url.rstrip("/") + "/"):
            path = root / unquote(url[len(base_url.rstrip("/")) + 1:].split("?", 1)[0])
        else:
            raise FetchError(f"not fetched during a local ingest: {url}", url=url)
        path = path.resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FetchError(f"no such file in {root}: {url}", url=url, status=404)
        if path.stat().st_size > max_bytes:
            raise TooLarge(f"{path.stat().st_size} bytes (cap {max_bytes})", url=url)
        return Response(url=url, status=200, headers={}, content=path.read_bytes(), fetched_at=now())

    return fetch


class AttachmentStep:
    """Fetch, archive, extract and store the attachments of the policies of each stored page."""

    def __init__(self, fetch: Fetch, extractor: Extractor) -> None:
        self.fetch = fetch
        self.extractor = extractor
        self.fetched = 0
        self._tried: set[str] = set()  # URLs fetched in this run: a failure is not tried twice in one run

    def run(self, sessions: sessionmaker[Session], warc: ArchiveWriter, slug: str, page: Page, run_id: int,
            is_sample: bool, now: Clock) -> int:
        """Handle the attachments of `page`'s policy records; returns how many files were fetched."""
        fetched = 0
        for record in page.records:
            if not isinstance(record, PolicyRecord) or not record.attachments:
                continue
            with sessions() as session:
                policy = find_policy(session, record)
                policy_id = policy.id if policy is not None else None
            if policy_id is None:
                continue
            for position, attachment in enumerate(record.attachments):
                fetched += self._one(sessions, warc, slug, policy_id, position, attachment, run_id, is_sample, now)
        self.fetched += fetched
        return fetched

    def retry_failed(self, sessions: sessionmaker[Session], warc: ArchiveWriter, slug: str, run_id: int,
                     is_sample: bool, now: Clock) -> int:
        """Try again the source's attachments whose download failed on an earlier run (their pages are known, so
        the crawl does not visit them again); returns how many were fetched."""
        with sessions() as session:
            failed = failed_downloads(session, slug)
        fetched = sum(self._one(sessions, warc, slug, None, 0, Attachment(name=name, url=url, file_type=declared or ""),
                                run_id, is_sample, now) for url, name, declared in failed)
        self.fetched += fetched
        return fetched

    def _one(self, sessions: sessionmaker[Session], warc: ArchiveWriter, slug: str, policy_id: int | None,
             position: int, attachment: Attachment, run_id: int, is_sample: bool, now: Clock) -> int:
        with sessions.begin() as session:
            known = find_attachment(session, attachment.url)
            if known is not None and (known.state not in states.RETRY or attachment.url in self._tried):
                if policy_id is not None:
                    link_attachment(session, policy_id, known.id, position, attachment.name)
                return 0
        self._tried.add(attachment.url)
        declared = attachment.file_type or None
        try:
            response = self.fetch(attachment.url, self.extractor.limits.max_bytes)
        except TooLarge as exc:
            result = FileResult(attachment.url, attachment.name, declared, states.TOO_LARGE, str(exc))
        except FetchError as exc:  # Blocked included: a challenged file is a failed download, retried next run
            result = FileResult(attachment.url, attachment.name, declared, states.FETCH_FAILED,
                                f"{type(exc).__name__}: {exc}")
        else:
            result = self._read(warc, slug, response, attachment, declared, run_id, is_sample, sessions)
        with sessions.begin() as session:
            attachment_id = store_attachment(session, result, source=slug, now=now(), is_sample=is_sample)
            if policy_id is not None:
                link_attachment(session, policy_id, attachment_id, position, attachment.name)
        return 1

    def _read(self, warc: ArchiveWriter, slug: str, response: Response, attachment: Attachment,
              declared: str | None, run_id: int, is_sample: bool, sessions: sessionmaker[Session]) -> FileResult:
        if response.url.startswith("http"):
            ref = warc.write_response(response)
        else:
            ref = warc.write_file(Path(urlsplit(response.url).path), response.content, uri=response.url,
                                  fetched_at=response.fetched_at)
        with sessions.begin() as session:
            document_id = record_document(
                session, source=slug, url=response.url, fetched_at=response.fetched_at, sha256=ref.sha256,
                size=len(response.content), http_status=response.status,
                content_type=response.headers.get("content-type"), warc_path=ref.warc_path,
                warc_offset=ref.offset, warc_length=ref.length, run_id=run_id, is_sample=is_sample)
        extracted = self.extractor.extract(response.content, declared)
        return FileResult(attachment.url, attachment.name, declared, extracted.state, extracted.detail,
                          extracted.kind, extracted.pages, ref.sha256, len(response.content), document_id,
                          response.fetched_at)
