"""The bigram search index (FTS5 on SQLite, GIN on PostgreSQL): never loses a match (property test), gives exactly
the rows of the plain substring scan on both databases (on the shipped samples and on hostile terms), is what the
statement asks, follows every insert, change and delete, is filled and dropped by its migration, and takes hostile
queries as text."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select, text

from scrapers import SOURCES
from tracker.ingest.run import ingest_path
from tracker.ingest.write import write_records
from tracker.read import filters, lists
from tracker.read import search as read_search
from tracker.records import DeviceRecord, PolicyRecord
from tracker.store import bigrams
from tracker.store import search as search_index
from tracker.store.migrate import downgrade, upgrade
from tracker.store.models import Device, Policy
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
# What a user may type that SQL or an index query could take as syntax, or that no pair covers.
HOSTILE = ["%", "_", "\\", "\\%", "%%", "__", "'", "''", '"', "'肺炎'", "肺%炎", "肺_炎", "结构\\_化", "100\\%",
           "a", "炎", "é", "É", "ＣＴ", "{肺炎}", "{}", "ARRAY[1]", "$$", ":p", "%(x)s", "肺炎" * 100,
           "肺结节CT影像辅助检测软件" * 17]
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


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


def _policy_scan(session, term_query: str) -> list[int]:
    terms = filters.search_terms(term_query)
    stmt = select(Policy.id).where(read_search.matches_all(terms, search_index.SEARCHABLE["policy"]))
    return sorted(session.execute(stmt).scalars())


def _policy_search(session, term_query: str) -> list[int]:
    stmt = lists.policy_select(filters.PolicyFilter(q=term_query)).with_only_columns(Policy.id)
    return sorted(session.execute(stmt).scalars())


def _terms_from(texts) -> set[str]:
    """Terms a user would type about the stored rows: two and three characters from the start, the middle and the
    end of each text, and its first word."""
    terms = set()
    for value in filter(None, texts):
        mid = len(value) // 2
        terms |= {value[:2], value[mid:mid + 2], value[-2:], value[mid:mid + 3], value.split()[0][:30]}
    return {t for t in terms if t.strip()}


def test_search_equals_the_scan_on_the_samples_and_hostile_terms(settings, sessions):
    """Every shipped sample source ingested as `make run` does; then for terms cut from every stored row (device and
    policy) and for hostile terms, the indexed search returns exactly the rows of the plain scan."""
    for slug, module in SOURCES.items():
        assert ingest_path(settings, sessions, module, SAMPLES / slug).outcome == "ok", slug
    with sessions() as session:
        devices = session.execute(select(*search_index.SEARCHABLE["device"])).all()
        policies = session.execute(select(*search_index.SEARCHABLE["policy"])).all()
        assert len(devices) >= 20 and len(policies) >= 15
        device_terms = sorted(_terms_from(v for row in devices for v in row)) + HOSTILE + TERMS
        policy_terms = sorted(_terms_from(v for row in policies for v in row)) + HOSTILE + TERMS
        hits = 0
        for term in device_terms:
            assert _search(session, term) == _scan(session, term), term
            hits += bool(_scan(session, term))
        for term in policy_terms:
            assert _policy_search(session, term) == _policy_scan(session, term), term
            hits += bool(_policy_scan(session, term))
        assert hits >= len(device_terms) // 2  # most terms come from stored text: they do find rows


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


def test_index_narrows(sessions, clock, db_url):
    """The statement asks the database's index, the index really holds the rows (not a no-op clause), and on
    PostgreSQL the plan can read the GIN index (with sequential scans off, as the planner would choose it on a big
    table)."""
    _write(sessions, DEVICES, clock())
    stmt = lists.device_select(filters.DeviceFilter(q="肺炎"))
    with sessions() as session:
        sql = str(stmt.compile(session.bind))
        if db_url.startswith("sqlite"):
            assert "device_search MATCH" in sql and "grams @>" not in sql
            rows = session.execute(text("SELECT count(*) FROM device_search WHERE device_search MATCH '\"肺炎\"'"))
            assert rows.scalar_one() == 1
            return
        assert "device_search WHERE grams @>" in sql and "MATCH" not in sql
        rows = session.execute(text("SELECT count(*) FROM device_search WHERE grams @> tracker_bigrams('肺炎')"))
        assert rows.scalar_one() == 1
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.execute(text("EXPLAIN " + str(stmt.compile(
            session.bind, compile_kwargs={"literal_binds": True})))).scalars())
        assert "device_search_grams" in plan, plan


def test_one_character_terms_skip_the_index(sessions, db_url):
    """No pair, no filter: a one-character search is the scan alone (an empty pair list would match every row)."""
    with sessions() as session:
        sql = str(lists.device_select(filters.DeviceFilter(q="肺 a")).compile(session.bind))
    assert "device_search" not in sql and "LIKE" in sql


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
    """A later batch-mode migration of device or policy would drop them silently on SQLite: this says so."""
    query = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if db_url.startswith("sqlite")
             else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with sessions() as session:
        names = set(session.execute(text(query)).scalars())
    assert set(search_index.trigger_names()) <= names


def _index_tables(session) -> set[str]:
    names = set(session.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'table'" if session.bind.dialect.name == "sqlite"
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
    return {name for name in names if name in ("device_search", "policy_search")}


@pytest.mark.parametrize("base", ["0002", "0004"])  # below 0003 (SQLite's index) and below 0007 (PostgreSQL's)
def test_migration_fills_the_index_from_stored_rows(sessions, clock, db_url, base):
    _write(sessions, DEVICES + [POLICY], clock())
    downgrade(db_url, base)  # drops the index (on the database whose index is above `base`); the rows stay
    with sessions() as session:
        dropped = not _index_tables(session)
        assert dropped == (base == "0002" or not db_url.startswith("sqlite"))
        assert session.execute(select(Device.id)).all()  # the data is still there
    upgrade(db_url)
    with sessions() as session:
        for term in ("肺炎", "OCT", "器械", "肺", "国械注"):
            assert _search(session, term) == _scan(session, term), term
        assert _policy_search(session, "器械 注册") == _policy_scan(session, "器械 注册") != []
        assert session.execute(text("SELECT count(*) FROM device_search")).scalar_one() == len(DEVICES)
        assert session.execute(text("SELECT count(*) FROM policy_search")).scalar_one() == 1


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


def _reference_bigrams(value: str) -> set[str]:
    """The definition, character by character: pairs of adjacent token characters (ASCII letters and digits, every
    non-ASCII character but blanks), ASCII letters lower-cased."""
    folded = "".join(c.lower() if c.isascii() else c for c in value)
    token = lambda c: c.isalnum() if c.isascii() else not c.isspace()  # noqa: E731
    return {a + b for a, b in zip(folded, folded[1:], strict=False) if token(a) and token(b)}


@hsettings(max_examples=500, deadline=None)
@given(value=st.text(st.one_of(CHARS, st.characters()), max_size=30))
def test_bigrams_are_the_definitions_pairs(value):
    assert bigrams.bigrams(value) == _reference_bigrams(value)
    assert bigrams.fold_ascii_case(value) == "".join(c.lower() if c.isascii() else c for c in value)


def test_bigrams_of_blanks_and_mixed_scripts():
    for value in ("A\u3000B", "x\u00a0y", "ÉÀ", "a\u2028b", "AbC_12\tZ", "肺\x1c炎", "ab\u0085cd"):
        assert bigrams.bigrams(value) == _reference_bigrams(value), value


def test_bigrams_and_expression():
    assert bigrams.bigrams("肺结节 CT") == {"肺结", "结节", "ct"}
    assert bigrams.bigrams("a-b") == set()  # pairs with ASCII punctuation would be split by the tokenizer
    assert bigrams.match_expression(["肺"]) is None  # one character: only the scan can answer
    assert bigrams.match_expression(["肺结节", "CT"]) == '"ct" AND "结节" AND "肺结"'
    assert bigrams.match_expression(['"', "' OR 1=1 --"]) == '"or"'


def test_pairs_on_postgresql_are_those_of_the_lower_cased_text(sessions, db_url):
    """The database's pair function: every adjacent pair of lower() of each part, none across parts, nulls skipped."""
    if db_url.startswith("sqlite"):
        return
    with sessions() as session:
        pairs = session.execute(text("SELECT tracker_bigrams('肺炎CT', NULL, '', 'x', 'A%_b')")).scalar_one()
    assert sorted(pairs) == sorted(["肺炎", "炎c", "ct", "a%", "%_", "_b"])


@pytest.mark.parametrize("name", ["device_search", "policy_search_data", "device_search_idx"])
def test_index_tables_are_left_out_of_schema_comparison(name):
    assert search_index.is_index_table(name)
    assert not search_index.is_index_table("device") and not search_index.is_index_table("device_identifier")
