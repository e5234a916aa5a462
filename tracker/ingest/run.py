"""run_source() and ingest_path(): fetch → archive → parse → store → classify, always leaving a ScrapeRun.

Each fetched document is written in its own transaction together with everything parsed from it, so a run that
fails half-way keeps the documents it finished and stores nothing partial from the one it was on; the next run
picks up from the keys (file names, detail URLs) of the documents that made it in.
Outcomes are never merged: `blocked` (an anti-bot challenge), `failed` (an error, incl. a changed layout), `empty`
(a healthy fetch that listed nothing), `ok`, and `interrupted` (the process was stopped).

The scraper comes in as an argument (a `SourceModule` from the scrapers.SOURCES registry, handed down by the CLI or
the scheduler): the tracker never imports scrapers itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tracker.clock import Clock, utcnow
from tracker.config import Settings
from tracker.extract.worker import Extractor
from tracker.fetch.archive import Archive, ArchiveWriter, file_sha256
from tracker.fetch.base import Blocked, Fetcher, Response
from tracker.fetch.factory import is_loopback, make_fetcher
from tracker.fetch.http import HttpFetcher
from tracker.ingest.attachments import AttachmentStep, local_fetch
from tracker.ingest.write import write_records
from tracker.read.health import LOCAL_TRIGGER
from tracker.records import CrawlContext, LayoutChanged, Page, ParseStats, SourceModule
from tracker.store.models import ScrapeRun, SourceDocument
from tracker.store.write import WriteContext, mark_missing, record_document

BINARY_SUFFIXES = (".zip", ".xml")
INGEST_SUFFIXES = (".html", ".htm", ".shtml", ".json", ".xml", ".zip")  # READMEs and manifests beside them are not


@dataclass
class RunResult:
    """The end state of one run, as stored in its ScrapeRun row."""

    run_id: int
    source: str
    outcome: str
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    out_of_scope: int = 0
    missing: int = 0
    unchanged_documents: int = 0
    error: str | None = None
    evidence: str | None = None
    unrecognised: bool = False  # a page's layout was not recognised (LayoutChanged): the site changed, or a wrong file

    def summary(self) -> str:
        """One line for a terminal or a log."""
        text = (f"{self.source}: {self.outcome} (run {self.run_id}) fetched={self.fetched} new={self.new} "
                f"changed={self.changed} unchanged={self.unchanged} skipped={self.skipped} "
                f"out_of_scope={self.out_of_scope} missing={self.missing}"
                + (f" (documents already stored: {self.unchanged_documents})" if self.unchanged_documents else ""))
        return text + (f"\n  error: {self.error}" if self.error else "") + (
            f"\n  evidence: {self.evidence}" if self.evidence else "")


def source_options(settings: Settings) -> dict:
    """Source-specific settings handed to crawls and file parsers alike."""
    return {"udi_scope": settings.udi_scope}


def run_source(
    settings: Settings, sessions: sessionmaker[Session], module: SourceModule, *, fetcher: Fetcher | None = None,
    base_url: str | None = None, bootstrap: bool = False, max_pages: int = 5, trigger: str = "cli",
    now: Clock = utcnow, attachment_fetcher: Fetcher | None = None,
) -> RunResult:
    """Crawl one source over the network (or a local stand-in) and store what it yields, with the attachments of
    its policies (fetched with `attachment_fetcher`; by default the source's fetcher, or a plain HTTP client when
    the source needs a browser: attachments download without one).
    """
    slug = module.SLUG
    own_fetcher = fetcher is None
    with sessions() as session:
        ctx = CrawlContext(
            base_url=(base_url or settings.source_url(slug, module.DEFAULT_BASE_URL)).rstrip("/"),
            since=last_good_date(session, slug),
            known_keys=known_keys(session, slug),
            bootstrap=bootstrap,
            max_pages=max_pages,
            options=source_options(settings),
        )
    if own_fetcher:
        extra: dict = {}
        if module.NEEDS_BROWSER:
            extra["executable_path"] = settings.chromium_path
            if is_loopback(ctx.base_url):
                extra["min_interval"] = settings.loopback_browser_interval
        fetcher = make_fetcher(
            needs_browser=module.NEEDS_BROWSER, browser_like_headers=module.BROWSER_LIKE_HEADERS,
            base_url=ctx.base_url, user_agent=settings.user_agent, **extra,
        )
    own_files = attachment_fetcher is None and own_fetcher and module.NEEDS_BROWSER
    files = (HttpFetcher(user_agent=settings.user_agent, min_interval=0.2 if is_loopback(ctx.base_url) else 1.0)
             if own_files else attachment_fetcher or fetcher)
    try:
        with Extractor() as extractor:
            step = AttachmentStep(lambda url, cap: files.get(url, max_bytes=cap), extractor)
            return _run(settings, sessions, slug, lambda: module.crawl(fetcher, ctx), trigger, settings.sample_mode,
                        now, attachments=step)
    finally:
        if own_fetcher:
            fetcher.close()
        if own_files:
            files.close()


def ingest_path(
    settings: Settings, sessions: sessionmaker[Session], module: SourceModule, path: Path, *,
    is_sample: bool | None = None, base_url: str | None = None, trigger: str = LOCAL_TRIGGER, now: Clock = utcnow,
    reprocess: bool = False,
) -> RunResult:
    """Parse local files (a file or every file in a folder, sorted) and store them exactly as a scheduled run would.

    The run is a local one (trigger LOCAL_TRIGGER): it is kept and listed, but never judged as the official source's
    health. NotIngestible (before any run is recorded) when `path` holds no file the source's parsers read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    files = ingest_files(module, path)
    sample = is_sample if is_sample is not None else (settings.sample_mode or "samples" in path.resolve().parts)
    root = path if path.is_dir() else path.parent
    with Extractor() as extractor:
        # Attachments of saved pages are read from the same folder (file:// links, or links below --base-url).
        step = AttachmentStep(local_fetch(root, now, base_url), extractor)
        return _run(settings, sessions, module.SLUG,
                    lambda: _file_pages(module, path, files, now, base_url, source_options(settings)), trigger,
                    sample, now, reprocess, attachments=step)


class NotIngestible(ValueError):
    """A local path holds nothing a source's parser reads (a README, an empty folder): refused before any run."""


def ingest_files(module: SourceModule, path: Path) -> list[Path]:
    """The files `ingest_path` reads from `path`, in order; NotIngestible when there are none."""
    if path.is_dir():
        # Files named _* are the sample server's routing metadata, not documents of the source. A source whose
        # files must go in a certain order (UDI: oldest first) says so with `ingest_sort_key`.
        files = sorted((p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INGEST_SUFFIXES
                        and not p.name.startswith("_")), key=getattr(module, "ingest_sort_key", None))
        if not files:
            raise NotIngestible(f"{path}: no file a parser of {module.SLUG} reads ({', '.join(INGEST_SUFFIXES)})")
        return files
    if path.suffix.lower() not in INGEST_SUFFIXES:
        raise NotIngestible(f"{path}: not a file a parser of {module.SLUG} reads (it reads "
                            f"{', '.join(INGEST_SUFFIXES)} files saved from the source)")
    return [path]


def _file_pages(module: SourceModule, path: Path, files: list[Path], now: Clock, base_url: str | None,
                options: dict) -> Iterator[Page]:
    root = path if path.is_dir() else path.parent
    for file in files:
        # A saved page's own URL is unknown, so its records get the file's own file:// URI, never an official-looking
        # URL guessed for it; only an operator who says where the folder came from (--base-url: the folder mirrors
        # the site below it) gets site URLs.
        page_url = (f"{base_url.rstrip('/')}/{file.relative_to(root).as_posix()}" if base_url
                    else file.resolve().as_uri())
        stats = ParseStats()
        if file.suffix.lower() in BINARY_SUFFIXES and hasattr(module, "parse_file"):
            # Bulk files (a UDI full release is ~285 MB) are streamed from disk, never held in memory.
            response = Response(url=file.resolve().as_uri(), status=200, headers={}, content=b"", fetched_at=now())
            yield Page(response=response, records=module.parse_file(file, stats, options=options), stats=stats,
                       key=file.name, local_file=file)
        else:
            response = Response(url=file.resolve().as_uri(), status=200, headers={}, content=file.read_bytes(),
                                fetched_at=now())
            yield Page(response=response, records=module.parse(response.text(), page_url), stats=stats,
                       key=file.name)


def _run(
    settings: Settings, sessions: sessionmaker[Session], slug: str, pages: Callable[[], Iterable[Page]],
    trigger: str, is_sample: bool, now: Clock, reprocess: bool = False, attachments: AttachmentStep | None = None,
) -> RunResult:
    run_id = start_run(sessions, slug, trigger=trigger, is_sample=is_sample, now=now())
    result = RunResult(run_id=run_id, source=slug, outcome="running")
    records_seen = listed = 0
    archive = Archive(settings.archive_dir)
    try:
        with archive.writer(f"{slug}-run{run_id}", now=now()) as warc:
            for page in pages():
                if not reprocess and _already_stored(sessions, page):
                    # The same bytes from the same URL were stored in full before: reading them again can only
                    # repeat what is known (or, for an old complete listing, wrongly mark newer rows missing).
                    result.fetched += 1
                    result.unchanged_documents += 1
                    records_seen += 1
                    continue
                stored, seen = _store_page(sessions, warc, slug, page, run_id, is_sample, now, result)
                if attachments is not None:
                    result.fetched += attachments.run(sessions, warc, slug, page, run_id, is_sample, now)
                records_seen += seen
                listed += page.stats.listed
            if attachments is not None:
                result.fetched += attachments.retry_failed(sessions, warc, slug, run_id, is_sample, now)
        result.outcome = "ok" if (records_seen or listed) else "empty"
    except Blocked as exc:
        result.outcome, result.evidence = "blocked", exc.evidence
        result.error = f"blocked by an anti-bot challenge at {exc.url or '?'}"
        _archive_evidence(archive, sessions, slug, run_id, exc.response, is_sample, now)
    except LayoutChanged as exc:
        result.outcome, result.error, result.unrecognised = "failed", str(exc), True
    except (KeyboardInterrupt, SystemExit) as exc:
        result.outcome, result.error = "interrupted", f"stopped: {type(exc).__name__}"
        finish_run(sessions, result, now())
        raise
    except Exception as exc:  # noqa: BLE001 - any failure must end in a run record that says why
        result.outcome, result.error = "failed", f"{type(exc).__name__}: {exc}"
    finish_run(sessions, result, now())
    return result


def _archive_evidence(archive: Archive, sessions: sessionmaker[Session], slug: str, run_id: int,
                      response: Response | None, is_sample: bool, now: Clock) -> None:
    """Keep the challenge page a blocked run met, so an auditor can see what the site answered."""
    if response is None:
        return
    with archive.writer(f"{slug}-run{run_id}", now=now()) as warc:
        ref = warc.write_response(response)
    with sessions.begin() as session:
        record_document(
            session, source=slug, url=response.url, fetched_at=response.fetched_at, sha256=ref.sha256,
            size=len(response.content), http_status=response.status,
            content_type=response.headers.get("content-type"), warc_path=ref.warc_path, warc_offset=ref.offset,
            warc_length=ref.length, run_id=run_id, is_sample=is_sample,
        )


def _already_stored(sessions: sessionmaker[Session], page: Page) -> bool:
    sha256 = file_sha256(page.local_file).hexdigest() if page.local_file else page.response.sha256
    with sessions() as session:
        return session.execute(select(SourceDocument.id).where(
            SourceDocument.url == page.response.url, SourceDocument.sha256 == sha256)).first() is not None


def _store_page(
    sessions: sessionmaker[Session], warc: ArchiveWriter, slug: str, page: Page, run_id: int, is_sample: bool,
    now: Clock, result: RunResult,
) -> tuple[int, int]:
    """Archive one document and store its records in one transaction; returns (document id, records seen)."""
    if page.local_file is not None:
        ref = warc.write_path(page.local_file, uri=page.response.url, fetched_at=page.response.fetched_at)
        size = page.local_file.stat().st_size
    elif page.response.url.startswith("http"):
        ref, size = warc.write_response(page.response), len(page.response.content)
    else:
        ref = warc.write_file(Path(page.response.url), page.response.content, uri=page.response.url,
                              fetched_at=page.response.fetched_at)
        size = len(page.response.content)
    result.fetched += 1
    with sessions.begin() as session:
        document_id = record_document(
            session, source=slug, url=page.response.url, fetched_at=page.response.fetched_at,
            sha256=ref.sha256, size=size, http_status=page.response.status,
            content_type=page.response.headers.get("content-type"), warc_path=ref.warc_path,
            warc_offset=ref.offset, warc_length=ref.length, key=page.key, run_id=run_id, is_sample=is_sample,
        )
        ctx = WriteContext(source=slug, now=now(), run_id=run_id, document_id=document_id, is_sample=is_sample)
        written = write_records(session, page.records, ctx)
        if page.stats.complete:
            written.missing += mark_missing(session, ctx)
    result.new += written.new
    result.changed += written.changed
    result.unchanged += written.unchanged
    result.missing += written.missing
    result.skipped += page.stats.skipped
    result.out_of_scope += page.stats.out_of_scope
    return document_id, written.new + written.changed + written.unchanged


def start_run(sessions: sessionmaker[Session], slug: str, *, trigger: str, is_sample: bool, now: datetime) -> int:
    """Create the run record (outcome `running`) before any work, so even a crash leaves a trace."""
    with sessions.begin() as session:
        run = ScrapeRun(source=slug, trigger=trigger, started_at=now, outcome="running", is_sample=is_sample)
        session.add(run)
        session.flush()
        return run.id


def finish_run(sessions: sessionmaker[Session], result: RunResult, now: datetime) -> None:
    """Write the end state of a run."""
    with sessions.begin() as session:
        run = session.get(ScrapeRun, result.run_id)
        run.outcome = result.outcome
        run.finished_at = now
        for name in ("fetched", "new", "changed", "unchanged", "skipped", "out_of_scope", "missing",
                     "error", "evidence"):
            setattr(run, name, getattr(result, name))


def last_good_date(session: Session, slug: str) -> date | None:
    """The day before the last successful run of a source started (a margin for late-published items)."""
    started = session.execute(
        select(ScrapeRun.started_at).where(ScrapeRun.source == slug, ScrapeRun.outcome == "ok")
        .order_by(ScrapeRun.started_at.desc()).limit(1)
    ).scalar_one_or_none()
    return None if started is None else (started - timedelta(days=1)).date()


def known_keys(session: Session, slug: str) -> frozenset[str]:
    """Keys (file names, detail URLs) of documents of a source already stored in full."""
    rows = session.execute(
        select(SourceDocument.key).where(SourceDocument.source == slug, SourceDocument.key.is_not(None)).distinct()
    ).scalars()
    return frozenset(rows)
