"""Full-text search p95 at 10,000 documents of 20 pages, on SQLite and on PostgreSQL, with 8 concurrent clients.

    .venv/bin/python bench/search_fulltext.py [--docs 10000] [--pages 20] [--clients 8] [--queries 400] [--db both]

Corpus (synthetic, kept in bench/out/ and re-used): `docs` policies, each with one attachment of `pages` pages of
about 700 characters, plus the policy's own body (page 0): docs × (pages + 1) passages. Text is made of "words" of
2–4 characters drawn from 2,500 CJK characters with Zipf weights (character and word frequencies fall off as in
real Chinese text), in sentences with Chinese punctuation and clause numbers (第X条). The passages go in through the
real tables and the index triggers of migration 0009 (FTS5 on SQLite, GIN on PostgreSQL); the store's schema is made
by the real migrations.

Queries: the real `tracker.read.fulltext.search` (candidates from the bigram index, the escaped LIKE, 20 hits + 1,
snippets and the owner lookups), 8 threads each with its own session, a mix drawn per query: a frequent word
(rank ≤ 50), a middle one (rank 500–2,000), a rare one (rank ≥ 20,000), two words at once, and a 4-character
string found nowhere; plus, every fifth query, the lists' filter stage=issued. Reported per database: p50, p95,
max, queries/s. Baseline (the ratio printed): the same queries through one client with the bigram index left out
(the plain LIKE scan), on a 40-query sample. Load average before and after is printed (the machine is shared).
Goal (issue 16): p95 ≤ 150 ms at 8 clients on both databases.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert, text  # noqa: E402

from tests.pgcluster import find_pg_bin  # noqa: E402
from tracker.read import fulltext  # noqa: E402
from tracker.read.filters import PolicyFilter  # noqa: E402
from tracker.store.engine import make_engine, make_session_factory  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402
from tracker.store.models import AttachmentFile, Passage, Policy, PolicyAttachment  # noqa: E402

OUT = ROOT / "bench" / "out"
PAGE_CHARS = 700
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
PUNCT = "，，，、。；"


class Language:
    """A seeded synthetic vocabulary: characters and words with Zipf weights."""

    def __init__(self, seed: int = 16) -> None:
        rng = random.Random(seed)
        chars = [chr(c) for c in rng.sample(range(0x4E00, 0x9FA5), 2500)]
        char_weights = [1 / (i + 1) for i in range(len(chars))]
        words: list[str] = []
        seen: set[str] = set()
        while len(words) < 40_000:
            word = "".join(rng.choices(chars, char_weights, k=rng.choice((2, 2, 3, 4))))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self.cum = list(_accumulate([1 / (i + 1) ** 1.05 for i in range(len(words))]))

    def page(self, rng: random.Random, number: int) -> str:
        """About PAGE_CHARS characters of sentences, opening with a clause number."""
        out = [f"第{number}条"]
        size = 0
        while size < PAGE_CHARS:
            sentence = "".join(rng.choices(self.words, cum_weights=self.cum, k=rng.randint(6, 14)))
            sentence += rng.choice(PUNCT)
            out.append(sentence)
            size += len(sentence)
        return "".join(out)


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def build(url: str, docs: int, pages: int, log=print) -> None:
    """Migrate and fill an empty database with the corpus (through the real tables and index triggers)."""
    upgrade(url)
    engine = make_engine(url)
    lang, rng = Language(), random.Random(1)
    start = time.perf_counter()
    with engine.begin() as conn:
        for first in range(0, docs, 500):
            ids = range(first + 1, min(docs, first + 500) + 1)
            conn.execute(insert(Policy), [dict(
                id=i, key=f"bench:{i}", title=f"合成指导原则{i}", title_key=f"合成指导原则{i}", issuer="器审中心",
                doc_type="指导原则", stage="issued" if i % 4 else "draft", published_on=date(2020, 1, 1),
                url=f"https://bench.example/{i}.html", body=lang.page(rng, 1), attachments=[], status="active",
                is_ai=bool(i % 2), is_sample=True, field_sources={}, first_seen=T0, updated_at=T0) for i in ids])
            conn.execute(insert(AttachmentFile), [dict(
                id=i, url=f"https://bench.example/{i}.pdf", source="bench", name=f"附件{i}.pdf", declared_type="pdf",
                detected_type="pdf", state="ok", pages=pages, chars=pages * PAGE_CHARS, is_sample=True,
                extracted_at=T0) for i in ids])
            conn.execute(insert(PolicyAttachment), [dict(policy_id=i, attachment_id=i, position=0, name=f"附件{i}.pdf")
                                                    for i in ids])
            conn.execute(insert(Passage), [dict(policy_id=i, page_no=0, text=lang.page(rng, 1)) for i in ids])
            conn.execute(insert(Passage), [dict(attachment_id=i, page_no=p, text=lang.page(rng, p + 1))
                                           for i in ids for p in range(1, pages + 1)])
            if first % 2000 == 0:
                log(f"  {first + len(ids):,} / {docs:,} documents, {time.perf_counter() - start:.0f} s")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("policy", "attachment", "passage", "policy_attachment"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    log(f"  built in {time.perf_counter() - start:.0f} s")


def queries(n: int, seed: int = 7) -> list[PolicyFilter]:
    """The query mix (see module docstring)."""
    lang, rng = Language(), random.Random(seed)
    out = []
    for k in range(n):
        kind = k % 5
        if kind == 0:
            q = rng.choice(lang.words[:50])
        elif kind == 1:
            q = rng.choice(lang.words[500:2000])
        elif kind == 2:
            q = rng.choice(lang.words[20_000:])
        elif kind == 3:
            q = f"{rng.choice(lang.words[:200])} {rng.choice(lang.words[200:2000])}"
        else:
            q = "".join(rng.choices([chr(c) for c in range(0x4E00, 0x4E80)], k=4))
        out.append(PolicyFilter(q=q, per_page=20, stage="issued" if k % 5 == 4 or k % 10 == 3 else None))
    return out


def run_clients(url: str, work: list[PolicyFilter], clients: int) -> tuple[list[float], float]:
    """Run `work` through `clients` threads (each its own session); returns latencies (s) and wall time."""
    engine = make_engine(url, pool_size=clients + 2) if url.startswith("postgresql") else make_engine(url)
    sessions = make_session_factory(engine)
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(list(enumerate(work)))

    def client() -> None:
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            with sessions() as session:
                start = time.perf_counter()
                fulltext.search(session, item[1])
                took = time.perf_counter() - start
            with lock:
                latencies.append(took)

    for f in work[:10]:  # warm the caches and the pool once
        with sessions() as session:
            fulltext.search(session, f)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    engine.dispose()
    return latencies, wall


@contextmanager
def _no_index() -> Iterator[None]:
    """The search without the bigram candidates: the plain LIKE scan (the baseline)."""
    from tracker.read import search as read_search

    original, window = read_search.search_index.search_clauses, fulltext.SCAN_WINDOW
    read_search.search_index.search_clauses = lambda entity_type, terms: []
    fulltext.SCAN_WINDOW = 0  # nor the newest-passages shortcut: the scan alone
    try:
        yield
    finally:
        read_search.search_index.search_clauses, fulltext.SCAN_WINDOW = original, window


def baseline(url: str, work: list[PolicyFilter]) -> list[float]:
    """One client, no index, a sample of the queries."""
    with _no_index():
        latencies, _ = run_clients(url, work, 1)
    return latencies


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(name: str, latencies: list[float], wall: float, base: list[float]) -> None:
    """Print one database's figures."""
    ms = [x * 1000 for x in latencies]
    bms = [x * 1000 for x in base]
    p95 = pct(ms, 95)
    print(f"{name:10} queries {len(ms)}  p50 {pct(ms, 50):7.1f} ms  p95 {p95:7.1f} ms  max {max(ms):7.1f} ms  "
          f"{len(ms) / wall:6.1f} q/s   goal p95 ≤ 150 ms: {'met' if p95 <= 150 else 'NOT met'}")
    print(f"{'':10} baseline (LIKE scan, no index, 1 client, {len(bms)} queries): p50 {pct(bms, 50):7.1f} ms  "
          f"p95 {pct(bms, 95):7.1f} ms;  ratio p50 indexed@8 / scan@1: {pct(ms, 50) / pct(bms, 50):.3f}")


def sqlite_url(docs: int, pages: int) -> str:
    """The kept SQLite corpus (built once)."""
    path = OUT / f"fulltext_{docs}x{pages}.sqlite3"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        print(f"building the SQLite corpus ({docs:,} × {pages} pages, once) …")
        build(f"sqlite:///{partial}", docs, pages)
        partial.rename(path)
    return f"sqlite:///{path}"


@contextmanager
def postgres_url(docs: int, pages: int) -> Iterator[str]:
    """A kept PostgreSQL cluster holding the corpus (built once), started for the run."""
    from pgstore import KeptCluster, _createdb

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found")
    root = OUT / f"pg_fulltext_{docs}x{pages}"
    fresh = not (root / "data" / "PG_VERSION").exists()
    target = root.with_name(root.name + ".partial") if fresh else root
    if fresh:
        import shutil

        shutil.rmtree(target, ignore_errors=True)
    cluster = KeptCluster(bin_dir, target).start()
    try:
        if fresh:
            url = _createdb(cluster, "fulltext")
            print(f"building the PostgreSQL corpus ({docs:,} × {pages} pages, once) …")
            build(url, docs, pages)
            cluster.stop()
            target.rename(root)
            cluster = KeptCluster(bin_dir, root).start()
        yield cluster.url("fulltext")
    finally:
        cluster.stop()


def main() -> None:
    """Build (once) and measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    work = queries(args.queries)
    sample = work[:40]
    print(f"corpus: {args.docs:,} documents × ({args.pages} attachment pages + body) of ~{PAGE_CHARS} characters")
    if args.db in ("sqlite", "both"):
        url = sqlite_url(args.docs, args.pages)
        print("load average before: %.2f %.2f %.2f" % os.getloadavg())
        latencies, wall = run_clients(url, work, args.clients)
        report("SQLite", latencies, wall, baseline(url, sample))
        print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    if args.db in ("postgresql", "both"):
        with postgres_url(args.docs, args.pages) as url:
            print("load average before: %.2f %.2f %.2f" % os.getloadavg())
            latencies, wall = run_clients(url, work, args.clients)
            report("PostgreSQL", latencies, wall, baseline(url, sample))
            print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
