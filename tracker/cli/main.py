"""The single `tracker` command (click): the composition root that wires settings, store and scrapers.

One module per command group: db (schema), sources (parse, ingest, scrape, runs), classify (classify, reclassify),
schedule, digest, audit (user, audit), notify (channel, watch) and dev. Exit codes: 0 success, 1 a run that did not succeed (blocked /
failed), 2 usage errors, 3 a page whose layout is not recognised (`tracker parse`).
"""
from __future__ import annotations

import click

from tracker.cli import classify, notify, sources
from tracker.cli.audit import audit_group, user_group
from tracker.cli.db import db_group
from tracker.cli.dev import dev_command
from tracker.cli.digest import digest_group
from tracker.cli.schedule import schedule_command
from tracker.cli.sources import EXIT_LAYOUT
from tracker.cli.state import AppState
from tracker.config import Settings

__all__ = ["main", "EXIT_LAYOUT"]


@click.group()
@click.option("--database-url", envvar="TRACKER_DATABASE_URL", default=None, help="Overrides TRACKER_DATABASE_URL.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """NMPA AI approval and policy tracker."""
    settings = Settings.from_env()
    if database_url:
        settings = settings.replace(database_url=database_url)
    ctx.obj = AppState(settings)


for command in (db_group, *sources.COMMANDS, *classify.COMMANDS, schedule_command, digest_group, user_group,
                audit_group, dev_command, *notify.COMMANDS):
    main.add_command(command)

if __name__ == "__main__":
    main()
