"""Worker memory under load: the real gunicorn web process (web/serving.py's configuration) on a copy of the seeded
store, 20,000 mixed requests, and each worker's RSS read from /proc before, during and after.

    .venv/bin/python bench/worker_memory.py                           # the shipped configuration (max_requests on)
    .venv/bin/python bench/worker_memory.py --max-requests 0          # no recycling: what a worker keeps
    .venv/bin/python bench/worker_memory.py --devices 20000 --policies 2000 --requests 5000   # a quicker look

The mix (seeded, so every run sends the same requests in the same order): list pages with filters, sorts and pages;
device and policy pages; the JSON API; CSV / JSON / XLSX exports (most filtered to hundreds of rows, about one in 400
an `ai=1` export of some 13,000 rows); Atom feeds; and hostile URLs (ids past 2^63, 10,000-character strings, control
characters, calendar-edge and malformed dates, pages far past the end, traversal attempts, unknown routes). The
client is `--clients` threads of this process over keep-alive connections.

`--tracemalloc` instead runs the same mix through the app in this process (Flask's test client, one thread) with
tracemalloc on, and prints the Python allocations that grew most between request 2,000 and the last one: a leak
shows as a line that keeps growing with the requests.

Printed: RSS per worker (MiB, by pid: a worker replaced after max_requests shows as a new pid) at start, after 5,000,
10,000 and 20,000 requests, and after a 5 s rest; the status codes seen; requests/s. Numbers only: nothing is
asserted (bench/README.md has the figures).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.web_seed import ensure_store  # noqa: E402

CHECKPOINTS = (5_000, 10_000, 20_000)
TARGETS = ("肺结节", "眼底", "骨折", "乳腺", "CT", "支架", "髋关节", "注射器", "软件", "人工智能")
AREAS = ("medical_imaging", "medical_imaging.ct", "clinical_decision_support", "pathology")
HOSTILE_TEXT = ("A" * 10_000, "\x00\x01\x1f", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd",
                "𠀀𪚥😀", "肺" * 3000, "%", "\u202e\u200b", "ثبت‌نام")
HOSTILE_DATES = ("0001-01-01", "9999-12-31", "2026-02-30", "20261301", "yesterday", "-1", "1e9", "2026-1-1")
HOSTILE_IDS = (2 ** 63, 2 ** 64 + 7, -1, 0, 10 ** 30, "1e3", "０１", "abc")


def rss_mib(pid: int) -> float | None:
    """Resident set size of a process in MiB (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def workers_of(master: int) -> list[int]:
    """The pids whose parent is `master` (gunicorn's workers), oldest first."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[1]) == master:
                out.append(int(entry.name))
    return sorted(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests_mix(n: int, devices: int, policies: int, seed: int = 20261206) -> list[str]:
    """`n` request paths, deterministic for a seed."""
    rng = random.Random(seed)
    out = []

    def did() -> int:
        return rng.randint(1, devices)

    def pid() -> int:
        return rng.randint(1, policies)

    def qs(params: dict) -> str:
        return str(httpx.QueryParams(params))

    def hostile() -> str:
        kind = rng.randrange(9)
        text = rng.choice(HOSTILE_TEXT)
        if kind == 0:
            return f"/devices/{rng.choice(HOSTILE_IDS)}"
        if kind == 1:
            return f"/api/v1/policies/{rng.choice(HOSTILE_IDS)}"
        if kind == 2:
            return "/devices?" + qs({"q": text, "registrant": text})
        if kind == 3:
            return "/devices?" + qs({"issued_from": rng.choice(HOSTILE_DATES),
                                                    "seen_from": rng.choice(HOSTILE_DATES)})
        if kind == 4:
            return "/policies?" + qs({"date_from": rng.choice(HOSTILE_DATES), "page": 10 ** 6})
        if kind == 5:
            return "/api/v1/devices?" + qs({"per_page": rng.choice((0, 201, 10 ** 9)),
                                                           "sort": text[:50]})
        if kind == 6:
            return "/export/devices.csv?" + qs({"q": text, "area": text[:40]})
        if kind == 7:
            return rng.choice(("/static/../../pyproject.toml", "/documents/99999999999999999999/raw",
                               "/no/such/page", "/feeds/devices.atom?asof=9999-12-31", "/admin/audit"))
        return "/devices/" + str(did()) + "?" + qs({"asof": rng.choice(HOSTILE_DATES)})

    for _ in range(n):
        roll = rng.random()
        if roll < 0.30:
            kind = rng.choice(("devices", "policies"))
            params = {"q": rng.choice(TARGETS + ("",)), "page": rng.choice((1, 1, 2, 3))}
            if kind == "devices":
                params.update(rng.choice(({"ai": 1}, {"area": rng.choice(AREAS)}, {"class": 3}, {},
                                          {"sort": rng.choice(("cert", "-issued", "name"))})))
            out.append(f"/{kind}?" + qs({k: v for k, v in params.items() if v != ""}))
        elif roll < 0.50:
            out.append(rng.choice((f"/devices/{did()}", f"/policies/{pid()}", f"/companies/{rng.randint(1, 1000)}")))
        elif roll < 0.65:
            out.append(rng.choice((f"/api/v1/devices?q={rng.choice(TARGETS)}&per_page=50&page={rng.randint(1, 4)}",
                                   f"/api/v1/devices/{did()}", f"/api/v1/policies?page={rng.randint(1, 20)}",
                                   f"/api/v1/policies/{pid()}", "/api/v1/tags", "/api/v1/runs")))
        elif roll < 0.69:
            big = rng.random() < 0.06  # about one request in 400 overall
            fmt = rng.choice(("csv", "json", "xlsx"))
            query = "ai=1" if big else qs({"q": rng.choice(TARGETS[:8])})
            out.append(f"/export/devices.{fmt}?{query}")
        elif roll < 0.74:
            out.append(rng.choice(("/feeds/devices.atom", f"/feeds/devices.atom?q={rng.choice(TARGETS)}",
                                   "/feeds/policies.atom", "/feeds/devices.atom?ai=1")))
        elif roll < 0.80:
            out.append(rng.choice(("/", "/taxonomy", "/sources", "/companies?q=医疗", "/subscribe")))
        else:
            out.append(hostile())
    return out


class Load:
    """Sends the paths from `--clients` threads; counts statuses; calls `at(n)` when n requests are done."""

    def __init__(self, base: str, paths: list[str], clients: int, at) -> None:
        self.base, self.paths, self.clients, self.at = base, paths, clients, at
        self.statuses: Counter = Counter()
        self.done = 0
        self._next = 0
        self._lock = threading.Lock()

    def _take(self) -> str | None:
        with self._lock:
            if self._next >= len(self.paths):
                return None
            self._next += 1
            return self.paths[self._next - 1]

    def _client(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while (path := self._take()) is not None:
                try:
                    status = client.get(path).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with self._lock:
                    self.statuses[status] += 1
                    self.done += 1
                    done = self.done
                if done in CHECKPOINTS:
                    self.at(done)

    def run(self) -> float:
        started = time.monotonic()
        threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - started


def traced(paths: list[str], db: Path, work: Path) -> None:
    """The mix through the app in this process with tracemalloc on; prints what grew after a warm-up."""
    import tracemalloc

    from tracker.config import Settings
    from web import create_app

    client = create_app(Settings(var_dir=work, database_url=f"sqlite:///{db}")).test_client()
    warm = min(2_000, len(paths) // 4)
    statuses: Counter = Counter()
    tracemalloc.start(4)
    for i, path in enumerate(paths):
        if i == warm:
            before = tracemalloc.take_snapshot()
            rss_before = rss_mib(os.getpid())
        statuses[client.get(path).status_code] += 1
    after = tracemalloc.take_snapshot()
    print(f"requests {warm:,} → {len(paths):,}: RSS {rss_before:.1f} → {rss_mib(os.getpid()):.1f} MiB; traced "
          f"{sum(s.size for s in before.statistics('filename')) / 2**20:.1f} → "
          f"{sum(s.size for s in after.statistics('filename')) / 2**20:.1f} MiB")
    print("statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items())))
    for stat in after.compare_to(before, "traceback")[:8]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
              + " <- ".join(f"{f.filename.split('/site-packages/')[-1]}:{f.lineno}" for f in stat.traceback))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=None,
                        help="override web/serving.py's max_requests (0: never recycle a worker)")
    parser.add_argument("--tracemalloc", action="store_true", help="in this process, with tracemalloc (no gunicorn)")
    args = parser.parse_args()

    store = ensure_store(args.devices, args.policies)
    work = Path(tempfile.mkdtemp(prefix="worker-memory-"))
    db = work / "tracker.sqlite3"
    shutil.copy(store, db)  # the cached store stays as seeded
    if args.tracemalloc:
        traced(requests_mix(args.requests, args.devices, args.policies), db, work)
        shutil.rmtree(work, ignore_errors=True)
        return
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}", "TRACKER_VAR_DIR": str(work),
           "TRACKER_PUBLIC_BASE_URL": base}
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:web.serving", "--bind", f"127.0.0.1:{port}",
           "--log-level", "warning"]
    if args.max_requests is not None:
        cmd += ["--max-requests", str(args.max_requests), "--max-requests-jitter", "0" if not args.max_requests
                else str(args.max_requests // 4)]
    log = work / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*cmd, "web:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=out)
    samples: dict[str, dict[int, float]] = {}

    def sample(label: str) -> None:
        samples[label] = {w: rss_mib(w) or 0.0 for w in workers_of(server.pid)}
        print(f"  {label}: " + ", ".join(f"{w} {v:.1f} MiB" for w, v in samples[label].items()), flush=True)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/devices", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not come up:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        sample("start (1 request)")
        paths = requests_mix(args.requests, args.devices, args.policies)
        load = Load(base, paths, args.clients, lambda n: sample(f"after {n:,}"))
        seconds = load.run()
        time.sleep(5)
        sample("after a 5 s rest")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"store: {args.devices:,} devices, {args.policies:,} policies ({store.name}); {args.requests:,} requests "
          f"from {args.clients} clients; max_requests "
          f"{'as in web/serving.py' if args.max_requests is None else args.max_requests}")
    pids = sorted({p for s in samples.values() for p in s})
    print(f"{'RSS MiB':24}" + "".join(f"{p:>10}" for p in pids))
    for label, values in samples.items():
        print(f"{label:24}" + "".join(f"{values[p]:>10.1f}" if p in values else f"{'-':>10}" for p in pids))
    print("statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(load.statuses.items(), key=str)))
    print(f"{args.requests / seconds:.0f} requests/s over {seconds:.1f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
