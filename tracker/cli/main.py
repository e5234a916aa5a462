"""The single `tracker` command (click): the composition root that wires settings, store, scrapers and web.

Exit codes: 0 success, 1 a run that did not succeed (blocked / failed), 2 usage errors, 3 a page whose layout is
not recognised (`tracker parse`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select

from tracker.cli.audit import audit_group, user_group
from tracker.config import Settings
from tracker.store.engine import make_engine, make_session_factory
from tracker.dev.runner import dev_command
from tracker.cli.digest import digest_group
from tracker.schedule.scheduler import schedule_command

EXIT_LAYOUT = 3


class AppState:
    """Settings plus lazily built engine and session factory, shared by the subcommands of one invocation."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._sessions = None

    @property
    def sessions(self):
        """The session factory (the engine is created on first use)."""
        if self._sessions is None:
            self._sessions = make_session_factory(make_engine(self.settings.database_url))
        return self._sessions


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))


@click.group()
@click.option("--database-url", envvar="TRACKER_DATABASE_URL", default=None, help="Overrides TRACKER_DATABASE_URL.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """NMPA AI approval and policy tracker."""
    settings = Settings.from_env()
    if database_url:
        settings = settings.replace(database_url=database_url)
    ctx.obj = AppState(settings)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(state: AppState, revision: str) -> None:
    """Apply migrations up to REVISION (creates the SQLite file when needed)."""
    from tracker.store.migrate import upgrade

    upgrade(state.settings.database_url, revision)
    click.echo(f"database at {revision}: {state.settings.database_url}")


@main.command("parse")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, default=True, help="JSON Lines output (the default).")
@click.option("--base-url", default=None, help="Base URL to resolve relative links against.")
def parse_cmd(slug: str, file: Path, as_json: bool, base_url: str | None) -> None:
    """Run a scraper's pure parser on a saved FILE and print one JSON object per record."""
    from tracker.fetch.charset import decode_text
    from tracker.records import LayoutChanged, ParseStats, to_json_dict
    from tracker.ingest.run import BINARY_SUFFIXES, scraper_module

    module = _module_or_exit(scraper_module, slug)
    try:
        if file.suffix.lower() in BINARY_SUFFIXES and hasattr(module, "parse_file"):
            stats = ParseStats()
            for record in module.parse_file(file, stats):
                _echo_json(to_json_dict(record))
            click.echo(f"skipped={stats.skipped} out_of_scope={stats.out_of_scope}", err=True)
        else:
            text = decode_text(file.read_bytes(), None)
            for record in module.parse(text, base_url or module.DEFAULT_BASE_URL):
                _echo_json(to_json_dict(record))
    except LayoutChanged as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_LAYOUT)


def _operator() -> str:
    """Who ran a command, for the audit log: the OS user (the CLI has no login)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def _audit(state: AppState, action: str, result, detail: dict) -> None:
    """Log a manual run or import with its outcome (imports and manual runs change data)."""
    from tracker.audit import log as auditlog
    from tracker.ingest.run import utcnow

    with state.sessions.begin() as session:
        auditlog.record(session, actor=_operator(), action=action, now=utcnow(), target_type="scrape_run",
                        target_id=result.run_id, detail={"source": result.source, "outcome": result.outcome,
                                                         **{k: v for k, v in detail.items() if v is not None}})


def _module_or_exit(loader, slug: str):
    try:
        return loader(slug)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None


@main.command("ingest")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--sample/--live", default=None, help="Mark the data as sample or live (default: guessed from path).")
@click.option("--base-url", default=None, help="The site URL the folder mirrors (default: the source's real site).")
@click.option("--reprocess", is_flag=True, help="Parse files again even if the same bytes were stored before.")
@click.pass_obj
def ingest_cmd(state: AppState, slug: str, path: Path, sample: bool | None, base_url: str | None,
               reprocess: bool) -> None:
    """Parse a local file or folder and store it through the same path a scheduled run takes."""
    from tracker.ingest.run import ingest_path, scraper_module

    _module_or_exit(scraper_module, slug)
    result = ingest_path(state.settings, state.sessions, slug, path, is_sample=sample, base_url=base_url,
                         reprocess=reprocess)
    _audit(state, "import", result, {"path": str(path.resolve()), "sample": sample})
    click.echo(result.summary())
    sys.exit(0 if result.outcome in ("ok", "empty") else 1)


@main.command("scrape")
@click.argument("slug")
@click.option("--base-url", default=None, help="Fetch from here instead of the real site (e.g. a local server).")
@click.option("--bootstrap", is_flag=True, help="UDI: take the full release when the store is empty.")
@click.option("--max-pages", default=5, show_default=True)
@click.pass_obj
def scrape_cmd(state: AppState, slug: str, base_url: str | None, bootstrap: bool, max_pages: int) -> None:
    """Fetch one source now (over the network, or from --base-url) and store what it yields."""
    from tracker.ingest.run import run_source, scraper_module

    _module_or_exit(scraper_module, slug)
    result = run_source(state.settings, state.sessions, slug, base_url=base_url, bootstrap=bootstrap,
                        max_pages=max_pages)
    _audit(state, "run.manual", result, {"base_url": base_url, "bootstrap": bootstrap})
    click.echo(result.summary())
    sys.exit(0 if result.outcome in ("ok", "empty") else 1)


@main.command("classify")
@click.argument("text")
@click.option("--description", default=None, help="Product description (产品描述 / 结构及组成).")
@click.option("--policy", is_flag=True, help="Classify TEXT as a policy title instead of a product name.")
@click.option("--json", "as_json", is_flag=True, default=True, help="JSON output (the default).")
def classify_cmd(text: str, description: str | None, policy: bool, as_json: bool) -> None:
    """Classify a product name (or, with --policy, a policy title) and print tags with evidence."""
    from tracker.classify import classifier as classify

    if policy:
        result = classify.classify_policy(title=text, body=description)
    else:
        result = classify.classify_device(name=text, description=description)
    _echo_json(result.to_json())


@main.command("reclassify")
@click.pass_obj
def reclassify_cmd(state: AppState) -> None:
    """Run the classifier over every stored device and policy (after a rules change); reviewer decisions stay."""
    from tracker.classify.classifier import RULES_VERSION
    from tracker.ingest.run import utcnow
    from tracker.store.write import WriteContext
    from tracker.ingest.write import reclassify_all
    from tracker.audit import log as auditlog

    with state.sessions.begin() as session:
        devices, policies = reclassify_all(session, WriteContext(source="reclassify", now=utcnow(),
                                                                 actor=f"classifier rules v{RULES_VERSION}"))
        auditlog.record(session, actor=_operator(), action="reclassify", now=utcnow(),
                        detail={"rules_version": RULES_VERSION, "devices_changed": devices,
                                "policies_changed": policies})
    click.echo(f"rules v{RULES_VERSION}: tags changed on {devices} devices and {policies} policies")


@main.command("runs")
@click.option("--source", default=None, help="Only this source.")
@click.option("--limit", default=3, show_default=True, help="Runs per source.")
@click.pass_obj
def runs_cmd(state: AppState, source: str | None, limit: int) -> None:
    """The latest runs per source."""
    from tracker.store.models import ScrapeRun

    with state.sessions() as session:
        query = select(ScrapeRun).order_by(ScrapeRun.source, ScrapeRun.started_at.desc(), ScrapeRun.id.desc())
        if source:
            query = query.where(ScrapeRun.source == source)
        shown: dict[str, int] = {}
        for run in session.execute(query).scalars():
            if shown.get(run.source, 0) >= limit:
                continue
            shown[run.source] = shown.get(run.source, 0) + 1
            finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
            click.echo(
                f"{run.source:16} #{run.id:<5} {run.outcome:11} {run.started_at.isoformat(timespec='seconds')} "
                f"→ {finished}  fetched={run.fetched} new={run.new} changed={run.changed} "
                f"unchanged={run.unchanged} skipped={run.skipped} missing={run.missing}"
            )
            if run.error:
                click.echo(f"{'':16} error: {run.error}")
        if not shown:
            click.echo("no runs yet")



for command in (user_group, audit_group, schedule_command, digest_group, dev_command):
    main.add_command(command)

if __name__ == "__main__":
    main()
