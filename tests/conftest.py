"""Shared fixtures: settings in a temp folder, a migrated database per test on SQLite and on PostgreSQL, the web app
and its one `client` fixture, a real SMTP sink and settings that mail to it.

`client` is the test client of whatever `app` the test sees: this file's (the app on the test database, with the test
clock); tests/web/conftest.py overrides `app` with the shared seeded app of its modules, and a module may override it
too (for example with mail settings).

PostgreSQL tests need the server binaries; they skip only when the binaries are truly absent and
TRACKER_REQUIRE_REAL is not set (CI sets it, so a missing server fails there instead of skipping).
"""
from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text

from tests.pgcluster import PgCluster, find_pg_bin
from tracker.config import Settings
from tracker.dev.mailsink import MailSink
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.migrate import upgrade

REQUIRE_REAL = os.environ.get("TRACKER_REQUIRE_REAL") == "1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def require_real(what: str) -> None:
    """Skip a test whose real tool (PostgreSQL's server binaries, Debian's Chromium, Playwright) is truly absent from
    this machine, unless TRACKER_REQUIRE_REAL=1 makes that a failure. DESIGN.md §6 allows the skip on a developer's
    machine only: .ci/run sets TRACKER_REQUIRE_REAL=1 and installs the tools, so CI never skips."""
    if REQUIRE_REAL:
        pytest.fail(f"{what} is required (TRACKER_REQUIRE_REAL=1) but missing")
    pytest.skip(f"{what} not installed on this machine (CI requires it: TRACKER_REQUIRE_REAL=1 fails instead)")


@pytest.fixture(scope="session")
def pg_cluster():
    """One PostgreSQL cluster for the whole test session, with a migrated template database."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        require_real("PostgreSQL server binaries")
    cluster = PgCluster(bin_dir).start()
    engine = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE tracker_template"))
    engine.dispose()
    upgrade(cluster.url("tracker_template"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def _fresh_postgres_db(cluster: PgCluster) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    engine = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE tracker_template'))
    engine.dispose()
    return cluster.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, sqlite_template) -> str:
    """A migrated, empty database; every test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    return _fresh_postgres_db(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    """Settings with var/ in a temp folder and the test database."""
    return Settings(var_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret")


@pytest.fixture
def engine(settings):
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    """A session factory on the test database."""
    return make_session_factory(engine)


class FixedClock:
    """A clock for tests: starts at a fixed instant and moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        """Move the clock forward (timedelta keyword arguments)."""
        from datetime import timedelta

        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def app(settings, clock):
    """The real web app on the test database, with the test clock."""
    from web import create_app  # web is imported by the web tests only, not by every test session's collection

    application = create_app(settings, clock=clock)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app):
    """A Flask test client of `app`."""
    return app.test_client()


MAIL_BASE_URL = "https://tracker.example.org"


@pytest.fixture
def sink(tmp_path):
    """A real aiosmtpd server on a free loopback port writing .eml files to tmp_path/mail."""
    with MailSink(tmp_path / "mail") as running:
        yield running


@pytest.fixture
def mail_settings(settings, sink):
    """Test settings pointing at the sink, with a public URL and one administrator."""
    return settings.replace(smtp_url=sink.url, public_base_url=MAIL_BASE_URL,
                            mail_from="NMPA AI Tracker <digest@tracker.example.org>",
                            admin_emails=("ops@example.org",))


CHROMIUM = "/usr/bin/chromium"
# Headless, and none of Chromium's own background connections (this machine's closed network refuses them).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven through Playwright, one per test module (the UI's end-to-end tests)."""
    if not Path(CHROMIUM).exists():
        require_real(CHROMIUM)
    if importlib.util.find_spec("playwright") is None:
        require_real("the playwright package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def served(app) -> Iterator[str]:
    """`app` served by werkzeug on 127.0.0.1 (a free port) in a thread: yields its base URL, then stops the server
    and closes the app's database connections."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["tracker"].engine.dispose()
