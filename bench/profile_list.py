"""Where one list request's time goes: SQL (each statement, the count among them), template rendering, the rest.

    .venv/bin/python bench/profile_list.py [--db sqlite|postgresql] [--requests 40] [--profile] [--path /devices?…]
                                           [--cache-mb 0]

Runs the real app (`web.create_app`) in this process on web_seed's store (SQLite: the cached file; PostgreSQL: a
throwaway cluster seeded the same way, see bench/pgstore.py) and requests each path through Flask's test client,
one at a time, after a warm-up. For every request it records the wall time, the time inside SQL statements (cursor
execute, from SQLAlchemy's engine events; the count is the statement starting `SELECT count(`) and the time inside
`render_template` (Flask's before_render_template / template_rendered signals), and this process's CPU time (on a
shared machine the figure least moved by other work; PostgreSQL's own CPU is in its server process, so there it
covers the app only). The app's page cache (web/pagecache.py) is off unless `--cache-mb` gives it room: every request
then builds its page, which is what is profiled. Medians per path are printed; with
`--profile` a cProfile of all requests follows (top functions by own time and by cumulative time).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flask import before_render_template, template_rendered  # noqa: E402
from sqlalchemy import event  # noqa: E402

from tracker.config import Settings  # noqa: E402

PATHS = ("/devices?ai=1&sub=medical_imaging.ct", "/devices?ai=1&sub=medical_imaging.fundus", "/devices",
         "/devices?q=%E8%82%BA%E7%82%8E", "/api/v1/devices?ai=1&sub=medical_imaging.ct")


class Clock:
    """Accumulates SQL and template time of the current request."""

    def __init__(self) -> None:
        self.sql = self.count = self.template = 0.0
        self.statements = 0
        self._t_sql: list[float] = []
        self._t_tpl: list[float] = []

    def reset(self) -> None:
        self.sql = self.count = self.template = 0.0
        self.statements = 0

    def before_cursor(self, conn, cursor, statement, *args) -> None:
        self._t_sql.append(time.perf_counter())

    def after_cursor(self, conn, cursor, statement, *args) -> None:
        took = time.perf_counter() - self._t_sql.pop()
        self.sql += took
        self.statements += 1
        if statement.lstrip().lower().startswith("select count("):
            self.count += took

    def before_render(self, app, template, context, **extra) -> None:
        self._t_tpl.append(time.perf_counter())

    def rendered(self, app, template, context, **extra) -> None:
        # Nested renders do not happen on these pages; the outermost start pairs with the last end.
        self.template += time.perf_counter() - self._t_tpl.pop()


def measure(db_url: str, paths: tuple[str, ...], requests: int, profile: bool, cache_mb: float = 0) -> None:
    """Request every path `requests` times (after 3 warm-up requests each) and print the medians."""
    from web import create_app  # the app's imports count as start-up, not as the request

    with tempfile.TemporaryDirectory() as var:
        settings = Settings.from_env({**os.environ, "TRACKER_DATABASE_URL": db_url, "TRACKER_VAR_DIR": var,
                                      "TRACKER_PAGE_CACHE_MB": str(cache_mb)})
        app = create_app(settings)
        engine = app.extensions["tracker"].engine  # web.context.AppState
        clock = Clock()
        event.listen(engine, "before_cursor_execute", clock.before_cursor)
        event.listen(engine, "after_cursor_execute", clock.after_cursor)
        before_render_template.connect(clock.before_render, app)
        template_rendered.connect(clock.rendered, app)
        client = app.test_client()
        for path in paths:
            for _ in range(3):
                assert client.get(path).status_code == 200, path
        profiler = cProfile.Profile() if profile else None
        print("| path | wall ms | CPU ms | SQL ms | of which count ms | statements | template ms | rest ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for path in paths:
            rows = []
            for _ in range(requests):
                clock.reset()
                if profiler:
                    profiler.enable()
                t, cpu = time.perf_counter(), time.process_time()
                status = client.get(path).status_code
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                if profiler:
                    profiler.disable()
                assert status == 200, (path, status)
                rows.append((wall, clock.sql, clock.count, clock.statements, clock.template, cpu))
            med = [statistics.median(r[i] for r in rows) for i in range(6)]
            rest = statistics.median(r[0] - r[1] - r[4] for r in rows)
            print(f"| `{path}` | {med[0] * 1e3:.1f} | {med[5] * 1e3:.1f} | {med[1] * 1e3:.1f} | {med[2] * 1e3:.1f} | "
                  f"{med[3]:.0f} | {med[4] * 1e3:.1f} | {rest * 1e3:.1f} |")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    """Pick the database, then measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per path")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed requests")
    parser.add_argument("--cache-mb", type=float, default=0, help="the page cache's size (default 0: off)")
    parser.add_argument("--path", action="append", help="a path to time (repeatable; default: five list paths)")
    args = parser.parse_args()
    paths = tuple(args.path) if args.path else PATHS
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    with ExitStack() as stack:
        from pgstore import store_url  # noqa: E402  (bench/pgstore.py: SQLite file or seeded throwaway cluster)
        db_url = stack.enter_context(store_url(args.db, args.devices, args.policies))
        measure(db_url, paths, args.requests, args.profile, args.cache_mb)
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
