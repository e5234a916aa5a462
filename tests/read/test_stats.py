"""Aggregates of the dashboard and the taxonomy page: a subtree count holds the node and its sub-codes, and nothing
that merely looks like them to a LIKE pattern (taxonomy codes contain `_`, a LIKE wildcard)."""
from __future__ import annotations

from tracker.read.stats import taxonomy_counts
from tracker.store.models import Device, Tag


def _device(session, n: int, clock) -> int:
    device = Device(cert_no=f"国械注准2023321{9000 + n}", product_name=f"样例软件{n}", first_seen=clock(),
                    updated_at=clock())
    session.add(device)
    session.flush()
    return device.id


def _tag(session, device_id: int, code: str, clock) -> None:
    session.add(Tag(entity_type="device", entity_id=device_id, facet="area", code=code, method="rule",
                    taxonomy_version="t", created_at=clock(), updated_at=clock()))


def test_an_area_counts_its_subtree_and_no_look_alike_code(sessions, clock):
    with sessions.begin() as session:
        ct, parent, look_alike = (_device(session, n, clock) for n in range(3))
        _tag(session, ct, "medical_imaging.ct", clock)
        _tag(session, parent, "medical_imaging", clock)
        _tag(session, look_alike, "medicalXimaging.ct", clock)  # `_` would match X in an unescaped LIKE
    with sessions() as session:
        counts = taxonomy_counts(session)["device"]
    assert counts["medical_imaging"] == 2
    assert counts["medical_imaging.ct"] == 1
