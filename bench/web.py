"""Benchmark: the web UI under load (gunicorn + wrk) against Datasette serving the same SQLite file, side by side.

    .venv/bin/python bench/web.py [--devices 100000] [--policies 10000] [--workers 3] [--duration 15] [--rounds 3]

The store comes from bench/web_seed.py (seeded once through the real write path, cached in bench/out/). This script
starts both servers on 127.0.0.1 (gunicorn with `--workers` sync workers running `web:create_app()`; `datasette
serve -i` on the same file) and loads them with wrk (2 threads, 8 connections, `--duration` seconds per scenario,
loopback only; a Lua script rotates through a list of paths and prints latency percentiles). Each round runs every
scenario once, interleaved, so both servers see the same machine; the report quotes the median of the rounds.

Scenarios (paths rotate so no two consecutive requests are identical):
- list: /devices?ai=1&sub=<imaging sub-area>, first page of 50, over seven sub-areas;
- datasette list (HTML and JSON): the table view of `device` with `is_ai=1`, `_where=` the very SQL condition our
  list applies for the sub-area (compiled from tracker.queries), `_sort_desc=issued_on`, `_size=50`, and only the
  columns our list shows;
- search: /devices?q=<two Chinese characters>, six terms from frequent to rare; datasette search: the same LIKE
  condition through `_where=`;
- detail: /devices/<id> for 400 devices (half AI, which carry more tags and policy links).

Before loading, the equivalence is checked: for every list and search path both sides report the same number of
matching rows and the same issue dates on the first page. Targets (issue 5): list p95 ≤ 100 ms and req/s ≥
Datasette's; search p95 ≤ 150 ms; detail p95 ≤ 50 ms.
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
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
VENV_BIN = Path(sys.executable).parent

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.dialects import sqlite  # noqa: E402

from tracker import queries  # noqa: E402
from tracker.db import make_engine  # noqa: E402
from tracker.mailsink import free_port  # noqa: E402
from tracker.models import Device  # noqa: E402
from web_seed import OUT, describe, ensure_store  # noqa: E402

SUB_AREAS = ("medical_imaging.ct", "medical_imaging.mr", "medical_imaging.xray", "medical_imaging.ultrasound",
             "medical_imaging.fundus", "medical_imaging.pathology", "medical_imaging.endoscopy")
SEARCH_TERMS = ("肺炎", "骨折", "支架", "眼底", "心电", "息肉")
LIST_COLUMNS = ("product_name", "registrant", "cert_no", "issued_on", "first_reg_year", "is_ai", "is_sample", "status")
TARGETS_MS = {"list": 100, "search": 150, "detail": 50}

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


def where_sql(f: queries.DeviceFilter) -> str:
    """The WHERE condition our list applies for `f`, as literal SQLite SQL (what Datasette gets as `_where`)."""
    conds = [c for c in queries.device_conditions(f)]
    sql = str(select(Device.id).where(*conds).compile(dialect=sqlite.dialect(),
                                                      compile_kwargs={"literal_binds": True}))
    return sql.split("WHERE ", 1)[1]


def datasette_path(db: str, f: queries.DeviceFilter, fmt: str = "") -> str:
    """The Datasette table-view URL equivalent to our list URL for `f` (only `ai`, sub-area and q are mapped)."""
    args: list[tuple[str, str]] = []
    if f.ai:
        args.append(("is_ai", "1"))
    where = where_sql(f.replace(ai=False)) if (f.sub or f.q) else None
    if where:
        args.append(("_where", where))
    args += [("_sort_desc", "issued_on"), ("_size", str(f.per_page))] + [("_col", c) for c in LIST_COLUMNS]
    return f"/{db}/device{fmt}?" + urlencode(args)


def ours_path(f: queries.DeviceFilter) -> str:
    """Our list URL for `f`."""
    return "/devices?" + urlencode(f.to_args())


def scenarios(db_url: str, db_name: str) -> dict[str, list[str]]:
    """Paths per scenario name."""
    lists = [queries.DeviceFilter(ai=True, sub=s) for s in SUB_AREAS]
    searches = [queries.DeviceFilter(q=t) for t in SEARCH_TERMS]
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ai_ids = list(conn.execute(select(Device.id).where(Device.is_ai.is_(True))).scalars())
        other_ids = list(conn.execute(select(Device.id).where(Device.is_ai.is_(False))).scalars())
    engine.dispose()
    rng = random.Random(5)
    detail_ids = rng.sample(ai_ids, 200) + rng.sample(other_ids, 200)
    rng.shuffle(detail_ids)
    return {
        "list": [ours_path(f) for f in lists],
        "datasette list (html)": [datasette_path(db_name, f) for f in lists],
        "datasette list (json)": [datasette_path(db_name, f, ".json") for f in lists],
        "search": [ours_path(f) for f in searches],
        "datasette search (json)": [datasette_path(db_name, f, ".json") for f in searches],
        "detail": [f"/devices/{i}" for i in detail_ids],
    }


def check_equivalence(db_url: str, ours: str, datasette: str, db_name: str) -> int:
    """Assert that both servers answer every list/search path, with the same counts and first-page dates."""
    engine = make_engine(db_url)
    checked = 0
    with engine.connect() as conn, httpx.Client(timeout=60) as client:
        filters = [queries.DeviceFilter(ai=True, sub=s) for s in SUB_AREAS] + \
                  [queries.DeviceFilter(q=t) for t in SEARCH_TERMS]
        for f in filters:
            total = conn.execute(queries.count_of(queries.device_select(f))).scalar_one()
            dates = [str(d) for d in conn.execute(
                select(Device.issued_on).where(*queries.device_conditions(f))
                .order_by(Device.issued_on.desc().nulls_last(), Device.id.desc()).limit(f.per_page)).scalars()]
            page = client.get(ours + ours_path(f))
            assert page.status_code == 200 and f"共 {total} 条" in page.text, (ours_path(f), total)
            data = client.get(datasette + datasette_path(db_name, f, ".json") + "&_shape=objects").json()
            assert data["filtered_table_rows_count"] == total, (f, data["filtered_table_rows_count"], total)
            assert [r["issued_on"] for r in data["rows"]] == dates, f
            assert client.get(datasette + datasette_path(db_name, f)).status_code == 200
            checked += 1
    engine.dispose()
    return checked


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Poll `url` until it answers 200 (or fail when the server died or the time is up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(map(str, proc.args))}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {seconds} s")


def start_servers(path: Path, workers: int, var_dir: Path) -> tuple[list[subprocess.Popen], str, str]:
    """gunicorn (our app) and Datasette on free loopback ports; returns the processes and both base URLs."""
    ours_port, ds_port = free_port(), free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{path}", "TRACKER_VAR_DIR": str(var_dir)}
    gunicorn = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{ours_port}",
         "--log-level", "warning", "web:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(var_dir / "gunicorn.log", "wb"))
    datasette = subprocess.Popen(
        [str(VENV_BIN / "datasette"), "serve", "-i", str(path), "-h", "127.0.0.1", "-p", str(ds_port),
         "--setting", "sql_time_limit_ms", "5000", "--setting", "suggest_facets", "off"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(var_dir / "datasette.log", "wb"))
    procs = [gunicorn, datasette]
    ours, ds = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{ds_port}"
    try:
        wait_ready(ours + "/devices", gunicorn)
        wait_ready(ds + f"/{path.stem}/device.json?_size=1", datasette)
    except BaseException:
        stop_servers(procs)
        raise
    return procs, ours, ds


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


def run_wrk(base: str, paths: list[str], seconds: float, work: Path, name: str) -> dict[str, float]:
    """One wrk run over `paths` (2 threads, 8 connections); returns req/s and latency percentiles in ms."""
    paths_file = work / f"paths-{name.replace(' ', '_').replace('(', '').replace(')', '')}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    lua = work / "rotate.lua"
    if not lua.exists():
        lua.write_text(LUA)
    done = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{int(seconds)}s", "--timeout", "10s", "-s", str(lua), base, "--", str(paths_file)],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK "))
    result = json.loads(line[4:])
    if result["errors"] or result["non2xx"]:
        raise RuntimeError(f"{name}: {result['errors']} socket errors, {result['non2xx']} non-2xx responses")
    result["rps"] = result["requests"] / result["seconds"]
    return result


def report(results: dict[str, list[dict[str, float]]]) -> None:
    """Medians per scenario, then the ratios against Datasette and the targets."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p95", "p99")}
           for name, runs in results.items()}
    print(f"\n{'scenario':26} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   (median of {len(next(iter(results.values())))} runs)")
    for name, m in med.items():
        print(f"{name:26} {m['rps']:8.1f} {m['p50']:8.1f} {m['p95']:8.1f} {m['p99']:8.1f}")
    print("\nratios (ours / Datasette, req/s; ≥ 1 meets the target):")
    for fmt in ("html", "json"):
        print(f"  list / datasette list ({fmt}): {med['list']['rps'] / med[f'datasette list ({fmt})']['rps']:.2f}")
    print(f"  search / datasette search (json): {med['search']['rps'] / med['datasette search (json)']['rps']:.2f}")
    print("targets (p95 / target; ≤ 1 meets it):")
    for name, target in TARGETS_MS.items():
        verdict = "met" if med[name]["p95"] <= target else "MISSED"
        print(f"  {name:7} p95 {med[name]['p95']:7.1f} ms / {target} ms = {med[name]['p95'] / target:.2f}  {verdict}")


def main() -> None:
    """Seed or reuse the store, start both servers, check equivalence, load every scenario, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    args = parser.parse_args()

    path = ensure_store(args.devices, args.policies)
    db_url = f"sqlite:///{path}"
    print(f"store: {path.name} ({path.stat().st_size / 2**20:,.0f} MiB) {describe(db_url)}")
    paths = scenarios(db_url, path.stem)
    if args.only:
        paths = {k: v for k, v in paths.items() if k in args.only}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        work = Path(tmp)
        procs, ours, ds = start_servers(path, args.workers, work)
        try:
            print(f"gunicorn ({args.workers} sync workers) on {ours}, datasette on {ds}; load average "
                  f"{os.getloadavg()[0]:.1f}")
            print(f"equivalence checked on {check_equivalence(db_url, ours, ds, path.stem)} filters")
            for name, plist in paths.items():  # warm both servers' caches (not measured)
                run_wrk(ds if name.startswith("datasette") else ours, plist, 2, work, name)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
            for round_no in range(1, args.rounds + 1):
                for name, plist in paths.items():
                    r = run_wrk(ds if name.startswith("datasette") else ours, plist, args.duration, work, name)
                    results[name].append(r)
                    print(f"  round {round_no} {name:26} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f}  "
                          f"p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  (load {os.getloadavg()[0]:.1f})")
        finally:
            stop_servers(procs)
    report(results)


if __name__ == "__main__":
    main()
