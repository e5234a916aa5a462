"""`tracker dev` (what `make run` starts): the whole tracker on one machine (tracker.dev.runner does the work)."""
from __future__ import annotations

import click

from tracker.cli.state import AppState
from tracker.dev.runner import run_dev


@click.command("dev")
@click.option("--port", default=8000, show_default=True, help="Web port (a free one if taken).")
@click.option("--offline/--online", default=None, help="Force sample mode on or off (default: probe the real site).")
@click.option("--ingest/--no-ingest", default=True, show_default=True, help="Run every source once at start.")
@click.pass_obj
def dev_command(state: AppState, port: int, offline: bool | None, ingest: bool) -> None:
    """Run the web server, the scheduler, a mail sink and (offline) the sample servers until Ctrl-C."""
    run_dev(state.settings, state.sources, port=port, offline=offline, ingest=ingest, echo=click.echo)
