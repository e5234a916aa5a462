"""What `make run` says while it ingests: each source's outcome as it finishes, why a run failed and the command
that runs it again, then "ingest complete" with the store's totals and the URL last."""
from __future__ import annotations

import scrapers
from tracker.dev.runner import SampleServers, ingest_all, outcome_lines, retry_command


def test_a_failed_source_says_why_and_how_to_retry():
    lines = outcome_lines("govcn_policy", "failed", "run 4: 0 new, 0 changed, 1 fetched",
                          "LayoutChanged: searchVO not found", "http://127.0.0.1:5501")
    assert lines == ["  ingest govcn_policy: failed (run 4: 0 new, 0 changed, 1 fetched)",
                     "    why: LayoutChanged: searchVO not found",
                     "    retry: tracker scrape govcn_policy --bootstrap --base-url http://127.0.0.1:5501"]
    assert outcome_lines("udi", "ok", "run 1: 6 new, 0 changed, 1 fetched", None, None) == [
        "  ingest udi: ok (run 1: 6 new, 0 changed, 1 fetched)"]
    assert retry_command("udi", None) == "tracker scrape udi --bootstrap"


class _Broken:
    """A source module whose crawl cannot even start (no URL configured, no parser): an error, not a crash."""

    SLUG = "broken_source"


def test_ingest_all_says_each_outcome_then_the_totals_and_the_url(settings):
    servers = SampleServers(["nmpa_approvals"]).start()
    said: list[str] = []
    try:
        local = settings.replace(source_urls=servers.urls)
        totals = ingest_all(local, [scrapers.SOURCES["nmpa_approvals"], _Broken()],
                            lambda text, err=False: said.append(text), url="http://127.0.0.1:9")
    finally:
        servers.stop()
    assert said[0].startswith("  ingest nmpa_approvals: ok (run ") and " new, " in said[0]
    assert said[1] == "  ingest broken_source: error"
    assert said[2].startswith("    why: ") and said[3] == "    retry: tracker scrape broken_source --bootstrap"
    assert totals[0] > 0 and said[-2] == f"ingest complete: {totals[0]} devices, {totals[1]} policies"
    assert said[-1].strip() == "NMPA AI tracker: http://127.0.0.1:9"
