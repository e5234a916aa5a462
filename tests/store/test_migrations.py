"""Migrations on SQLite and PostgreSQL: empty → head, no drift between models and migrations, one step down and up."""
from __future__ import annotations

import itertools
import json

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tracker.store import search as search_index
from tracker.store.engine import make_engine
from tracker.store.migrate import alembic_config, downgrade, upgrade
from tracker.store.models import Base

_names = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> str:
    """An empty database with no tables at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"empty_{next(_names)}"
    engine = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return cluster.url(name)


def _check(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.check(cfg)  # raises when the models hold something no migration creates
    engine.dispose()


def _schema(url: str) -> set[tuple[str, ...]]:
    """Every table, column and index of the database (the search index's SQLite tables included)."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        return {("table", t) for t in tables} | {
            ("index", t, ix["name"]) for t in tables for ix in inspector.get_indexes(t)} | {
            ("column", t, c["name"]) for t in tables for c in inspector.get_columns(t)}
    finally:
        engine.dispose()


def _model_tables(schema: set[tuple[str, ...]]) -> set[str]:
    return {entry[1] for entry in schema if entry[0] == "table" and not search_index.is_index_table(entry[1])}


def test_upgrade_from_empty_to_head_matches_the_models(empty_url):
    upgrade(empty_url)
    assert _model_tables(_schema(empty_url)) == set(Base.metadata.tables)
    _check(empty_url)


def test_downgrade_one_step_and_upgrade_again(empty_url):
    upgrade(empty_url)
    head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    at_head = _schema(empty_url)
    downgrade(empty_url, "-1")
    assert _schema(empty_url) != at_head, "the last migration must undo what it did"
    upgrade(empty_url)
    assert _schema(empty_url) == at_head
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
    engine.dispose()
    _check(empty_url)


def test_append_only_triggers_survive_a_round_trip(empty_url):
    upgrade(empty_url)
    downgrade(empty_url, "-1")
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-01-01 00:00:00', 'test', 'x', '{}')"))
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    engine.dispose()


# Stored link reasons of every shape the code before migration 0006 wrote, and what 0006 reads them as.
LINK_REASONS = [
    ("device tags disease:lung_nodule, area:medical_imaging.ct match the scope of 《肺结节CT图像辅助检测软件注册审查指导原则》",
     "link.scope", {"tags": ["disease:lung_nodule", "area:medical_imaging.ct"], "title": "肺结节CT图像辅助检测软件注册审查指导原则"}),
    ("device tags area:medical_imaging.ct match the scope of 《X射线计算机体层摄影设备注册审查指导原则》; guidance about "
     "equipment (设备), device not software",
     "link.scope_equipment", {"tags": ["area:medical_imaging.ct"], "title": "X射线计算机体层摄影设备注册审查指导原则",
                              "words": ["设备"]}),
    ("device tags ai:ai match the scope of 《关于发布《人工智能医疗器械注册审查指导原则》的通告》; guidance about software "
     "(软件、人工智能), device is software (name: 软件, catalogue_code: 21)",
     "link.scope_software", {"tags": ["ai:ai"], "title": "关于发布《人工智能医疗器械注册审查指导原则》的通告",
                             "words": ["软件", "人工智能"], "software": [["name", "软件"], ["catalogue_code", "21"]]}),
    ("device tags ai:ai match the scope of 《人工智能医疗器械注册审查指导原则》; guidance about software (人工智能), device is AI",
     "link.scope_ai", {"tags": ["ai:ai"], "title": "人工智能医疗器械注册审查指导原则", "words": ["人工智能"]}),
    ("linked by hand before reasons had codes", "legacy", {"text": "linked by hand before reasons had codes"}),
]
NEWS_REASONS = [
    ("certificate 国械注准20203210001 named in the article", "news.certificate", {"cert": "国械注准20203210001"}),
    ("product 肺结节CT影像辅助检测软件 and registrant 示例医疗科技有限公司 named in the article", "news.product_registrant",
     {"product": "肺结节CT影像辅助检测软件", "registrant": "示例医疗科技有限公司"}),
]


def test_reasons_migration_reads_stored_sentences_as_codes_and_writes_them_back(empty_url):
    """0006 with data in the tables: down to the sentences the old code wrote, up to codes with parameters, and
    a round trip gives back the same codes (a sentence no pattern knows is kept whole as "legacy")."""
    from datetime import datetime, timezone

    from sqlalchemy.orm import Session

    from tracker.store.models import Device, NewsDevice, NewsItem, Policy, PolicyDevice

    upgrade(empty_url)
    before = ScriptDirectory.from_config(alembic_config(empty_url)).get_revision("0006").down_revision
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    engine = make_engine(empty_url)
    with Session(engine) as session, session.begin():
        devices = [Device(cert_no=f"国械注准2026321{9960 + i:04d}", product_name=f"示例{i}", first_seen=now,
                          updated_at=now) for i in range(len(LINK_REASONS))]
        policies = [Policy(key=f"k{i}", title=f"指导原则{i}", title_key=f"指导原则{i}", url=f"https://example.org/{i}",
                           first_seen=now, updated_at=now) for i in range(len(LINK_REASONS))]
        news = [NewsItem(url=f"https://example.org/news/{i}", title=f"新闻{i}", first_seen=now)
                for i in range(len(NEWS_REASONS))]
        session.add_all(devices + policies + news)
        session.flush()
        session.add_all(PolicyDevice(policy_id=p.id, device_id=d.id, rule_id="policy_link.specific", reason_code=code,
                                     reason_params=params, created_at=now)
                        for p, d, (_, code, params) in zip(policies, devices, LINK_REASONS, strict=True))
        session.add_all(NewsDevice(news_id=n.id, device_id=devices[0].id, reason_code=code, reason_params=params)
                        for n, (_, code, params) in zip(news, NEWS_REASONS, strict=True))
    engine.dispose()

    downgrade(empty_url, before)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        links = conn.execute(text("SELECT reason FROM policy_device ORDER BY id")).scalars().all()
        said = conn.execute(text("SELECT reason FROM news_device ORDER BY id")).scalars().all()
    engine.dispose()
    assert links == [sentence for sentence, _, _ in LINK_REASONS]
    assert said == [sentence for sentence, _, _ in NEWS_REASONS]

    upgrade(empty_url)
    engine = make_engine(empty_url)
    with Session(engine) as session:
        got = [(r.reason_code, r.reason_params) for r in session.query(PolicyDevice).order_by(PolicyDevice.id)]
        got_news = [(r.reason_code, r.reason_params) for r in session.query(NewsDevice).order_by(NewsDevice.id)]
    engine.dispose()
    assert got == [(code, params) for _, code, params in LINK_REASONS]
    assert got_news == [(code, params) for _, code, params in NEWS_REASONS]


def test_events_migration_turns_stored_rows_into_events_and_round_trips(empty_url):
    """0008 with data in the tables: stored notice rows and withdrawals become events (nothing recorded is lost),
    policies gain the printed columns, and down then up again gives the same events."""
    # The revision before 0008, whatever the chain puts there when others land before it.
    before = ScriptDirectory.from_config(alembic_config(empty_url)).get_revision("0008").down_revision
    upgrade(empty_url, before)
    engine = make_engine(empty_url)
    now = "2026-12-06 10:00:00"
    with engine.begin() as conn:
        for i, (cert, withdrawn) in enumerate((("国械注准20213219904", None), ("国械注准20203219905", "2026-11-30"))):
            conn.execute(text(
                "INSERT INTO device (id, cert_no, product_name, status, is_ai, ai_confidence, is_sample, field_sources,"
                " first_seen, updated_at, withdrawn_on) VALUES (:id, :cert, '样例', 'active', false, 0, true, '{}',"
                " :now, :now, :withdrawn)"), {"id": i + 1, "cert": cert, "now": now, "withdrawn": withdrawn})
        rows = [("https://n/18.html", "CSZ2600117", "2026-11-14", False, "1 | CSZ2600117 | 国械注准20213219904"),
                ("https://n/19.html", "CSZ2600117", "2026-11-19", True,
                 "1 | 注册人住所由“上海市样例区样例路1号”更正为“上海市样例区样例路11号” | 2026年11月19日"),
                ("https://n/20.html", "CYZ2600118", "2026-11-20", False, "renewal row")]
        for url, acceptance, day, correction, raw in rows:
            conn.execute(text(
                "INSERT INTO approval_event (device_id, cert_no, notice_url, acceptance_no, product_name, issued_on,"
                " notice_date, is_correction, raw_row, first_seen) VALUES (1, '国械注准20213219904', :url, :acc,"
                " '样例', :day, :day, :corr, :raw, :now)"),
                {"url": url, "acc": acceptance, "day": day, "corr": correction, "raw": raw, "now": now})
    engine.dispose()

    def events() -> list[tuple]:
        eng = make_engine(empty_url)
        with eng.connect() as conn:
            got = [(r.cert_no, r.kind, str(r.event_date), r.changes if isinstance(r.changes, list) else
                    json.loads(r.changes)) for r in conn.execute(text(
                        "SELECT cert_no, kind, event_date, changes FROM certificate_event ORDER BY id"))]
        eng.dispose()
        return got

    upgrade(empty_url)
    expected = [
        ("国械注准20213219904", "registration", "2026-11-14", []),
        ("国械注准20213219904", "correction", "2026-11-19",
         [{"field": "注册人住所", "before": "上海市样例区样例路1号", "after": "上海市样例区样例路11号"}]),
        ("国械注准20213219904", "renewal", "2026-11-20", []),
        ("国械注准20203219905", "cancellation", "2026-11-30", []),
    ]
    assert events() == expected
    assert ("column", "policy", "issuer_printed") in _schema(empty_url)
    downgrade(empty_url, before)
    schema = _schema(empty_url)
    assert ("table", "certificate_event") not in schema and ("column", "policy", "issuer_printed") not in schema
    upgrade(empty_url)
    assert events() == expected


def test_notify_migration_round_trip_with_data(empty_url):
    """0010 with rows in its tables: down drops channels, watches and deliveries and leaves the rest (an audit
    entry) alone; up again gives empty tables that take the same rows."""
    upgrade(empty_url)
    rows = [
        "INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-01-01 00:00:00', 'test', 'channel.add', '{}')",
        "INSERT INTO channel (name, kind, url, secret, lang, active, failures, alert_state, created_at, updated_at) "
        "VALUES ('team', 'wecom', 'https://qyapi.example/send?key=k', NULL, 'zh', true, 0, 'healthy', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        "INSERT INTO watch (name, filters, include_devices, include_policies, frequency, active, created_by, "
        "created_at, checked_until) VALUES ('ct', '{}', true, true, 'immediate', true, 'test', '2026-01-01 00:00:00', "
        "'2026-01-01 00:00:00')",
        "INSERT INTO watch_channel (watch_id, channel_id) VALUES (1, 1)",
        "INSERT INTO delivery (channel_id, watch_id, event_key, uid, payload, status, attempts, created_at) "
        "VALUES (1, 1, 'device:1:new', 'u1', '{}', 'sent', 1, '2026-01-01 00:00:00')",
    ]

    def insert() -> None:
        engine = make_engine(empty_url)
        with engine.begin() as conn:
            for sql in rows[1:]:
                conn.execute(text(sql))
        engine.dispose()

    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(rows[0]))
    engine.dispose()
    insert()
    # To the revision before 0010 (whatever the chain puts there when others land after it).
    downgrade(empty_url, ScriptDirectory.from_config(alembic_config(empty_url)).get_revision("0010").down_revision)
    tables = set(inspect(make_engine(empty_url)).get_table_names())
    assert not {"channel", "watch", "watch_channel", "delivery"} & tables
    upgrade(empty_url)
    insert()
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM delivery")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
    engine.dispose()
