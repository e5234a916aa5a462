"""run_source through the real fetch layer (httpx against a local server): every outcome is recorded, nothing partial
is stored, and the next run picks up where a failed one stopped."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.wrappers import Response as WsgiResponse

from scrapers import nmpa_approvals
from tracker.fetch.archive import Archive
from tracker.fetch.http import HttpFetcher
from tracker.ingest.run import run_source
from tracker.store.models import ApprovalEventRow, Device, RecordSource, ScrapeRun, SourceDocument

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "nmpa_approvals"
CHALLENGE = ROOT / "tests" / "fixtures" / "nmpa_approvals" / "challenge_412.html"
BASE = "/zwfw/sdxx/sdxxylqx/qxpjfb"


def serve_samples(httpserver, *, broken: str | None = None, override: dict[str, WsgiResponse] | None = None):
    """Serve the approval-notice samples below BASE; `broken` names a file that answers 500; anything else is 404."""
    httpserver.no_handler_status_code = 404
    for path in SAMPLES.iterdir():
        uri = f"{BASE}/{path.name}"
        if override and path.name in override:
            httpserver.expect_request(uri).respond_with_response(override[path.name])
        elif path.name == broken:
            httpserver.expect_request(uri).respond_with_data("server error", status=500)
        else:
            httpserver.expect_request(uri).respond_with_data(path.read_bytes(), content_type="text/html; charset=utf-8")
    return httpserver.url_for(BASE)


def fetcher() -> HttpFetcher:
    # The browser fetcher's job is done by plain httpx here: the local server has no challenge to clear.
    return HttpFetcher(min_interval=0, max_attempts=2, backoff_base=0, sleep=lambda _s: None)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_ok_run_stores_devices_with_provenance_and_a_second_run_adds_nothing(settings, sessions, httpserver, clock):
    base = serve_samples(httpserver)
    first = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert first.outcome == "ok", first.error
    assert first.new > 0 and first.fetched >= 4
    with sessions() as session:
        devices = count(session, Device)
        assert devices == first.new
        docs = session.execute(select(SourceDocument)).scalars().all()
        assert all(d.warc_path and d.sha256 and d.http_status == 200 for d in docs)
        archive = Archive(settings.archive_dir)
        for d in docs:  # the archived copy is byte for byte what was fetched
            assert archive.read_payload((d.warc_path, d.warc_offset)) == (SAMPLES / d.url.rsplit("/", 1)[1]).read_bytes()
        linked = session.scalar(select(func.count(func.distinct(RecordSource.entity_id))).where(
            RecordSource.entity_type == "device"))
        assert linked == devices

    clock.advance(hours=12)
    second = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert second.outcome == "ok" and (second.new, second.changed) == (0, 0)
    with sessions() as session:
        assert count(session, Device) == devices


def test_challenge_makes_the_run_blocked_with_evidence_and_stores_nothing(settings, sessions, httpserver, clock):
    challenge = WsgiResponse(CHALLENGE.read_bytes(), status=412, content_type="text/html")
    base = serve_samples(httpserver, override={"index.html": challenge})
    result = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert result.outcome == "blocked"
    assert "412" in result.evidence
    with sessions() as session:
        run = session.execute(select(ScrapeRun)).scalar_one()
        assert (run.outcome, run.new, run.finished_at is not None) == ("blocked", 0, True)
        assert run.evidence and "412" in run.evidence
        assert count(session, Device) == 0
        [page] = session.execute(select(SourceDocument)).scalars().all()  # the challenge page, kept as evidence
        assert page.http_status == 412 and page.run_id == run.id and page.key is None
    assert Archive(settings.archive_dir).read_payload((page.warc_path, page.warc_offset)) == CHALLENGE.read_bytes()
    assert len(httpserver.log) == 1  # a challenge is never retried


def test_failure_mid_run_keeps_finished_documents_and_the_next_run_picks_up(settings, sessions, httpserver, clock):
    details = sorted(p.name for p in SAMPLES.glob("2*.html"))
    broken = details[0]  # the oldest notice: the list is newest first, so the others are stored before it fails
    base = serve_samples(httpserver, broken=broken)
    failed = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert failed.outcome == "failed" and "500" in failed.error
    with sessions() as session:
        stored_urls = set(session.execute(select(ApprovalEventRow.notice_url)).scalars())
    assert stored_urls and not any(u.endswith(broken) for u in stored_urls)

    httpserver.clear()
    base = serve_samples(httpserver)
    clock.advance(hours=1)
    fixed = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert fixed.outcome == "ok"
    fetched_details = [entry[0].path for entry in httpserver.log if entry[0].path.endswith(tuple(details))]
    assert fetched_details == [f"{BASE}/{broken}"], "only the notice that failed is fetched again"
    with sessions() as session:
        assert any(u.endswith(broken) for u in session.execute(select(ApprovalEventRow.notice_url)).scalars())


def test_changed_layout_fails_the_run_naming_what_is_missing(settings, sessions, httpserver, clock):
    changed = WsgiResponse("<html><body><div class='newlist'></div></body></html>", content_type="text/html")
    base = serve_samples(httpserver, override={"index.html": changed})
    result = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert result.outcome == "failed"
    assert "layout changed" in result.error and "not found" in result.error


def test_healthy_list_with_nothing_listed_is_empty_not_ok(settings, sessions, httpserver, clock):
    html = (SAMPLES / "index.html").read_text(encoding="utf-8")
    import re

    emptied = re.sub(r"(<div class=\"list\">\s*<ul>).*?(</ul>)", r"\1\2", html, flags=re.S)
    assert emptied != html
    base = serve_samples(httpserver, override={"index.html": WsgiResponse(emptied, content_type="text/html")})
    result = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert result.outcome == "empty"


@pytest.mark.parametrize("outcome", ["failed", "blocked"])
def test_failed_or_blocked_runs_mark_nothing_missing(settings, sessions, httpserver, clock, outcome):
    base = serve_samples(httpserver)
    assert run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock).outcome == "ok"
    httpserver.clear()
    body, status = (b"server error", 500) if outcome == "failed" else (CHALLENGE.read_bytes(), 412)
    httpserver.expect_request(f"{BASE}/index.html").respond_with_data(body, status=status)
    clock.advance(days=1)
    result = run_source(settings, sessions, nmpa_approvals, fetcher=fetcher(), base_url=base, now=clock)
    assert result.outcome == outcome
    with sessions() as session:
        assert set(session.execute(select(Device.status)).scalars()) == {"active"}
