"""`tracker db …`: the database schema."""
from __future__ import annotations

import click

from tracker.cli.state import AppState
from tracker.store.migrate import upgrade


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(state: AppState, revision: str) -> None:
    """Apply migrations up to REVISION (creates the SQLite file when needed)."""
    upgrade(state.settings.database_url, revision)
    click.echo(f"database at {revision}: {state.settings.database_url}")
