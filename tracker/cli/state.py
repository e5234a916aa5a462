"""What the commands of one `tracker` invocation share: settings, a lazily built session factory, the source registry,
and who is running the command (for the audit log).

This is where the composition root takes the scrapers: `scrapers.SOURCES` and its lookup are handed down from here
to the ingest, schedule and dev code, which never import scrapers themselves.
"""
from __future__ import annotations

import getpass
import json
from typing import Callable, Mapping

import click
from sqlalchemy.orm import Session, sessionmaker

import scrapers
from tracker.config import Settings
from tracker.records import SourceModule
from tracker.store.engine import make_engine, make_session_factory


class AppState:
    """Settings plus a lazily built engine and session factory, and the registry of sources."""

    def __init__(self, settings: Settings, sources: Mapping[str, SourceModule] = scrapers.SOURCES,
                 lookup: Callable[[str], SourceModule] = scrapers.source):
        self.settings = settings
        self.sources = sources
        self.lookup = lookup  # pickles by reference: the scheduler hands it to a scrape's child process
        self._sessions: sessionmaker[Session] | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory (the engine is created on first use)."""
        if self._sessions is None:
            self._sessions = make_session_factory(make_engine(self.settings.database_url))
        return self._sessions

    def source(self, slug: str) -> SourceModule:
        """The scraper of `slug`; a usage error naming the known slugs otherwise."""
        try:
            return self.lookup(slug)
        except KeyError as exc:
            raise click.UsageError(str(exc.args[0])) from None


def operator() -> str:
    """Who ran a command, for the audit log: the OS user (the CLI has no login)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def echo_json(obj) -> None:
    """One JSON object on a line, Chinese as is (not ASCII-escaped)."""
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))
