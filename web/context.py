"""Per-app state (settings, engine, session factory, clock) and the per-request database session (flaskr pattern)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.records import SourceModule


@dataclass(frozen=True)
class AppState:
    """What `create_app` builds once and every request reads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    sources: Mapping[str, SourceModule]  # the scrapers.SOURCES registry, handed down by create_app


def init_app(app: Flask, state: AppState) -> None:
    """Attach the state and close the request's session in teardown."""
    app.extensions["tracker"] = state
    app.teardown_appcontext(close_session)


def state() -> AppState:
    """The current app's state."""
    return current_app.extensions["tracker"]


def db() -> Session:
    """The request's database session, opened on first use."""
    if "db" not in g:
        g.db = state().sessions()
    return g.db


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session, if one was opened (read-only: nothing to commit)."""
    session = g.pop("db", None)
    if session is not None:
        session.close()


def now() -> datetime:
    """The current time (UTC, aware) from the app's clock."""
    return state().clock()


def tz() -> ZoneInfo:
    """The display time zone (Asia/Shanghai unless configured otherwise)."""
    return ZoneInfo(state().settings.timezone)


def today() -> "datetime.date":
    """Today's date in the display time zone."""
    return now().astimezone(tz()).date()
