"""The effective-tag rule (tracker.store.tag_rule) gives the same answer in Python and in SQL, on SQLite and
PostgreSQL, for any mix of rule tags, reviewer decisions and inactive rows."""
from __future__ import annotations

import itertools
import random

from sqlalchemy import delete, select

from tracker.read.tags import effective_tags
from tracker.store import tag_rule
from tracker.store.models import Tag

PAIRS = [("area", "medical_imaging.ct"), ("disease", "lung_nodule"), ("ai", "ai")]
ROW_KINDS = [("rule", None)] + [("reviewer", d) for d in tag_rule.DECISIONS]


def _random_rows(rng: random.Random, clock) -> list[dict]:
    rows = []
    for entity_id, (facet, code) in itertools.product(range(1, 5), PAIRS):
        # at most one row per (entity, facet, code, method): the table's unique key
        for method, decision in rng.sample([ROW_KINDS[0], rng.choice(ROW_KINDS[1:])], rng.randint(0, 2)):
            rows.append(dict(entity_type="device", entity_id=entity_id, facet=facet, code=code, method=method,
                             decision=decision, active=rng.random() < 0.8, taxonomy_version="t", confidence=1.0,
                             evidence=[], created_at=clock(), updated_at=clock()))
    return rows


def test_python_and_sql_agree_on_random_tag_rows(sessions, clock):
    rng = random.Random(12)
    for _ in range(25):
        rows = _random_rows(rng, clock)
        with sessions.begin() as session:
            session.execute(delete(Tag))
            if rows:
                session.execute(Tag.__table__.insert(), rows)
        with sessions() as session:
            in_sql: dict[int, set] = {}
            for entity_id, facet, code in session.execute(effective_tags("device")):
                in_sql.setdefault(entity_id, set()).add((facet, code))
            stored = session.execute(select(Tag)).scalars().all()
        assert tag_rule.effective_by_entity(stored) == in_sql == tag_rule.effective_by_entity(rows)


def test_a_removal_overrules_the_classifier_and_an_addition_stands_alone():
    rule = dict(entity_id=1, facet="area", code="medical_imaging.ct", method="rule", decision=None, active=True)
    removal = dict(rule, method="reviewer", decision="remove")
    addition = dict(rule, code="medical_imaging.mr", method="reviewer", decision="add")
    inactive_removal = dict(removal, active=False)
    assert tag_rule.effective_codes([rule, removal, addition]) == ["area:medical_imaging.mr"]
    assert tag_rule.effective_codes([rule, inactive_removal]) == ["area:medical_imaging.ct"]
    assert tag_rule.effective_codes([dict(rule, active=False)]) == []
