"""Benchmark: streaming a full-release-sized UDI ZIP through `scrapers.udi.parse_file`, against a bare lxml loop.

    .venv/bin/python bench/udi_ingest.py [N]          # N device rows, default 200000

Writes a synthetic full-release-like ZIP to bench/out/ (real UDI tag names and nested lists, 5,000 rows per XML
part like the real release, about 5 % class-III rows with 2-4 DIs per certificate, the rest class II and filings;
reused when it already exists), then measures, each in a fresh child process so each gets its own peak RSS:

- `bare`: zipfile + lxml.etree.iterparse(tag="device") + clearing, counting rows: the floor for any streaming parser;
- `parse_file`: the real scraper path (safety caps, control-byte filter, scope filter, grouping by certificate in
  a scratch SQLite file);
- `ingest`: `tracker.ingest.run.ingest_path` into a fresh SQLite database, when the runs layer is importable.

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
OUT = ROOT / "bench" / "out"
ROWS_PER_PART = 5_000
RUNS = 3
MEASUREMENTS = ("bare", "parse_file", "ingest")


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


def measure_ingest(zip_path: Path) -> int | None:
    """HOOK: the full ingest (parse + store) through tracker.ingest.run.ingest_path into a fresh SQLite database.

    Returns the rows in the file, or None (printing "ingest not available yet") while the runs layer is missing.
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
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        settings = Settings(var_dir=Path(tmp) / "var", database_url=url, secret_key="bench")
        engine = make_engine(url)
        try:
            result = ingest_path(settings, make_session_factory(engine), udi, zip_path, is_sample=True)
        finally:
            engine.dispose()
    print(f"    ingest: {result.summary().splitlines()[0]}")
    if result.outcome != "ok":
        print(f"    ingest failed: {result.error}")
        return None
    return rows_in(zip_path)


def rows_in(zip_path: Path) -> int:
    """The number of device rows in a bench ZIP (from its name: the runs layer reports certificates, not rows)."""
    return int(zip_path.stem.rsplit("_", 1)[-1])


_IMPORTS = {"bare": ["lxml.etree"], "parse_file": ["scrapers.udi"],
            "ingest": ["scrapers", "tracker.ingest.run", "tracker.store.migrate", "tracker.store.engine", "tracker.config"]}


def _child(name: str, zip_path: str, queue) -> None:
    for module in _IMPORTS[name]:  # imports are start-up cost, not streaming cost: keep them out of the timing
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    started = time.perf_counter()
    rows = {"bare": bare_loop, "parse_file": scraper_loop, "ingest": measure_ingest}[name](Path(zip_path))
    elapsed = time.perf_counter() - started
    queue.put((rows, elapsed, peak_rss_kib()))


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


def run_once(name: str, zip_path: Path) -> tuple[int | None, float, int]:
    """(rows, seconds, peak RSS KiB) of one measurement in a freshly spawned process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, str(zip_path), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def measure_all(zip_path: Path) -> dict[str, dict | None]:
    """Median and best time and max peak RSS of `RUNS` runs of every measurement.

    The runs are interleaved (bare, parse_file, ingest, bare, ...): on a machine shared with other work the load
    drifts over the minutes a run takes, and interleaving spreads that drift over all three instead of one.
    """
    times: dict[str, list[float]] = {name: [] for name in MEASUREMENTS}
    peaks: dict[str, list[int]] = {name: [] for name in MEASUREMENTS}
    rows: dict[str, int] = {}
    unavailable: set[str] = set()  # measurements that returned no rows (the ingest hook without a runs layer)
    for round_no in range(1, RUNS + 1):
        for name in (m for m in MEASUREMENTS if m not in unavailable):
            count, elapsed, peak_kib = run_once(name, zip_path)
            if count is None:
                unavailable.add(name)
                continue
            rows[name] = count
            times[name].append(elapsed)
            peaks[name].append(peak_kib)
            print(f"  round {round_no} {name:<10} {elapsed:7.2f} s  load average {load_average()}", flush=True)
    results: dict[str, dict | None] = dict.fromkeys(MEASUREMENTS)
    for name, count in rows.items():
        median = statistics.median(times[name])
        results[name] = {"rows": count, "seconds": median, "best": min(times[name]), "rate": count / median,
                         "peak_mib": max(peaks[name]) / 1024}
    return results


def load_average() -> str:
    """The 1/5/15-minute load averages, for the record (2 cores here: above 2 the runs compete for the CPU)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    """Generate (or reuse) the ZIP for N rows and print the table of measurements."""
    n = int(argv[1]) if len(argv) > 1 else 200_000
    started = time.perf_counter()
    zip_path = make_zip(n)
    print(f"input: {zip_path.name}, {zip_path.stat().st_size / 2**20:.1f} MiB zipped "
          f"(ready in {time.perf_counter() - started:.1f} s); load average {load_average()}")
    results = measure_all(zip_path)
    print(f"\n{'measurement':<12} {'rows':>9} {'median s':>9} {'best s':>7} {'rows/s':>10} {'peak RSS MiB':>13}")
    for name, r in results.items():
        if r is None:
            print(f"{name:<12} {'n/a':>9}")
            continue
        print(f"{name:<12} {r['rows']:>9} {r['seconds']:>9.2f} {r['best']:>7.2f} {r['rate']:>10.0f} "
              f"{r['peak_mib']:>13.1f}")
    if results["bare"] and results["parse_file"]:
        print(f"\nparse_file / bare time ratio: {results['parse_file']['seconds'] / results['bare']['seconds']:.2f}")
    if results["bare"] and results["ingest"]:
        print(f"ingest / bare time ratio: {results['ingest']['seconds'] / results['bare']['seconds']:.2f}")
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
