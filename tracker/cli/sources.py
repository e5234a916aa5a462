"""`tracker parse`, `ingest`, `scrape` and `runs`: one source's parser on a saved file, a run by hand (from files or
over the network), and the latest runs.

Exit codes: 0 success (a run that found nothing is a success), 1 a run that did not succeed (blocked / failed),
2 usage errors (an unknown source among them; `tracker ingest` of a file no parser of the source reads), 3 a page
whose layout is not recognised (`tracker parse`, and `tracker ingest` of a saved page the parser does not recognise).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker.audit import log as auditlog
from tracker.cli.state import AppState, echo_json, operator
from tracker.clock import utcnow
from tracker.fetch.charset import decode_text
from tracker.ingest.run import BINARY_SUFFIXES, NotIngestible, RunResult, ingest_path, run_source
from tracker.read import pages
from tracker.records import LayoutChanged, ParseStats, to_json_dict

EXIT_LAYOUT = 3
# A run that found nothing new did its job; the others are for an operator to look at.
SUCCEEDED = ("ok", "empty")


@click.command("parse")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="Base URL to resolve relative links against.")
@click.pass_obj
def parse_cmd(state: AppState, slug: str, file: Path, base_url: str | None) -> None:
    """Run a scraper's pure parser on a saved FILE and print one JSON object per record (JSON Lines)."""
    module = state.source(slug)
    try:
        if file.suffix.lower() in BINARY_SUFFIXES and hasattr(module, "parse_file"):
            stats = ParseStats()
            for record in module.parse_file(file, stats):
                echo_json(to_json_dict(record))
            click.echo(f"skipped={stats.skipped} out_of_scope={stats.out_of_scope}", err=True)
        else:
            text = decode_text(file.read_bytes(), None)
            for record in module.parse(text, base_url or module.DEFAULT_BASE_URL):
                echo_json(to_json_dict(record))
    except LayoutChanged as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_LAYOUT)


def _audit(state: AppState, action: str, result: RunResult, detail: dict) -> None:
    """Log a manual run or import with its outcome (imports and manual runs change data)."""
    with state.sessions.begin() as session:
        auditlog.record(session, actor=operator(), action=action, now=utcnow(), target_type="scrape_run",
                        target_id=result.run_id, detail={"source": result.source, "outcome": result.outcome,
                                                         **{k: v for k, v in detail.items() if v is not None}})


def _finish(result: RunResult) -> None:
    click.echo(result.summary())
    sys.exit(0 if result.outcome in SUCCEEDED else 1)


@click.command("ingest")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--sample/--live", default=None, help="Mark the data as sample or live (default: guessed from path).")
@click.option("--base-url", default=None, help="The site URL the folder mirrors (default: the source's real site).")
@click.option("--reprocess", is_flag=True, help="Parse files again even if the same bytes were stored before.")
@click.pass_obj
def ingest_cmd(state: AppState, slug: str, path: Path, sample: bool | None, base_url: str | None,
               reprocess: bool) -> None:
    """Parse a local file or folder and store it through the same path a scheduled run takes.

    The run is recorded as a local ingest (listed apart on the sources page, never judged as the site's health)."""
    try:
        result = ingest_path(state.settings, state.sessions, state.source(slug), path, is_sample=sample,
                             base_url=base_url, reprocess=reprocess)
    except NotIngestible as exc:
        raise click.UsageError(f"{exc}; nothing was ingested") from None
    _audit(state, "import", result, {"path": str(path.resolve()), "sample": sample})
    if result.unrecognised:
        click.echo(result.summary())
        click.echo(f"error: {slug} does not recognise {path} (is it a page saved from that source?); nothing was "
                   "stored from it. The run is recorded as a local ingest: the source's health is not affected.",
                   err=True)
        sys.exit(EXIT_LAYOUT)
    _finish(result)


@click.command("scrape")
@click.argument("slug")
@click.option("--base-url", default=None, help="Fetch from here instead of the real site (e.g. a local server).")
@click.option("--bootstrap", is_flag=True, help="UDI: take the full release when the store is empty.")
@click.option("--max-pages", default=5, show_default=True)
@click.pass_obj
def scrape_cmd(state: AppState, slug: str, base_url: str | None, bootstrap: bool, max_pages: int) -> None:
    """Fetch one source now (over the network, or from --base-url) and store what it yields."""
    result = run_source(state.settings, state.sessions, state.source(slug), base_url=base_url, bootstrap=bootstrap,
                        max_pages=max_pages)
    _audit(state, "run.manual", result, {"base_url": base_url, "bootstrap": bootstrap})
    _finish(result)


RUN_JSON_FIELDS = ("id", "source", "trigger", "outcome", "started_at", "finished_at", "fetched", "new", "changed",
                   "unchanged", "skipped", "out_of_scope", "missing", "error")


def _run_json(run) -> dict:
    out = {name: getattr(run, name) for name in RUN_JSON_FIELDS}
    for name in ("started_at", "finished_at"):
        out[name] = out[name].isoformat(timespec="seconds") if out[name] else None
    return out


@click.command("runs")
@click.option("--source", default=None, help="Only this source.")
@click.option("--limit", default=3, show_default=True, help="Runs per source.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run (JSON Lines).")
@click.pass_obj
def runs_cmd(state: AppState, source: str | None, limit: int, as_json: bool) -> None:
    """The latest runs per source, with why a run did not succeed."""
    with state.sessions() as session:
        runs = pages.latest_runs(session, limit, source)
        if as_json:
            for run in runs:
                echo_json(_run_json(run))
            return
        if runs:
            click.echo(f"{'SOURCE':16} {'RUN':6} {'OUTCOME':9} {'STARTED':19}  {'NEW':>5} {'CHANGED':>7} "
                       f"{'FETCHED':>7}  REASON")
        for run in runs:
            reason = (run.error or "").splitlines()[0] if run.error else ("-" if run.outcome == "ok" else "")
            click.echo(f"{run.source:16} #{run.id:<5} {run.outcome:9} {run.started_at.isoformat(timespec='seconds'):19}"
                       f"  {run.new:>5} {run.changed:>7} {run.fetched:>7}  {reason}")
        if not runs:
            click.echo("no runs yet")


COMMANDS = (parse_cmd, ingest_cmd, scrape_cmd, runs_cmd)
