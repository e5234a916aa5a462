"""Guidance ↔ device linking on a large store: what a small daily write costs, and a full recompute.

    .venv/bin/python bench/links.py [--devices 100000] [--policies 10000] [--repeat 3]

The store is `bench/web_seed.py`'s (seeded through `write_records` once, cached in bench/out/, shared with web.py);
each run works on a scratch copy. It times one daily device write first (the first in a process pays for reading
every guidance title once), brings the copy's links in line with the code under test (one full recompute,
committed: a store seeded by another version of the rules holds other links), then times, each `--repeat` times in
a transaction that is rolled back:

- `daily devices`: one `write_records` call with 5 changed and 5 new certificates (a daily UDI delta), 5 AI;
- `daily policies`: one `write_records` call with 2 new guidance documents (one specific, one general AI);
- `full recompute`: `link_policies_to_devices` on the up-to-date store (nothing changes, everything is read).

For the write scenarios it reports the whole call and, separately, the linking step inside it. The script only uses
entry points that exist before and after incremental linking, so it can be run from an older checkout
(`git archive <commit> | tar -x -C /tmp/old`, copy this file to /tmp/old/bench/, pass `--store`) to compare.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import web_seed  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tracker.ingest import write as ingest_write  # noqa: E402
from tracker.ingest import write as writer  # noqa: E402
from tracker.records import DeviceRecord, PolicyRecord  # noqa: E402
from tracker.store.engine import make_engine, make_session_factory  # noqa: E402
from tracker.store.models import Device, PolicyDevice  # noqa: E402
from tracker.store.write import WriteContext  # noqa: E402

# write_records calls refresh_links by the name tracker.ingest.write imported, so that is the name timed.
link_module, LINK_STEP = ingest_write, "refresh_links"
NOW = web_seed.T0 + timedelta(days=30)


class StepTimer:
    """Wraps the linking function write_records calls and adds up its time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original = getattr(link_module, LINK_STEP)

    def __enter__(self) -> "StepTimer":
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(link_module, LINK_STEP, timed)
        return self

    def __exit__(self, *exc) -> None:
        setattr(link_module, LINK_STEP, self.original)


def daily_devices(session, rng: random.Random) -> list[DeviceRecord]:
    """5 existing certificates (3 AI) with a new description, so reclassified and re-linked, and 5 new ones (2 AI)."""
    picked = []
    for ai in (True, False):
        picked += session.execute(select(Device.cert_no, Device.product_name).where(Device.is_ai.is_(ai))
                                  .order_by(Device.id).limit(3 if ai else 2)).all()
    changed = [DeviceRecord(cert_no=c, product_name=n, description="结构及组成：由软件安装包组成，基于深度学习算法。")
               for c, n in picked]
    fresh = []
    for i in range(5):
        name = web_seed.ai_product(rng)[0] if i < 2 else web_seed.plain_product(rng)[0]
        fresh.append(DeviceRecord(cert_no=f"国械注准20263{'21' if i < 2 else '13'}{8000 + i:04d}", product_name=name,
                                  registrant="基准医疗科技有限公司", mgmt_class=3, issued_on=date(2026, 10, 30)))
    return changed + fresh


def daily_policies() -> list[PolicyRecord]:
    """A specific software guidance and a general AI guidance, new."""
    titles = ("肺结节CT图像辅助检测软件注册审查指导原则（基准版）", "人工智能医疗器械注册审查指导原则（基准版）")
    return [PolicyRecord(title=t, url=f"https://policy.bench.invalid/daily/{i}.html", issuer="器审中心",
                         doc_type="指导原则", stage="issued", published_on=date(2026, 10, 30))
            for i, t in enumerate(titles)]


def timed_write(sessions, records_for) -> tuple[float, float]:
    """(whole write_records call, linking inside it) in seconds; the write is rolled back."""
    with sessions() as session:
        records = records_for(session)
        with StepTimer() as step:
            started = time.perf_counter()
            writer.write_records(session, records, WriteContext(source="bench", now=NOW))
            total = time.perf_counter() - started
        session.rollback()
    return total, step.seconds


def timed_full(sessions, commit: bool = False) -> float:
    """Seconds for one full recompute (committed when converging, else rolled back)."""
    full = ingest_write.link_policies_to_devices
    with sessions() as session:
        started = time.perf_counter()
        full(session, WriteContext(source="bench", now=NOW))
        seconds = time.perf_counter() - started
        session.commit() if commit else session.rollback()
    return seconds


def main() -> None:
    """Copy the store, converge its links, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="a seeded store to copy (default: seed or reuse bench/out/)")
    args = parser.parse_args()
    source = args.store or web_seed.ensure_store(args.devices, args.policies)
    scratch = web_seed.OUT / "links_scratch.sqlite3"
    web_seed.OUT.mkdir(parents=True, exist_ok=True)
    for leftover in web_seed.OUT.glob("links_scratch.sqlite3*"):
        leftover.unlink()
    shutil.copy(source, scratch)
    engine = make_engine(f"sqlite:///{scratch}")
    sessions = make_session_factory(engine)
    print(f"code under test: {link_module.__name__}.{LINK_STEP}; store {source.name}")
    rng = random.Random(7)
    first, first_step = timed_write(sessions, lambda s: daily_devices(s, rng))
    print(f"daily devices, first write in this process: {first:.2f} s (linking {first_step:.2f} s)")
    print(f"converge (full recompute, committed): {timed_full(sessions, commit=True):.2f} s")
    with sessions() as session:
        print(f"links: {session.scalar(select(func.count()).select_from(PolicyDevice)):,}")
    rows = {
        "daily devices": [timed_write(sessions, lambda s: daily_devices(s, rng)) for _ in range(args.repeat)],
        "daily policies": [timed_write(sessions, lambda s: daily_policies()) for _ in range(args.repeat)],
        "full recompute": [(timed_full(sessions), None) for _ in range(args.repeat)],
    }
    print(f"{'scenario':<16} {'median s':>9} {'best s':>8} {'linking median s':>17}")
    for name, runs in rows.items():
        totals = [t for t, _ in runs]
        steps = [s for _, s in runs if s is not None]
        step = f"{statistics.median(steps):17.3f}" if steps else f"{'':>17}"
        print(f"{name:<16} {statistics.median(totals):9.3f} {min(totals):8.3f} {step}")
    engine.dispose()
    for leftover in web_seed.OUT.glob("links_scratch.sqlite3*"):
        leftover.unlink()


if __name__ == "__main__":
    main()
