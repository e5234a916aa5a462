"""tracker.read.lists and tracker.read.asof as plain functions: LIKE escaping against real SQLite and PostgreSQL, filter
round trips through URL arguments, the effective-tag rule, and rebuilding a record from its revisions."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from tracker.classify import taxonomy
from tracker.read.asof import end_of_day, replay
from tracker.read.filters import MAX_QUERY_CHARS, DeviceFilter, PolicyFilter, search_terms
from tracker.read.search import escape_like
from tracker.read.tags import effective_by_entity
from tracker.store.engine import make_engine
from tracker.store.models import Revision, Tag

TEXT = st.text(alphabet=st.sampled_from("%_\\'\"abc 器械肺炎-[]^*?"), max_size=12)


def _like_agrees(engine, haystack: str, needle: str) -> None:
    expr = literal(haystack).ilike(f"%{escape_like(needle)}%", escape="\\")
    with engine.connect() as conn:
        assert conn.execute(select(expr)).scalar_one() == (needle in haystack), (haystack, needle)


@hsettings(max_examples=200, deadline=None)
@given(haystack=TEXT, needle=TEXT)
def test_escaped_like_is_a_plain_substring_test_on_sqlite(haystack, needle):
    _like_agrees(_SQLITE, haystack, needle)


_SQLITE = make_engine("sqlite://")


@pytest.mark.postgres
def test_escaped_like_is_a_plain_substring_test_on_postgres(pg_cluster):
    engine = make_engine(pg_cluster.url("tracker_template"))

    @hsettings(max_examples=150, deadline=None)
    @given(haystack=TEXT, needle=TEXT)
    def check(haystack, needle):
        _like_agrees(engine, haystack, needle)

    try:
        check()
    finally:
        engine.dispose()


def test_search_terms():
    assert search_terms("  肺结节   CT ") == ("肺结节", "CT")
    assert search_terms("ＣＴ　肺炎") == ("CT", "肺炎")  # NFKC: full-width letters and the ideographic space
    assert search_terms("a a b") == ("a", "b")
    assert search_terms("x" * 500) == ("x" * MAX_QUERY_CHARS,)
    assert search_terms(" ".join(str(i) for i in range(20))) == tuple(str(i) for i in range(8))
    assert search_terms(None) == ()


DEVICE_ARGS = st.fixed_dictionaries({}, optional={
    "q": st.text(alphabet="肺结节CT%_ '", min_size=1, max_size=10).map(lambda s: " ".join(s.split())).filter(bool),
    "area": st.sampled_from([n.code for n in taxonomy.nodes("area") if not n.parent]),
    "sub": st.sampled_from([n.code for n in taxonomy.nodes("area") if n.parent]),
    "disease": st.sampled_from([n.code for n in taxonomy.nodes("disease")]),
    "ai": st.just("1"),
    "class": st.sampled_from(["2", "3"]),
    "origin": st.sampled_from(["domestic", "imported", "hmt"]),
    "year": st.integers(1990, 2030).map(str),
    "issued_from": st.dates(date(2000, 1, 1), date(2030, 1, 1)).map(date.isoformat),
    "event": st.sampled_from(["renewal", "correction"]),
    "event_to": st.dates(date(2000, 1, 1), date(2030, 1, 1)).map(date.isoformat),
    "registrant": st.sampled_from(["示例", "Example GmbH"]),
    "data": st.sampled_from(["live", "sample"]),
    "sort": st.sampled_from(["cert", "-year", "name"]),
    "page": st.integers(2, 50).map(str),
    "per_page": st.integers(1, 200).map(str),
})


@given(DEVICE_ARGS)
def test_device_filter_round_trips_through_url_arguments(args):
    f = DeviceFilter.from_args(args)
    assert DeviceFilter.from_args(f.to_args()) == f
    assert f.to_args() == {k: v for k, v in args.items() if not (k == "per_page" and v == "50")}


def test_policy_filter_arguments():
    f = PolicyFilter.from_args({"type": "guidance", "issuer": "nmpa", "stage": "draft", "date_from": "2024-01-01",
                                "scenario": "nhc.primary_care", "area": "medical_imaging.ct", "bogus": "x"})
    assert f.doc_type == "guidance" and f.date_from == date(2024, 1, 1)
    assert f.to_args() == {"area": "medical_imaging.ct", "type": "guidance", "issuer": "nmpa", "stage": "draft",
                           "scenario": "nhc.primary_care", "date_from": "2024-01-01"}
    assert PolicyFilter.from_args({"type": "nmpa", "issuer": "guidance"}) == PolicyFilter()  # wrong facets
    assert DeviceFilter.from_args({"area": "medical_imaging.ct", "sub": "medical_imaging"}) == DeviceFilter()


def test_filter_change_goes_back_to_page_one():
    f = DeviceFilter(page=4, ai=True)
    assert f.replace(area="medical_imaging").page == 1
    assert f.replace(page=5).page == 5


def _tag(entity_id, facet, code, method="rule", decision=None, active=True):
    return Tag(entity_id=entity_id, facet=facet, code=code, method=method, decision=decision, active=active)


def test_effective_tags_follow_reviewer_decisions():
    rows = [
        _tag(1, "area", "medical_imaging.ct"),
        _tag(1, "disease", "lung_nodule"),
        _tag(1, "disease", "lung_nodule", "reviewer", "remove"),
        _tag(1, "function", "detection", active=False),
        _tag(1, "site", "chest_lung", "reviewer", "add"),
        _tag(1, "disease", "pneumonia", "reviewer", "remove", active=False),
        _tag(1, "disease", "pneumonia"),
        _tag(2, "area", "medical_imaging.mr", "reviewer", "confirm"),
    ]
    assert effective_by_entity(rows) == {
        1: [("area", "medical_imaging.ct"), ("site", "chest_lung"), ("disease", "pneumonia")],
        2: [("area", "medical_imaging.mr")],
    }


def _rev(field, old, new, at, rid):
    return Revision(id=rid, entity_type="device", entity_id=1, field=field, old_value=old, new_value=new,
                    changed_at=at)


def test_replay_rebuilds_fields_identifiers_and_tags():
    t1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    t2 = datetime(2026, 2, 1, tzinfo=timezone.utc)
    revisions = [
        _rev("product_name", None, "甲软件", t1, 1),
        _rev("udi_di", None, "0692", t1, 2),
        _rev("udi_di", None, "0691", t1, 3),
        _rev("tags", "", "ai:ai\narea:medical_imaging.ct", t1, 4),
        _rev("product_name", "甲软件", "乙软件", t2, 5),
        _rev("tags", "ai:ai\narea:medical_imaging.ct", "area:medical_imaging.ct", t2, 6),
        _rev("withdrawn_on", None, "2026-02-01", t2, 7),
    ]
    state = replay(revisions, t2)
    assert state.fields == {"product_name": "乙软件", "withdrawn_on": "2026-02-01"}
    assert state.identifiers == ["0691", "0692"] and state.tags == ["area:medical_imaging.ct"]
    assert state.existed and state.last_change == t2
    early = replay(revisions[:4], t1)
    assert early.fields == {"product_name": "甲软件"} and early.tags == ["ai:ai", "area:medical_imaging.ct"]
    assert not replay([], t1).existed


def test_end_of_day_is_local():
    moment = end_of_day(date(2026, 11, 14), "Asia/Shanghai")
    assert moment.astimezone(timezone.utc) == datetime(2026, 11, 14, 15, 59, 59, 999999, tzinfo=timezone.utc)
