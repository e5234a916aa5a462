"""The bigram search index: never loses a match (property test), gives exactly the rows of the plain substring scan
on SQLite and PostgreSQL, follows every insert, change and delete, is filled by its migration, and takes hostile
queries as text."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select, text

from tracker.ingest.write import write_records
from tracker.read import filters, lists
from tracker.read import search as read_search
from tracker.records import DeviceRecord, PolicyRecord
from tracker.store import bigrams
from tracker.store import search as search_index
from tracker.store.migrate import downgrade, upgrade
from tracker.store.models import Device
from tracker.store.write import WriteContext, record_document

DEVICES = [
    DeviceRecord(cert_no="国械注准20203219911", product_name="肺结节CT影像辅助检测软件", registrant="示例医疗科技有限公司",
                 catalogue_code="21-04-02", description="基于深度学习的肺结节检测", brand="Lung-AI"),
    DeviceRecord(cert_no="国械注准20213219912", product_name="肺炎CT影像辅助分诊与评估软件", registrant="样例智能科技有限公司",
                 catalogue_code="21-04-02", description="新型冠状病毒肺炎 CT 影像"),
    DeviceRecord(cert_no="国械注进20223219913", product_name="Coronary OCT image analysis software",
                 registrant="Example Imaging GmbH", catalogue_code="21-02", description="冠脉 OCT 图像"),
    DeviceRecord(cert_no="国械注准20183219914", product_name="结构_化报告软件 100%版", registrant="样例智能科技有限公司",
                 catalogue_code="21-02"),
    DeviceRecord(cert_no="国械注准20193219915", product_name="一次性使用无菌注射器", registrant="某某医疗器械有限公司",
                 catalogue_code="14-01"),
]
POLICY = PolicyRecord(title="人工智能医疗器械注册审查指导原则", issuer="国家药品监督管理局", doc_no="2022年第8号",
                      url="https://example.invalid/ai.html", summary="规范人工智能医疗器械注册申报")
TERMS = ["肺炎", "肺结", "器械", "CT", "ct", "oct", "OCT image", "Lung-AI", "lung-", "100%", "结构_化", "_", "%", "肺",
         "影像 肺炎", "20213219912", "国械注", "不存在", '"肺炎"', "肺炎 OR 器械", "' OR 1=1 --", "NEAR(肺炎)", "*",
         "肺炎*", "a\\b", "GmbH", "gmbh"]


def _write(sessions, records, now):
    with sessions.begin() as session:
        doc = record_document(session, source="udi", url="https://udi.example/f.zip", fetched_at=now,
                              sha256="0" * 64, size=1)
        write_records(session, records, WriteContext(source="udi", now=now, document_id=doc))


def _scan(session, term_query: str) -> list[int]:
    """What the search returns without the index: the plain LIKE conditions alone."""
    terms = filters.search_terms(term_query)
    stmt = select(Device.id).where(read_search.matches_all(terms, search_index.SEARCHABLE["device"]))
    return sorted(session.execute(stmt).scalars())


def _search(session, term_query: str) -> list[int]:
    stmt = lists.device_select(filters.DeviceFilter(q=term_query)).with_only_columns(Device.id)
    return sorted(session.execute(stmt).scalars())


def test_search_gives_exactly_the_rows_of_the_scan(sessions, clock):
    _write(sessions, DEVICES + [POLICY], clock())
    with sessions() as session:
        found_any = 0
        for term in TERMS:
            assert _search(session, term) == _scan(session, term), term
            found_any += bool(_search(session, term))
        assert found_any >= 15  # the terms are not all misses
        assert len(_search(session, "肺炎")) == 1 and len(_search(session, "CT")) == 3
        policies = session.execute(lists.policy_select(filters.PolicyFilter(q="器械 注册"))).scalars().all()
        assert [p.title for p in policies] == [POLICY.title]


def test_index_narrows_on_sqlite(sessions, clock, db_url):
    """On SQLite the statement asks the FTS5 table; the index really holds the rows (not a no-op clause)."""
    _write(sessions, DEVICES, clock())
    with sessions() as session:
        sql = str(lists.device_select(filters.DeviceFilter(q="肺炎")).compile(session.bind))
        if not db_url.startswith("sqlite"):
            assert "device_search" not in sql
            return
        assert "device_search MATCH" in sql
        rows = session.execute(text("SELECT count(*) FROM device_search WHERE device_search MATCH '\"肺炎\"'"))
        assert rows.scalar_one() == 1


def test_changed_record_is_found_by_its_new_text_only(sessions, clock):
    _write(sessions, DEVICES, clock())
    renamed = replace(DEVICES[1], product_name="肺部感染CT影像辅助分诊软件", description="感染病灶")
    _write(sessions, [renamed], clock.advance(days=1))
    with sessions() as session:
        assert _search(session, "肺炎") == [] == _scan(session, "肺炎")
        assert _search(session, "感染") == _scan(session, "感染") and len(_search(session, "感染")) == 1


def test_rows_written_by_any_code_path_are_indexed(sessions, clock):
    """Triggers, not the writer, keep the index: a row inserted, renamed or deleted through plain SQL follows."""
    with sessions.begin() as session:
        session.add(Device(cert_no="国械注准20243219919", product_name="心电图自动分析软件", first_seen=clock(),
                           updated_at=clock()))
    with sessions() as session:
        assert _search(session, "心电") == _scan(session, "心电") != []
    with sessions.begin() as session:
        session.execute(text("UPDATE device SET product_name = '脑电图分析软件' WHERE cert_no = '国械注准20243219919'"))
    with sessions() as session:
        assert _search(session, "心电") == [] and _search(session, "脑电") == _scan(session, "脑电") != []
    with sessions.begin() as session:
        session.execute(text("DELETE FROM device"))
    with sessions() as session:
        assert _search(session, "脑电") == []


def test_index_triggers_exist_at_head(sessions, db_url):
    """A later batch-mode migration of device or policy would drop them silently: this says so."""
    if not db_url.startswith("sqlite"):
        return
    with sessions() as session:
        names = set(session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert set(search_index.trigger_names()) <= names


def test_migration_fills_the_index_from_stored_rows(sessions, clock, db_url):
    _write(sessions, DEVICES, clock())
    downgrade(db_url, "0002")  # drops the index; the rows stay
    upgrade(db_url)
    with sessions() as session:
        for term in ("肺炎", "OCT", "器械", "肺"):
            assert _search(session, term) == _scan(session, term), term
        if db_url.startswith("sqlite"):
            assert session.execute(text("SELECT count(*) FROM device_search")).scalar_one() == len(DEVICES)
            assert session.execute(text("SELECT count(*) FROM policy_search")).scalar_one() == 0


# ---------------------------------------------------------------- the filter never drops a row the LIKE would keep

CHARS = st.sampled_from("肺炎结节影像CTct Oo-_%\"'()*:^.,　器械ÉéA1")


@hsettings(max_examples=300, deadline=None)
@given(text_=st.text(CHARS, max_size=20), start=st.integers(0, 20), length=st.integers(0, 8), upper=st.booleans())
def test_every_substring_term_passes_the_filter(text_, start, length, upper):
    term = text_[start:start + length]
    if upper:
        term = term.upper()
    # SQLite's LIKE ignores ASCII case and nothing else: every term it matches must find all its bigrams in the row.
    fold = bigrams.fold_ascii_case
    if fold(term) in fold(text_):
        assert bigrams.bigrams(term) <= bigrams.bigrams(text_), (text_, term)


def test_bigrams_and_expression():
    assert bigrams.bigrams("肺结节 CT") == {"肺结", "结节", "ct"}
    assert bigrams.bigrams("a-b") == set()  # pairs with ASCII punctuation would be split by the tokenizer
    assert bigrams.match_expression(["肺"]) is None  # one character: only the scan can answer
    assert bigrams.match_expression(["肺结节", "CT"]) == '"ct" AND "结节" AND "肺结"'
    assert bigrams.match_expression(['"', "' OR 1=1 --"]) == '"or"'


@pytest.mark.parametrize("name", ["device_search", "policy_search_data", "device_search_idx"])
def test_index_tables_are_left_out_of_schema_comparison(name):
    assert search_index.is_index_table(name)
    assert not search_index.is_index_table("device") and not search_index.is_index_table("device_identifier")
