"""Attachments through a real run: fetched over HTTP once per file, archived, read, stored with their text; a re-run
fetches nothing; a file that fails to download or read ends in a named state and the run stays ok."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WzResponse

from scrapers import nmpa_notices
from tracker.fetch.archive import Archive
from tracker.fetch.http import HttpFetcher
from tracker.ingest.run import ingest_path, run_source
from tracker.store.models import AttachmentFile, Passage, Policy, PolicyAttachment, SourceDocument

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "nmpa_notices"
FINAL_PDF = "sample-2022-8-ai-device-guidance.pdf"
DRAFT_DOCX = "sample-2021-ai-device-guidance-draft.docx"


def _serve(overrides: dict[str, WzResponse]):
    def handler(request: Request) -> WzResponse:
        name = request.path.rsplit("/", 1)[-1]
        if name in overrides:
            return overrides[name]
        path = SAMPLES / request.path.lstrip("/")
        if not path.is_file():
            return WzResponse("<html><body>404</body></html>", status=404, content_type="text/html")
        kind = "text/html; charset=utf-8" if path.suffix == ".html" else "application/octet-stream"
        return WzResponse(path.read_bytes(), content_type=kind)
    return handler


def _fetcher() -> HttpFetcher:
    return HttpFetcher(min_interval=0, max_attempts=1, backoff_base=0, sleep=lambda _s: None)


def _attachments(session) -> dict[str, AttachmentFile]:
    return {a.url.rsplit("/", 1)[-1]: a for a in session.execute(select(AttachmentFile)).scalars()}


def test_run_fetches_reads_and_archives_each_attachment_once(settings, sessions, httpserver, clock):
    requests: list[str] = []
    handler = _serve({})
    httpserver.expect_request(re.compile("^/")).respond_with_handler(
        lambda r: (requests.append(r.path), handler(r))[1])
    base = httpserver.url_for("/").rstrip("/")
    result = run_source(settings, sessions, nmpa_notices, fetcher=_fetcher(), base_url=base, now=clock)
    assert result.outcome == "ok", result.error
    with sessions() as session:
        files = _attachments(session)
        final, draft = files[FINAL_PDF], files[DRAFT_DOCX]
        assert (final.state, final.detected_type, final.pages) == ("ok", "pdf", 2)
        assert (draft.state, draft.detected_type) == ("ok", "docx")
        # The term that exists only inside the final's PDF is stored as text of that file.
        pages = session.execute(select(Passage.text).where(Passage.attachment_id == final.id)).scalars().all()
        assert any("数据漂移监测" in p for p in pages)
        assert "反馈意见表" not in " ".join(a.name for a in files.values())  # the feedback form is skipped
        # Archived byte for byte, with its provenance row.
        doc = session.get(SourceDocument, final.document_id)
        assert Archive(settings.archive_dir).read_payload((doc.warc_path, doc.warc_offset)) == \
            (SAMPLES / "directory/web/nmpa/images" / FINAL_PDF).read_bytes()
        assert final.sha256 == doc.sha256
        linked = session.execute(select(Policy.title).join(PolicyAttachment, PolicyAttachment.policy_id == Policy.id)
                                 .where(PolicyAttachment.attachment_id == final.id)).scalars().all()
        assert any("2022年第8号" in t for t in linked)
        count = session.scalar(select(func.count()).select_from(AttachmentFile))
        failed = _attachments(session)
    assert sum(1 for r in requests if r.endswith(FINAL_PDF)) == 1
    clock.advance(days=1)
    requests.clear()
    again = run_source(settings, sessions, nmpa_notices, fetcher=_fetcher(), base_url=base, now=clock)
    assert again.outcome == "ok", again.error
    # A re-run fetches no stored file again; only the ones whose download failed (404 here) are tried again.
    assert not [r for r in requests if r.endswith((FINAL_PDF, DRAFT_DOCX))]
    assert {r.rsplit("/", 1)[-1] for r in requests if "/images/" in r} == {
        name for name, a in failed.items() if a.state == "fetch_failed"}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AttachmentFile)) == count


def test_failed_and_hostile_files_end_in_a_state_and_the_run_goes_on(settings, sessions, httpserver, clock):
    overrides = {
        FINAL_PDF: WzResponse("<html>error</html>", status=500, content_type="text/html"),
        DRAFT_DOCX: WzResponse(b"<html><body>not a document</body></html>", content_type="text/html"),
    }
    httpserver.expect_request(re.compile("^/")).respond_with_handler(_serve(overrides))
    base = httpserver.url_for("/").rstrip("/")
    result = run_source(settings, sessions, nmpa_notices, fetcher=_fetcher(), base_url=base, now=clock)
    assert result.outcome == "ok", result.error
    with sessions() as session:
        files = _attachments(session)
        assert files[FINAL_PDF].state == "fetch_failed"
        assert files[DRAFT_DOCX].state == "bad_format" and "docx" in files[DRAFT_DOCX].state_detail
    # The failed download is tried again on the next run, and now it works.
    httpserver.clear_all_handlers()
    httpserver.expect_request(re.compile("^/")).respond_with_handler(_serve({}))
    clock.advance(days=1)
    run_source(settings, sessions, nmpa_notices, fetcher=_fetcher(), base_url=base, now=clock, bootstrap=True)
    with sessions() as session:
        assert _attachments(session)[FINAL_PDF].state == "ok"


def test_local_ingest_reads_attachments_from_the_folder(settings, sessions, clock):
    result = ingest_path(settings, sessions, nmpa_notices, SAMPLES, now=clock)
    assert result.outcome == "ok", result.error
    with sessions() as session:
        files = _attachments(session)
        assert files[FINAL_PDF].state == "ok" and files[FINAL_PDF].url.startswith("file://")
        # A link to a file the folder does not hold is a failed download, not a crash.
        missing = [a for a in files.values() if a.state == "fetch_failed"]
        assert missing and all("no such file" in a.state_detail for a in missing)
