"""The page cache (web/pagecache.py) on SQLite and PostgreSQL: a write through each write path (a run, a reviewer's
decision, a migration) shows on the next page; languages, accounts and sessions never see each other's entry; the
setting turns it off."""
from __future__ import annotations

import pytest
from flask import render_template_string
from sqlalchemy import select

from tests.audit.conftest import PASSWORD, login
from tracker.audit import review, users
from tracker.config import Settings
from tracker.ingest.write import write_records
from tracker.read import pages
from tracker.records import DeviceRecord
from tracker.store.migrate import downgrade, upgrade
from tracker.store.models import Device
from tracker.store.write import WriteContext
from web import create_app, pagecache

LUNG = "肺结节CT影像辅助检测软件"


def _write(sessions, clock, cert_no: str, name: str) -> None:
    with sessions.begin() as session:
        write_records(session, [DeviceRecord(cert_no=cert_no, product_name=name, registrant="某公司")],
                      WriteContext(source="udi", now=clock()))


@pytest.fixture
def cached_app(settings, sessions, clock):
    """An app with its page cache over a database with one device."""
    _write(sessions, clock, "国械注准20263210001", LUNG)
    return create_app(settings, clock=clock)


def _cache(app) -> pagecache.PageCache:
    return app.extensions[pagecache.EXTENSION]


def _device_id(sessions, cert_no: str = "国械注准20263210001") -> int:
    with sessions() as session:
        return session.execute(select(Device.id).where(Device.cert_no == cert_no)).scalar_one()


def test_a_repeated_page_is_served_from_the_cache_and_one_filter_spelled_two_ways_is_one_entry(cached_app):
    client = cached_app.test_client()
    first = client.get("/devices?ai=1&q=CT").get_data()
    assert len(_cache(cached_app)) == 1
    assert client.get("/devices?q=CT&ai=1").get_data() == first
    assert len(_cache(cached_app)) == 1


def test_a_run_shows_on_the_next_list_and_device_page(cached_app, sessions, clock):
    client = cached_app.test_client()
    device = f"/devices/{_device_id(sessions)}"
    assert LUNG in client.get("/devices").get_data(as_text=True)
    assert LUNG in client.get(device).get_data(as_text=True)
    assert client.get("/api/v1/devices").get_json()["total"] == 1
    _write(sessions, clock, "国械注准20263210002", "眼底图像辅助诊断软件")
    _write(sessions, clock, "国械注准20263210001", "肺结节CT影像辅助检测软件（第二版）")
    listed = client.get("/devices").get_data(as_text=True)
    assert "眼底图像辅助诊断软件" in listed and "肺结节CT影像辅助检测软件（第二版）" in listed
    assert "肺结节CT影像辅助检测软件（第二版）" in client.get(device).get_data(as_text=True)
    assert client.get("/api/v1/devices").get_json()["total"] == 2


def test_a_reviewer_decision_shows_on_the_next_page(cached_app, sessions, clock):
    client = cached_app.test_client()
    path = "/devices?sub=medical_imaging.fundus"
    assert LUNG not in client.get(path).get_data(as_text=True)
    with sessions.begin() as session:
        review.decide(session, entity_type="device", entity_id=_device_id(sessions), facet="area",
                      code="medical_imaging.fundus", decision="add", reason="the labelling says so",
                      reviewer="rita", now=clock())
    assert LUNG in client.get(path).get_data(as_text=True)


def test_a_migration_changes_the_stamp(cached_app, settings, sessions):
    cached_app.test_client().get("/devices")
    with sessions() as session:
        before = pages.data_stamp(session)
    downgrade(settings.database_url, "-1")
    upgrade(settings.database_url)
    with sessions() as session:
        assert pages.data_stamp(session) != before


def test_a_read_only_request_leaves_the_stamp_alone(cached_app, sessions):
    with sessions() as session:
        before = pages.data_stamp(session)
    cached_app.test_client().get("/devices")
    with sessions() as session:
        assert pages.data_stamp(session) == before


def test_languages_never_share_an_entry(cached_app):
    client = cached_app.test_client()
    chinese = client.get("/devices").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/devices").get_data(as_text=True)
    assert english != chinese and 'lang="en"' in english and 'lang="zh-CN"' in chinese


def test_accounts_and_roles_never_share_an_entry(cached_app, sessions, clock):
    with sessions.begin() as session:
        for role in ("viewer", "reviewer"):
            users.create_user(session, role, PASSWORD, role, actor="test", now=clock())
    anonymous = cached_app.test_client()
    anonymous.get("/devices")
    entries = len(_cache(cached_app))
    for role in ("viewer", "reviewer"):
        client = cached_app.test_client()
        assert login(client, role, PASSWORD).status_code == 302
        assert client.get("/devices").status_code == 200
        entries += 1
        assert len(_cache(cached_app)) == entries  # an entry of its own, not the anonymous one


def test_a_page_with_a_session_token_is_never_stored(cached_app):
    cached_app.add_url_rule("/t/form", "t_form", pagecache.cached(lambda: render_template_string("{{ csrf_token() }}")))
    one, other = cached_app.test_client(), cached_app.test_client()
    assert one.get("/t/form").get_data() != other.get("/t/form").get_data()
    assert len(_cache(cached_app)) == 0


def test_the_setting_turns_the_cache_off(settings, sessions, clock):
    _write(sessions, clock, "国械注准20263210001", LUNG)
    app = create_app(settings.replace(page_cache_mb=0), clock=clock)
    assert app.extensions[pagecache.EXTENSION] is None
    assert LUNG in app.test_client().get("/devices").get_data(as_text=True)
    assert Settings.from_env({"TRACKER_PAGE_CACHE_MB": "0"}).page_cache_mb == 0


def test_memory_is_bounded():
    cache = pagecache.PageCache(max_bytes=10_000)
    for n in range(100):
        cache.put(("page", n), pagecache.Page(b"x" * 1_000, "text/html"))
    assert len(cache) <= 10 and cache.get(("page", 99)) is not None and cache.get(("page", 0)) is None
