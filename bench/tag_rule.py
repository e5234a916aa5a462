"""Benchmark: reading effective tags from tag rows (tracker.read.tags.effective_by_entity, on tracker.store.tag_rule)
against the reading it replaced (the loop of tracker/tag_queries.py before the redesign, kept here as the baseline).

    .venv/bin/python bench/tag_rule.py [ROWS]     # default 200000 synthetic tag rows, 5 per entity

A digest or an export reads the tags of tens of thousands of entities this way, so one home for the rule must not
make it slower. Both run interleaved, 7 rounds, in one process; medians and the ratio are printed.
"""
from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.read.tags import _taxonomy_order, effective_by_entity  # noqa: E402


def baseline(tag_rows):
    """The pre-redesign reading (commit 8406193, tracker/tag_queries.py: effective_by_entity)."""
    kept, removed = {}, set()
    for t in tag_rows:
        if not t.active:
            continue
        if t.method == "reviewer" and t.decision == "remove":
            removed.add((t.entity_id, t.facet, t.code))
        elif t.method == "rule" or t.decision in ("add", "confirm"):
            kept.setdefault(t.entity_id, set()).add((t.facet, t.code))
    order = _taxonomy_order()
    return {
        entity_id: sorted(((f, c) for f, c in pairs if (entity_id, f, c) not in removed),
                          key=lambda fc: (fc[0] != "ai", order.get(fc[1], 10_000), fc[1]))
        for entity_id, pairs in kept.items()
    }


def rows_of(n: int) -> list[SimpleNamespace]:
    rng = random.Random(1)
    codes = [f"medical_imaging.c{i}" for i in range(30)]
    return [SimpleNamespace(entity_id=i // 5, facet=rng.choice(["area", "disease", "function", "ai"]),
                            code=rng.choice(codes), method=rng.choice(["rule"] * 8 + ["reviewer"] * 2),
                            decision=rng.choice(["add", "confirm", "remove"]), active=rng.random() < 0.9)
            for i in range(n)]


def main(argv: list[str]) -> int:
    rows = rows_of(int(argv[1]) if len(argv) > 1 else 200_000)
    same = {k: set(v) for k, v in baseline(rows).items() if v} == {k: set(v) for k, v in effective_by_entity(rows).items()}
    times: dict[str, list[float]] = {"baseline": [], "tag_rule": []}
    for _ in range(7):
        for name, fn in (("baseline", baseline), ("tag_rule", effective_by_entity)):
            start = time.perf_counter()
            fn(rows)
            times[name].append(time.perf_counter() - start)
    print(f"{len(rows)} tag rows; same effective tags: {same}")
    for name, values in times.items():
        print(f"{name:9} median {statistics.median(values) * 1000:7.1f} ms   best {min(values) * 1000:7.1f} ms")
    print(f"tag_rule / baseline (medians): {statistics.median(times['tag_rule']) / statistics.median(times['baseline']):.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
