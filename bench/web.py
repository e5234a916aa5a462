"""Benchmark: the web UI under load (gunicorn + wrk) against Datasette serving the same SQLite file, side by side.

    .venv/bin/python bench/web.py [--db sqlite|postgresql] [--devices 100000] [--policies 10000] [--workers 2]
                                  [--duration 15] [--rounds 3] [--only list "datasette list (html)" ...]

The store comes from bench/web_seed.py (seeded once through the real write path, cached in bench/out/). With
`--db postgresql` our app runs on the same seed in a PostgreSQL 15 cluster (bench/pgstore.py: the test suite's
throwaway cluster, its data folder kept in bench/out/ and seeded once the same way) while Datasette still serves the
SQLite file: both databases are measured against the same Datasette. This script starts both servers on 127.0.0.1 (gunicorn with `--workers` sync workers running `web:create_app()`; `datasette
serve -i` on the same file) and loads them with wrk (2 threads, 8 connections, `--duration` seconds per scenario,
loopback only; a Lua script rotates through a list of paths and prints latency percentiles). Each round runs every
scenario once, interleaved, so both servers see the same machine; the report quotes the median of the rounds.

Scenarios (paths rotate so no two consecutive requests are identical):
- list: /devices?ai=1&sub=<imaging sub-area>, first page of 50, over seven sub-areas; api list: the same through
  /api/v1/devices (JSON, every field and the tags of each row);
- datasette list (HTML and JSON): the table view of `device` with `is_ai=1`, `_where=` the very SQL condition our
  list applies for the sub-area (compiled from tracker.read.lists), `_sort_desc=issued_on`, `_size=50`, and only the
  columns our list shows;
- search: /devices?q=<two Chinese characters>, six terms from frequent to rare; datasette search: the same LIKE
  condition through `_where=`;
- detail: /devices/<id> for 400 devices (half AI, which carry more tags and policy links);
- search and detail once more with a single client (wrk -t1 -c1): the service time without queueing.

Our app runs twice, side by side: once with its page cache off (`TRACKER_PAGE_CACHE_MB=0`, every request builds its
page) and once with it on (web/pagecache.py; the rotating paths are served from it after the warm-up). Every scenario
of ours runs against both, interleaved, and the report prints one table and one verdict each: "cache off" and
"cache on" (issue 18 allows a cache if the uncached list still meets p95 ≤ 100 ms).

Before loading, the equivalence is checked: for every list and search path our page, our API and Datasette's JSON
report the same number of matching rows, and Datasette's first page has the same issue dates as ours. Targets
(issue 18, on both databases): list p95 ≤ 50 ms and req/s ≥ 3× Datasette's (HTML); two-character search p95
≤ 75 ms; device page p95 ≤ 25 ms (issue 5's were 100, 150 and 50 ms, and list req/s ≥ Datasette's).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
VENV_BIN = Path(sys.executable).parent

import httpx  # noqa: E402
from pgstore import store_url  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.dialects import sqlite  # noqa: E402
from web_seed import OUT, describe, ensure_store  # noqa: E402

from tracker.dev.mailsink import free_port  # noqa: E402
from tracker.read import filters  # noqa: E402
from tracker.read import lists as queries  # noqa: E402
from tracker.store.engine import make_engine  # noqa: E402
from tracker.store.models import Device  # noqa: E402

SUB_AREAS = ("medical_imaging.ct", "medical_imaging.mr", "medical_imaging.xray", "medical_imaging.ultrasound",
             "medical_imaging.fundus", "medical_imaging.pathology", "medical_imaging.endoscopy")
SEARCH_TERMS = ("肺炎", "骨折", "支架", "眼底", "心电", "息肉")
LIST_COLUMNS = ("product_name", "registrant", "cert_no", "issued_on", "first_reg_year", "is_ai", "is_sample", "status")
TARGETS_MS = {"list": 50, "search": 75, "detail": 25}
TARGET_LIST_RATIO = 3.0  # list req/s, ours (HTML) / Datasette's HTML
UNCACHED_LIST_MS = 100  # the list's p95 with the cache off (the old goal)
CACHED = " (cached)"  # suffix of a scenario's name when it runs against the app with its page cache on

LUA = r"""
-- Rotate through the paths in the file named by the first script argument; print one JSON line when done.
local counter = 0
local paths = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  counter = (id or 0) * math.floor(#paths / 2)
end
function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.3f, "errors": %d, "non2xx": %d, "p50": %.3f, "p90": %.3f, "p95": %.3f, ' ..
    '"p99": %.3f, "max": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


def where_sql(f: filters.DeviceFilter) -> str:
    """The WHERE condition our list applies for `f`, as literal SQLite SQL (what Datasette gets as `_where`)."""
    stmt = select(Device.id).where(*queries.device_conditions(f))
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    # The tag probe's OFFSET 0 (tracker.read.tags.has_tag) makes SQLite's compiler write "LIMIT ? OFFSET 0" (its
    # implicit LIMIT -1 stays a parameter even with literal binds): spelled out for Datasette.
    return sql.split("WHERE ", 1)[1].replace(" LIMIT ? OFFSET 0)", " LIMIT -1 OFFSET 0)")


def datasette_path(db: str, f: filters.DeviceFilter, fmt: str = "") -> str:
    """The Datasette table-view URL equivalent to our list URL for `f` (only `ai`, sub-area and q are mapped)."""
    args: list[tuple[str, str]] = []
    if f.ai:
        args.append(("is_ai", "1"))
    where = where_sql(f.replace(ai=False)) if (f.sub or f.q) else None
    if where:
        args.append(("_where", where))
    args += [("_sort_desc", "issued_on"), ("_size", str(f.per_page))] + [("_col", c) for c in LIST_COLUMNS]
    return f"/{db}/device{fmt}?" + urlencode(args)


def ours_path(f: filters.DeviceFilter) -> str:
    """Our list URL for `f`."""
    return "/devices?" + urlencode(f.to_args())


@dataclass(frozen=True)
class Scenario:
    """One wrk run: which server, which paths (rotated), how many connections (wrk threads: min(2, connections))."""

    name: str
    server: str  # "ours" (cache off) | "cached" (cache on) | "datasette"
    paths: tuple[str, ...]
    connections: int = 8


def scenarios(db_url: str, db_name: str) -> list[Scenario]:
    """Every scenario of a round, in the order they run."""
    lists = [filters.DeviceFilter(ai=True, sub=s) for s in SUB_AREAS]
    searches = [filters.DeviceFilter(q=t) for t in SEARCH_TERMS]
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ai_ids = list(conn.execute(select(Device.id).where(Device.is_ai.is_(True))).scalars())
        other_ids = list(conn.execute(select(Device.id).where(Device.is_ai.is_(False))).scalars())
    engine.dispose()
    rng = random.Random(5)
    detail_ids = rng.sample(ai_ids, 200) + rng.sample(other_ids, 200)
    rng.shuffle(detail_ids)
    search_paths = tuple(ours_path(f) for f in searches)
    detail_paths = tuple(f"/devices/{i}" for i in detail_ids)
    plain = [
        Scenario("list", "ours", tuple(ours_path(f) for f in lists)),
        Scenario("datasette list (html)", "datasette", tuple(datasette_path(db_name, f) for f in lists)),
        Scenario("datasette list (json)", "datasette", tuple(datasette_path(db_name, f, ".json") for f in lists)),
        Scenario("api list (json)", "ours", tuple("/api/v1" + ours_path(f) for f in lists)),
        Scenario("search", "ours", search_paths),
        Scenario("datasette search (json)", "datasette",
                 tuple(datasette_path(db_name, f, ".json") for f in searches)),
        Scenario("detail", "ours", detail_paths),
        Scenario("search, 1 client", "ours", search_paths, connections=1),
        Scenario("detail, 1 client", "ours", detail_paths, connections=1),
    ]
    # Each scenario of ours right after itself against the cached app: both see the same moment of the machine.
    return [twin for sc in plain for twin in ((sc, Scenario(sc.name + CACHED, "cached", sc.paths, sc.connections))
                                              if sc.server == "ours" else (sc,))]


def check_equivalence(db_url: str, ours: str, datasette: str, db_name: str) -> int:
    """Assert that both servers answer every list/search path, with the same counts and first-page dates."""
    engine = make_engine(db_url)
    checked = 0
    with engine.connect() as conn, httpx.Client(timeout=60) as client:
        checks = [filters.DeviceFilter(ai=True, sub=s) for s in SUB_AREAS] + \
                 [filters.DeviceFilter(q=t) for t in SEARCH_TERMS]
        for f in checks:
            total = conn.execute(queries.count_of(queries.device_select(f))).scalar_one()
            dates = [str(d) for d in conn.execute(
                select(Device.issued_on).where(*queries.device_conditions(f))
                .order_by(Device.issued_on.desc().nulls_last(), Device.id.desc()).limit(f.per_page)).scalars()]
            page = client.get(ours + ours_path(f))
            assert page.status_code == 200 and f"共 {total} 条" in page.text, (ours_path(f), total)
            assert client.get(ours + "/api/v1" + ours_path(f)).json()["total"] == total, f
            data = client.get(datasette + datasette_path(db_name, f, ".json") + "&_shape=objects").json()
            assert data["filtered_table_rows_count"] == total, (f, data["filtered_table_rows_count"], total)
            assert [r["issued_on"] for r in data["rows"]] == dates, f
            assert client.get(datasette + datasette_path(db_name, f)).status_code == 200
            checked += 1
    engine.dispose()
    return checked


def wait_ready(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Poll `url` until it answers 200 (or fail, with the server's log, when it died or the time is up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {seconds} s:\n{log.read_text(errors='replace')[-2000:]}")


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)


def start_servers(db_url: str, path: Path, workers: int, work: Path) -> tuple[list[subprocess.Popen], dict[str, str]]:
    """gunicorn twice (our app on `db_url`, page cache off and on) and Datasette (on the SQLite file `path`) on free
    loopback ports; returns the processes and the base URL of each ("ours", "cached", "datasette")."""
    env = {**os.environ, "TRACKER_DATABASE_URL": db_url, "TRACKER_VAR_DIR": str(work)}
    procs: list[subprocess.Popen] = []
    base: dict[str, str] = {}
    try:
        for server, cache_mb in (("ours", "0"), ("cached", "64")):
            port, log = free_port(), work / f"gunicorn-{server}.log"
            procs.append(_spawn([str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                                 "--log-level", "warning", "web:create_app()"], log,
                                {**env, "TRACKER_PAGE_CACHE_MB": cache_mb}))
            base[server] = f"http://127.0.0.1:{port}"
            wait_ready(base[server] + "/devices", procs[-1], log)
        port, log = free_port(), work / "datasette.log"
        procs.append(_spawn([str(VENV_BIN / "datasette"), "serve", "-i", str(path), "-h", "127.0.0.1", "-p", str(port),
                             "--setting", "sql_time_limit_ms", "5000", "--setting", "suggest_facets", "off"], log))
        base["datasette"] = f"http://127.0.0.1:{port}"
        wait_ready(base["datasette"] + f"/{path.stem}/device.json?_size=1", procs[-1], log)
    except BaseException:
        stop_servers(procs)
        raise
    return procs, base


def stop_servers(procs: list[subprocess.Popen]) -> None:
    """SIGTERM (gunicorn's graceful stop; uvicorn's too), then SIGKILL whoever is still there after 15 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_wrk(base: str, sc: Scenario, seconds: int, work: Path) -> dict[str, float]:
    """One wrk run of a scenario; returns req/s and latency percentiles in ms (raises on any error or non-2xx)."""
    paths_file = work / ("paths-" + "".join(c if c.isalnum() else "_" for c in sc.name) + ".txt")
    paths_file.write_text("\n".join(sc.paths) + "\n")
    lua = work / "rotate.lua"
    if not lua.exists():
        lua.write_text(LUA)
    done = subprocess.run(
        ["wrk", f"-t{min(2, sc.connections)}", f"-c{sc.connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(lua), base, "--", str(paths_file)],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK "))
    result = json.loads(line[4:])
    if result["errors"] or result["non2xx"]:
        raise RuntimeError(f"{sc.name}: {result['errors']} socket errors, {result['non2xx']} non-2xx responses")
    result["rps"] = result["requests"] / result["seconds"]
    return result


def report(results: dict[str, list[dict[str, float]]]) -> None:
    """Medians per scenario, then, for the app with its cache off and on, the ratios against Datasette and the
    targets."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p95", "p99")}
           for name, runs in results.items() if runs}
    rounds = max(len(runs) for runs in results.values())
    for title, suffix in (("cache off (every page built)", ""), ("cache on", CACHED)):
        print(f"\n{title}: | scenario | req/s | p50 ms | p95 ms | p99 ms |   (median of {rounds} runs)")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, m in med.items():
            ours = name.endswith(CACHED) if suffix else not (name.endswith(CACHED) or name.startswith("datasette"))
            if ours or name.startswith("datasette"):
                print(f"| {name} | {m['rps']:.1f} | {m['p50']:.1f} | {m['p95']:.1f} | {m['p99']:.1f} |")
        print(f"ratios, req/s ours / Datasette (target: list ours / Datasette HTML ≥ {TARGET_LIST_RATIO:.0f}):")
        for ours, theirs in (("list", "datasette list (html)"), ("api list (json)", "datasette list (json)"),
                             ("list", "datasette list (json)"), ("search", "datasette search (json)")):
            if ours + suffix in med and theirs in med:
                ratio = med[ours + suffix]["rps"] / med[theirs]["rps"]
                verdict = ("  met" if ratio >= TARGET_LIST_RATIO else "  MISSED") if (ours, theirs) == (
                    "list", "datasette list (html)") else ""
                print(f"  {ours + suffix} / {theirs}: {ratio:.2f}{verdict}")
        targets = dict(TARGETS_MS) if suffix else {"list": UNCACHED_LIST_MS, **{k: v for k, v in TARGETS_MS.items()
                                                                               if k != "list"}}
        print("ratios, p95 / target at 8 clients (target: ≤ 1" + ("" if suffix else
              f"; uncached list: the old goal, {UNCACHED_LIST_MS} ms") + "):")
        for name, target in targets.items():
            if name + suffix in med:
                p95 = med[name + suffix]["p95"]
                print(f"  {name + suffix:16} {p95:7.1f} ms / {target} ms = {p95 / target:.2f}  "
                      f"{'met' if p95 <= target else 'MISSED'}")


def main() -> None:
    """Seed or reuse the store, start both servers, check equivalence, load every scenario, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the database our app runs on (Datasette always serves the SQLite file)")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default: one per core)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    args = parser.parse_args()

    path = ensure_store(args.devices, args.policies)
    print(f"store: {path.name} ({path.stat().st_size / 2**20:,.0f} MiB) {describe(f'sqlite:///{path}')}")
    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}")
    with store_url(args.db, args.devices, args.policies) as db_url:
        if args.db != "sqlite":
            print(f"our app on {args.db}: {describe(db_url)}")
        plan = [sc for sc in scenarios(db_url, path.stem) if not args.only or sc.name in args.only]
        results: dict[str, list[dict[str, float]]] = {sc.name: [] for sc in plan}
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            work = Path(tmp)
            procs, base = start_servers(db_url, path, args.workers, work)
            try:
                print(f"gunicorn ({args.workers} sync workers each, {args.db}) cache off on {base['ours']}, cache on "
                      f"on {base['cached']}; datasette on {base['datasette']}")
                for server in ("ours", "cached"):
                    checked = check_equivalence(db_url, base[server], base["datasette"], path.stem)
                print(f"equivalence checked on {checked} filters, cache off and on")
                for sc in plan:  # warm both servers' caches (not measured)
                    run_wrk(base[sc.server], sc, 2, work)
                for round_no in range(1, args.rounds + 1):
                    for sc in plan:
                        r = run_wrk(base[sc.server], sc, args.duration, work)
                        results[sc.name].append(r)
                        print(f"  round {round_no} {sc.name:24} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f}  "
                              f"p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  (load {os.getloadavg()[0]:.1f})")
            finally:
                stop_servers(procs)
    print(f"load average at end: {Path('/proc/loadavg').read_text().strip()}")
    report(results)


if __name__ == "__main__":
    main()
