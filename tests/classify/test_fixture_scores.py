"""The classifier scored on real, publicly listed NMPA product names (tests/fixtures/classify/nmpa_names.json).

Each entry names the tags the product must get (AI products, imaging hardware of each modality) and the look-alike
tags it must not get (MR for implants, decision support for ECG machines, AI for rule-based calculation and genetic
products). The test prints precision and recall per tag (`pytest -s` shows the table) and holds the classifier to
every look-alike negative and to 95 % of the expected tags.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.classify.classifier import classify_device

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "classify" / "nmpa_names.json"
ENTRIES = json.loads(FIXTURE.read_text("utf-8"))["entries"]


def tags_of(entry: dict) -> set[str]:
    result = classify_device(name=entry["name"], **entry.get("fields", {}))
    return {f"{t.facet}:{t.code}" for t in result.tags}


def score() -> dict[str, dict[str, int]]:
    """Per tag: tp, fn (expected, given or not) and fp, tn (rejected look-alike, given or not)."""
    table: dict[str, dict[str, int]] = {}
    for entry in ENTRIES:
        got = tags_of(entry)
        for tag in entry["expect"]:
            table.setdefault(tag, dict.fromkeys(("tp", "fn", "fp", "tn"), 0))["tp" if tag in got else "fn"] += 1
        for tag in entry["reject"]:
            table.setdefault(tag, dict.fromkeys(("tp", "fn", "fp", "tn"), 0))["fp" if tag in got else "tn"] += 1
    return table


def test_every_entry_cites_its_source_and_says_what_it_expects():
    assert len(ENTRIES) == len({e["name"] for e in ENTRIES})
    for entry in ENTRIES:
        assert entry["source"]["title"], entry["name"]
        assert entry["source"]["seen"] is (entry["source"]["url"] is not None), entry["name"]
        assert entry["expect"] or entry["reject"], entry["name"]
        assert not set(entry["expect"]) & set(entry["reject"]), entry["name"]
    positives = sum(len(e["expect"]) for e in ENTRIES)
    negatives = sum(len(e["reject"]) for e in ENTRIES)
    assert positives >= 40 and negatives >= 40


def test_fixture_precision_and_recall_per_tag():
    table = score()
    print(f"\n{'tag':40} {'precision':>9} {'recall':>7}  tp fn fp tn")
    for tag, n in sorted(table.items()):
        given = n["tp"] + n["fp"]
        precision = f"{n['tp'] / given:.0%}" if given else "-"
        recall = f"{n['tp'] / (n['tp'] + n['fn']):.0%}" if n["tp"] + n["fn"] else "-"
        print(f"{tag:40} {precision:>9} {recall:>7}  {n['tp']:2} {n['fn']:2} {n['fp']:2} {n['tn']:2}")
    tp, fn = sum(n["tp"] for n in table.values()), sum(n["fn"] for n in table.values())
    fp, tn = sum(n["fp"] for n in table.values()), sum(n["tn"] for n in table.values())
    print(f"{'all':40} positives {tp}/{tp + fn} = {tp / (tp + fn):.1%}; negatives {tn}/{fp + tn} = {tn / (fp + tn):.1%}")
    wrong = [(e["name"], sorted(set(e["reject"]) & tags_of(e))) for e in ENTRIES if set(e["reject"]) & tags_of(e)]
    assert not wrong, f"look-alikes given a rejected tag: {wrong}"
    assert tp / (tp + fn) >= 0.95


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["reject"]], ids=lambda e: e["name"])
def test_no_look_alike_gets_a_rejected_tag(entry):
    assert not set(entry["reject"]) & tags_of(entry)
