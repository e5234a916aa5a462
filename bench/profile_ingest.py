"""Profile one UDI ingest (cProfile): where the store's time goes, on SQLite or PostgreSQL.

    .venv/bin/python bench/profile_ingest.py [N] [--db sqlite|postgresql] [--again] [--top 25]

Uses the synthetic release of `bench/udi_ingest.py` (bench/out/UDID_FULL_RELEASE_BENCH_<N>.zip, made when missing)
and prints the wall time and the functions with the most cumulative time, so a change to the store can be aimed at
its biggest part. With `--again` the release is ingested a second time into the same database and only that second
ingest is profiled (what `again` / `again_pg` measure).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from udi_ingest import make_zip  # noqa: E402


def ingest(zip_path: Path, url: str, *, again: bool = False) -> None:
    """One ingest of `zip_path` into the migrated database at `url` (a second one with `again`)."""
    from scrapers import udi
    from tracker.config import Settings
    from tracker.ingest.run import ingest_path
    from tracker.store.engine import make_engine, make_session_factory

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp) / "var", database_url=url, secret_key="bench")
        engine = make_engine(url)
        try:
            result = ingest_path(settings, make_session_factory(engine), udi, zip_path, is_sample=True,
                                 reprocess=again)
        finally:
            engine.dispose()
    print(f"  {result.summary().splitlines()[0]}")


def main(argv: list[str]) -> int:
    """Profile one ingest and print the top functions by cumulative time."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--again", action="store_true", help="profile a second ingest of the same release")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv[1:])
    from tracker.store.migrate import upgrade

    zip_path = make_zip(args.n)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.db == "sqlite":
            url = f"sqlite:///{tmp}/profile.sqlite3"
        else:
            from pgstore import new_database, scratch_cluster

            url = new_database(stack.enter_context(scratch_cluster()), "profile")
        upgrade(url)
        if args.again:
            ingest(zip_path, url)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        ingest(zip_path, url, again=args.again)
        profiler.disable()
        print(f"{args.db} {'second ' if args.again else ''}ingest of {args.n} rows: "
              f"{time.perf_counter() - started:.1f} s under the profiler")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
