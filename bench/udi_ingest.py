"""Benchmark: streaming a full-release-sized UDI ZIP through `scrapers.udi.parse_file`, against a bare lxml loop.

    .venv/bin/python bench/udi_ingest.py [N] [--db sqlite|postgresql|both] [--runs 3] [--only bare ingest ...]

Writes a synthetic full-release-like ZIP to bench/out/ (real UDI tag names and nested lists, 5,000 rows per XML
part like the real release, about 5 % class-III rows with 2-4 DIs per certificate, the rest class II and filings;
reused when it already exists), then measures, each in a fresh child process so each gets its own peak RSS:

- `bare`: zipfile + lxml.etree.iterparse(tag="device") + clearing, counting rows: the floor for any streaming parser;
- `parse_file`: the real scraper path (safety caps, control-byte filter, scope filter, grouping by certificate in
  a scratch SQLite file);
- `ingest`: `tracker.ingest.run.ingest_path` into a fresh SQLite database, when the runs layer is importable;
- `ingest_pg`: the same into a fresh database of a throwaway PostgreSQL 15 cluster (bench/pgstore.py: the test
  suite's cluster, fsync off) with `--db postgresql` or `both`;
- `again` / `again_pg`: a second ingest of the same release into the database the first one filled
  (`reprocess=True`, so it is parsed and compared rather than skipped as a file already stored): it must write
  nothing (the revisions and certificates written by it are printed) and is timed alone;
- `same`: the same release handed over once more the way a scheduled run or `tracker ingest` does it (no
  `reprocess`): the file is recognised by its hash as one already stored and skipped. This is what a second ingest of
  an unchanged release costs; `again` is what re-reading it costs (the price of a release that did change).

For the ingests the database size after the run is printed (the SQLite file with its WAL; `pg_database_size`).

Each is run 3 times, the three interleaved round by round; the median and best wall time, rows/s (from the median)
and the peak RSS (max over the runs) are printed, with the load average after each run. Run it on an otherwise idle
machine: the numbers are wall-clock times.
"""
from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "out"
ROWS_PER_PART = 5_000
RUNS = 3
MEASUREMENTS = ("bare", "parse_file", "ingest", "again", "same", "ingest_pg", "again_pg")


def _generator():
    spec = importlib.util.spec_from_file_location("make_udi_samples", ROOT / "samples" / "make_udi_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_zip(n: int) -> Path:
    """A synthetic UDID_FULL_RELEASE ZIP of `n` device rows in parts of 5,000 (cached in bench/out/)."""
    import zipfile

    path = OUT / f"UDID_FULL_RELEASE_BENCH_{n}.zip"
    if path.exists():
        return path
    gen = _generator()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    parts = (n + ROWS_PER_PART - 1) // ROWS_PER_PART
    row = 0
    cert_serial = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for part in range(1, parts + 1):
            devices = []
            while len(devices) < ROWS_PER_PART and row < n:
                cert_serial += 1
                # One certificate per 2-4 rows; every 20th certificate-block class III keeps them at about 5 %.
                size = 2 + cert_serial % 3
                year, serial = 2000 + cert_serial // 10_000 % 27, cert_serial % 10_000
                if cert_serial % 20 == 0:
                    cert = f"国械注准{year}321{serial:04d}"
                elif cert_serial % 20 == 1:
                    cert = f"京海械备{year}{serial:04d}"
                else:
                    cert = f"京械注准{year}221{serial:04d}"
                for _ in range(size):
                    if len(devices) >= ROWS_PER_PART or row >= n:
                        break
                    row += 1
                    di = gen.gtin14(row)
                    devices.append(gen.device_xml({
                        "deviceRecordKey": f"BENCH-{row}", "zxxsdycpbs": di, "zczbhhzbapzbh": cert,
                        "cpmctymc": f"合成产品{cert_serial}", "spmc": "合成", "ggxh": f"型号{row}",
                        "cpms": "该产品为基准测试用合成数据，由主机、软件和附件组成，用于测量解析速度。" * 2,
                        "flbm": "21-04" if cert_serial % 20 == 0 else "07-03", "ylqxzcrbarmc": "合成医疗科技有限公司",
                        "ylqxzcrbarywmc": "Synthetic Medical Co., Ltd.", "tyshxydm": "91110000BENCH00001",
                        "cpbsfbrq": "2024-01-02", "versionTime": "2026-11-01"}))
            name = f"UDID_FULL_DOWNLOAD_PART{part}_Of_{parts}_2026-11-01.xml"
            archive.writestr(name, gen.udid_document(devices))
    tmp.rename(path)
    return path


def bare_loop(zip_path: Path) -> int:
    """Rows counted by the plainest streaming loop over the same ZIP (lxml iterparse + clearing)."""
    import zipfile

    from lxml import etree

    count = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                for _event, elem in etree.iterparse(member, events=("end",), tag="device"):
                    count += 1
                    elem.clear()
                    while elem.getprevious() is not None:
                        del elem.getparent()[0]
    return count


def scraper_loop(zip_path: Path) -> int:
    """Rows read by scrapers.udi.parse_file (records are consumed; rows are counted through its stats)."""
    from scrapers import udi
    from tracker.records import ParseStats

    stats = ParseStats()
    kept = sum(1 for _ in udi.parse_file(zip_path, stats))
    note = next(n for n in stats.notes if "device rows read" in n)
    print(f"    parse_file: {kept} certificates kept, out_of_scope={stats.out_of_scope}, skipped={stats.skipped}")
    return int(note.split()[0])


def _counts(url: str) -> tuple[int, int]:
    """(revisions, devices) in the database at `url`."""
    from sqlalchemy import func, select

    from tracker.store.engine import make_engine
    from tracker.store.models import Device, Revision

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(Revision)).scalar_one(),
                    conn.execute(select(func.count()).select_from(Device)).scalar_one())
    finally:
        engine.dispose()


def database_mib(url: str) -> float:
    """The size of the database at `url` in MiB (SQLite: the file and its WAL; PostgreSQL: pg_database_size)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()) / 2**20
    from sqlalchemy import text

    from tracker.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20
    finally:
        engine.dispose()


def measure_ingest(zip_path: Path, url: str | None = None, *, again: bool = False,
                   reprocess: bool = True) -> int | None:
    """HOOK: the full ingest (parse + store) through tracker.ingest.run.ingest_path into the database at `url` (a
    fresh SQLite file when None). With `again`, the database already holds this release: it is ingested a second
    time (re-read and compared with `reprocess`, else skipped as a stored file) and what that wrote is printed.

    Returns the rows in the file, or None (printing why) while the runs layer is missing or the run failed.
    """
    try:
        from scrapers import udi
        from tracker.config import Settings
        from tracker.ingest.run import ingest_path
        from tracker.store.engine import make_engine, make_session_factory
        from tracker.store.migrate import upgrade
    except ImportError as exc:
        print(f"    ingest not available yet ({exc})")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/bench.sqlite3"
        if not again:
            upgrade(url)
        before = _counts(url) if again else (0, 0)
        settings = Settings(var_dir=Path(tmp) / "var", database_url=url, secret_key="bench")
        engine = make_engine(url)
        try:
            result = ingest_path(settings, make_session_factory(engine), udi, zip_path, is_sample=True,
                                 reprocess=again and reprocess)
        finally:
            engine.dispose()
        after = _counts(url)
        print(f"    {'again' if again else 'ingest'}: {result.summary().splitlines()[0]}; database "
              f"{database_mib(url):.0f} MiB; wrote {after[0] - before[0]} revisions, {after[1] - before[1]} devices")
    if result.outcome != "ok":
        print(f"    ingest failed: {result.error}")
        return None
    return rows_in(zip_path)


def rows_in(zip_path: Path) -> int:
    """The number of device rows in a bench ZIP (from its name: the runs layer reports certificates, not rows)."""
    return int(zip_path.stem.rsplit("_", 1)[-1])


_INGEST_IMPORTS = ["scrapers", "tracker.ingest.run", "tracker.store.migrate", "tracker.store.engine",
                   "tracker.config", "tracker.store.models", "psycopg"]
_IMPORTS = {"bare": ["lxml.etree"], "parse_file": ["scrapers.udi"], "ingest": _INGEST_IMPORTS,
            "again": _INGEST_IMPORTS, "same": _INGEST_IMPORTS, "ingest_pg": _INGEST_IMPORTS, "again_pg": _INGEST_IMPORTS}


def _child(name: str, zip_path: str, url: str | None, queue) -> None:
    for module in _IMPORTS[name]:  # imports are start-up cost, not streaming cost: keep them out of the timing
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    started, cpu_started = time.perf_counter(), time.process_time()
    if name == "bare":
        rows = bare_loop(Path(zip_path))
    elif name == "parse_file":
        rows = scraper_loop(Path(zip_path))
    else:
        rows = measure_ingest(Path(zip_path), url, again=name.startswith(("again", "same")), reprocess=name != "same")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    queue.put((rows, elapsed, cpu, peak_rss_kib()))


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB.

    Linux's VmHWM belongs to the process image, whereas ru_maxrss survives exec and would report the parent's peak
    (e.g. while it generated the ZIP) for a spawned child.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_once(name: str, zip_path: Path, url: str | None = None) -> tuple[int | None, float, float, int]:
    """(rows, wall seconds, CPU seconds, peak RSS KiB) of one measurement in a freshly spawned process (`url`: the
    ingest's database). The CPU time is the child's own (not PostgreSQL's): on a loaded machine it moves less."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, str(zip_path), url, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def measure_all(zip_path: Path, measurements: tuple[str, ...], runs: int,
                cluster=None) -> dict[str, dict | None]:
    """Median and best time and max peak RSS of `runs` runs of every measurement.

    The runs are interleaved (bare, parse_file, ingest, bare, ...): on a machine shared with other work the load
    drifts over the minutes a run takes, and interleaving spreads that drift over all of them instead of one. The
    PostgreSQL ingests get a fresh database of `cluster` each round; `again` re-ingests into the SQLite file the
    round's `ingest` filled (kept for it), `again_pg` into the round's PostgreSQL database.
    """
    from pgstore import new_database

    times: dict[str, list[float]] = {name: [] for name in measurements}
    cpus: dict[str, list[float]] = {name: [] for name in measurements}
    peaks: dict[str, list[int]] = {name: [] for name in measurements}
    rows: dict[str, int] = {}
    unavailable: set[str] = set()  # measurements that returned no rows (the ingest hook without a runs layer)
    with tempfile.TemporaryDirectory(dir=OUT) as keep:
        for round_no in range(1, runs + 1):
            urls = {"ingest": f"sqlite:///{keep}/round{round_no}.sqlite3"}
            urls["again"] = urls["same"] = urls["ingest"]
            if cluster is not None and {"ingest_pg", "again_pg"} & set(measurements):
                urls["ingest_pg"] = urls["again_pg"] = new_database(cluster, f"ingest_{round_no}")
            for name in (m for m in measurements if m not in unavailable):
                count, elapsed, cpu, peak_kib = run_once(name, zip_path, urls.get(name))
                if count is None:
                    unavailable.add(name)
                    continue
                rows[name] = count
                times[name].append(elapsed)
                cpus[name].append(cpu)
                peaks[name].append(peak_kib)
                print(f"  round {round_no} {name:<10} {elapsed:7.2f} s  CPU {cpu:7.2f} s  load average {load_average()}",
                      flush=True)
            Path(urls["ingest"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    results: dict[str, dict | None] = dict.fromkeys(measurements)
    for name, count in rows.items():
        median = statistics.median(times[name])
        results[name] = {"rows": count, "seconds": median, "best": min(times[name]), "rate": count / median,
                         "cpu": statistics.median(cpus[name]), "peak_mib": max(peaks[name]) / 1024}
    return results


def load_average() -> str:
    """The 1/5/15-minute load averages, for the record (2 cores here: above 2 the runs compete for the CPU)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    """Generate (or reuse) the ZIP for N rows and print the table of measurements."""
    import argparse
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000, help="device rows (default 200000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite",
                        help="where the ingests store (default sqlite)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", nargs="*", choices=MEASUREMENTS, help="run only these measurements")
    args = parser.parse_args(argv[1:])
    wanted = {"sqlite": ("bare", "parse_file", "ingest", "again", "same"), "postgresql": ("bare", "ingest_pg", "again_pg"),
              "both": MEASUREMENTS}[args.db]
    measurements = tuple(m for m in wanted if not args.only or m in args.only)
    started = time.perf_counter()
    zip_path = make_zip(args.n)
    print(f"input: {zip_path.name}, {zip_path.stat().st_size / 2**20:.1f} MiB zipped "
          f"(ready in {time.perf_counter() - started:.1f} s); load average {Path('/proc/loadavg').read_text().strip()}")
    with ExitStack() as stack:
        cluster = None
        if {"ingest_pg", "again_pg"} & set(measurements):
            from pgstore import scratch_cluster

            cluster = stack.enter_context(scratch_cluster())
        results = measure_all(zip_path, measurements, args.runs, cluster)
    print(f"\n{'measurement':<12} {'rows':>9} {'median s':>9} {'best s':>7} {'rows/s':>10} {'CPU s':>8} "
          f"{'peak RSS MiB':>13}")
    for name, r in results.items():
        if r is None:
            print(f"{name:<12} {'n/a':>9}")
            continue
        print(f"{name:<12} {r['rows']:>9} {r['seconds']:>9.2f} {r['best']:>7.2f} {r['rate']:>10.0f} {r['cpu']:>8.2f} "
              f"{r['peak_mib']:>13.1f}")
    if results.get("bare"):
        for name, goal in (("parse_file", ""), ("ingest", " (goal at 1 M: <= 1.5)"), ("again", " (goal: <= 1.2)"),
                           ("same", " (goal: <= 1.2)"), ("ingest_pg", ""), ("again_pg", " (goal: <= 1.2)")):
            if results.get(name):
                print(f"{name} / bare time ratio: {results[name]['seconds'] / results['bare']['seconds']:.2f}{goal}; "
                      f"CPU ratio {results[name]['cpu'] / results['bare']['cpu']:.2f}")
    print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
