"""The benchmark stores on either database: web_seed's SQLite file, or the same seed in a PostgreSQL 15 cluster.

    with store_url("postgresql", 100_000, 10_000) as url: ...   # a running cluster holding the seeded store
    with scratch_cluster() as cluster: cluster.url("db")          # an empty throwaway cluster (ingest benchmarks)

The cluster is the test suite's (tests/pgcluster.py: initdb + pg_ctl on a free loopback port, run as the `postgres`
user when we are root, fsync off). The seeded one is kept between runs, like web_seed's SQLite file: its data folder
is bench/out/pg_web_<devices>_<policies>_v<SEED_VERSION>/ (seeded once through the same `web_seed.seed`, i.e. the
real write path, into a folder renamed when complete), started for the run and stopped cleanly after it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from web_seed import OUT, SEED_VERSION, ensure_store, seed  # noqa: E402

from tests.pgcluster import PgCluster, find_pg_bin, free_port  # noqa: E402

DBNAME = "tracker_bench"


def _pg_bin() -> Path:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql-15, or TRACKER_PG_BIN)")
    return bin_dir


class KeptCluster(PgCluster):
    """A PgCluster whose data folder is a given path that outlives the run (started again next time, not re-made)."""

    def __init__(self, bin_dir: Path, root: Path):
        super().__init__(bin_dir)
        shutil.rmtree(self.root, ignore_errors=True)  # the parent made a temporary folder we do not use
        self.root, self.data, self.port = root, root / "data", free_port()

    def start(self) -> "KeptCluster":
        """Start the cluster in `root` (initdb first when it has no data folder yet)."""
        if (self.data / "PG_VERSION").exists():
            options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "120",
                      "start")
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        return super().start()

    def stop(self) -> None:
        """A clean shutdown (the folder is kept)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop")


def _createdb(cluster: PgCluster, name: str) -> str:
    cmd = [str(cluster.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", name]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    return cluster.url(name)


def pg_store_root(devices: int, policies: int) -> Path:
    """Where the seeded cluster for these sizes is kept."""
    return OUT / f"pg_web_{devices}_{policies}_v{SEED_VERSION}"


@contextmanager
def seeded_cluster(devices: int, policies: int, log=print) -> Iterator[str]:
    """A running PostgreSQL cluster holding web_seed's store for these sizes (seeded once); yields its URL."""
    from tracker.store.migrate import upgrade

    root = pg_store_root(devices, policies)
    fresh = not (root / "data" / "PG_VERSION").exists()
    target = root.with_name(root.name + ".partial") if fresh else root
    if fresh:
        shutil.rmtree(target, ignore_errors=True)
    cluster = KeptCluster(_pg_bin(), target).start()
    try:
        if fresh:
            url = _createdb(cluster, DBNAME)
            log(f"seeding {devices:,} devices and {policies:,} policies into PostgreSQL ({target.name}, once) …")
            timings = seed(url, devices, policies, log)
            log("  seeded in " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
            cluster.stop()
            target.rename(root)
            cluster = KeptCluster(_pg_bin(), root).start()
        url = cluster.url(DBNAME)
        upgrade(url)  # a store seeded before a schema change gets it the way a real one would
        yield url
    finally:
        cluster.stop()


@contextmanager
def store_url(db: str, devices: int, policies: int, log=print) -> Iterator[str]:
    """The seeded store's SQLAlchemy URL on `db` ("sqlite" or "postgresql"), available inside the block."""
    if db == "sqlite":
        yield f"sqlite:///{ensure_store(devices, policies, log)}"
        return
    with seeded_cluster(devices, policies, log) as url:
        yield url


@contextmanager
def scratch_cluster() -> Iterator[PgCluster]:
    """An empty throwaway cluster (removed afterwards); `new_database(cluster, name)` gives a fresh database in it."""
    cluster = PgCluster(_pg_bin()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def new_database(cluster: PgCluster, name: str) -> str:
    """Create database `name` in `cluster`; returns its URL."""
    return _createdb(cluster, name)


def main() -> None:
    """Seed (or reuse) the PostgreSQL store and print what it holds."""
    import argparse

    from web_seed import describe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    args = parser.parse_args()
    with seeded_cluster(args.devices, args.policies) as url:
        print(pg_store_root(args.devices, args.policies), describe(url))


if __name__ == "__main__":
    main()
