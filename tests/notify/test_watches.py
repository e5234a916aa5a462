"""Watches: the digests' filters decide what a team hears about; each run covers the window since the last one;
an event reaches a channel once however many watches match it and however often the run is repeated; many events
become one batch message; daily watches post once a local day."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.mail.mailkit import T0, add_device
from tracker.config import Settings
from tracker.notify.channels import add_channel
from tracker.notify.outbox import send_pending
from tracker.notify.watches import WatchError, add_watch, list_watches, remove_watch, run_watches
from tracker.store.models import Delivery


@pytest.fixture
def clock():
    from tests.conftest import FixedClock
    return FixedClock(T0)


@pytest.fixture
def site(settings) -> Settings:
    return settings.replace(public_base_url="https://tracker.example.org")


def _setup(sessions, clock, chats, *watches):
    with sessions.begin() as s:
        add_channel(s, name="hook", kind="webhook", url=chats.webhook_url("team", "k"), secret="k", actor="t",
                    now=clock())
        add_channel(s, name="wecom", kind="wecom", url=chats.wecom_url("wk"), actor="t", now=clock())
        for spec in watches:
            add_watch(s, actor="t", now=clock(), **spec)


def _deliveries(sessions):
    with sessions() as s:
        return s.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


CT = {"name": "影像", "filters": {"areas": ["medical_imaging"]}, "channels": ["hook", "wecom"],
      "frequency": "immediate"}


def test_an_item_in_the_watched_area_is_one_message_per_channel_once(sessions, site, clock, chats):
    _setup(sessions, clock, chats, CT)
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
        add_device(s, "心电分析软件", seen=clock() + timedelta(minutes=1), areas=["cardiovascular"])
    clock.advance(minutes=2)
    fan = run_watches(sessions, site, clock())
    assert (fan.events, fan.queued) == (1, 2)
    assert run_watches(sessions, site, clock.advance(minutes=1)).queued == 0   # the next window is empty
    rows = _deliveries(sessions)
    assert [r.event_key for r in rows] == [rows[0].event_key] * 2 and rows[0].event_key.endswith(":new")
    assert send_pending(sessions, site, now=clock).sent == 2
    [hook] = chats.messages("webhook:team")
    body = hook.json
    assert body["headline"] == "新注册证：肺结节CT图像辅助检测软件" and body["count"] == 1
    assert body["items"][0]["url"].startswith("https://tracker.example.org/devices/")
    assert "医学影像" in body["items"][0]["areas"] and "心电" not in hook.body.decode()
    [wecom] = chats.messages("wecom:wk")
    assert "肺结节CT图像辅助检测软件" in wecom.json["markdown"]["content"]


def test_two_watches_matching_one_device_post_it_once_into_a_shared_channel(sessions, site, clock, chats):
    _setup(sessions, clock, chats, {**CT, "channels": ["hook"]},
           {"name": "肺结节", "filters": {"keywords": ["肺结节"]}, "channels": ["hook"], "frequency": "immediate"})
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
    fan = run_watches(sessions, site, clock.advance(minutes=2))
    assert (fan.events, fan.queued) == (2, 1)


def test_many_events_become_one_batch_with_a_count_and_a_link_to_the_list(sessions, site, clock, chats):
    _setup(sessions, clock, chats, CT)
    with sessions.begin() as s:
        for n in range(12):
            add_device(s, f"影像辅助软件{n:02d}", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
    fan = run_watches(sessions, site, clock.advance(minutes=2))
    assert (fan.events, fan.queued) == (12, 2)
    send_pending(sessions, site, now=clock)
    body = chats.messages("webhook:team")[0].json
    assert body["count"] == 12 and len(body["items"]) == 10 and body["headline"] == "影像：12 条新动态"
    assert body["more_url"].startswith("https://tracker.example.org/devices?") and "area=medical_imaging" in body["more_url"]
    assert "另有 2 条" in body["text"]
    wecom = chats.messages("wecom:wk")[0].json["markdown"]["content"]
    assert len(wecom.encode()) <= 4096


def test_a_daily_watch_posts_once_a_local_day(sessions, site, clock, chats):
    _setup(sessions, clock, chats, {**CT, "frequency": "daily", "channels": ["hook"]})
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
    assert run_watches(sessions, site, clock.advance(hours=1)).watches == 0          # same Beijing day: not due
    fan = run_watches(sessions, site, clock.advance(hours=14))                        # 01:00 next day in Beijing
    assert (fan.watches, fan.events, fan.queued) == (1, 1, 1)
    assert _deliveries(sessions)[0].event_key.startswith("batch:w1:daily:2026-11-21")
    assert run_watches(sessions, site, clock.advance(hours=1)).watches == 0


@pytest.mark.parametrize("change, why", [
    ({"filters": {"areas": ["no_such_area"]}}, "not a known area code"),
    ({"channels": ["nowhere"]}, "no channel named nowhere"),
    ({"channels": []}, "at least one channel"),
    ({"frequency": "hourly"}, "frequency"),
    ({"name": ""}, "watch name"),
])
def test_bad_watches_are_refused_with_a_reason(sessions, clock, chats, change, why):
    _setup(sessions, clock, chats)
    with sessions.begin() as s, pytest.raises(WatchError, match=why):
        add_watch(s, actor="t", now=clock(), **{**CT, **change})


def test_list_and_remove(sessions, clock, chats):
    _setup(sessions, clock, chats, CT)
    with sessions() as s:
        [view] = list_watches(s)
    assert view.channels == ("hook", "wecom") and view.filters["areas"] == ["medical_imaging"]
    with sessions.begin() as s:
        remove_watch(s, "影像", actor="t", now=clock())
    with sessions() as s:
        assert list_watches(s) == []


def test_a_watch_on_an_issuers_drafts_hears_of_a_new_draft_only(sessions, site, clock, chats):
    from tests.mail.mailkit import add_policy, tag

    _setup(sessions, clock, chats, {"name": "CMDE草案", "filters": {"issuers": ["cmde"], "stages": ["draft"]},
                                    "channels": ["hook"], "frequency": "immediate"})
    seen = clock() + timedelta(minutes=1)
    with sessions.begin() as s:
        for title, issuer, stage in (("人工智能医疗器械注册审查指导原则（征求意见稿）", "cmde", "draft"),
                                     ("人工智能医疗器械注册审查指导原则", "cmde", "issued"),
                                     ("关于人工智能辅助诊断的通知（征求意见稿）", "nhc", "draft")):
            policy = add_policy(s, title, seen=seen)
            policy.stage = stage
            tag(s, "policy", policy.id, "issuer", issuer, seen)
    fan = run_watches(sessions, site, clock.advance(minutes=2))
    assert (fan.events, fan.queued) == (1, 1)
    send_pending(sessions, site, now=clock)
    body = chats.messages("webhook:team")[0].json
    assert body["headline"] == "新政策：人工智能医疗器械注册审查指导原则（征求意见稿）"
    assert "/policies/" in body["items"][0]["url"]


def test_an_unknown_issuer_or_stage_is_refused(sessions, clock, chats):
    _setup(sessions, clock, chats)
    for filters, why in (({"issuers": ["fda"]}, "not a known issuer code"), ({"stages": ["final"]}, "stage")):
        with sessions.begin() as s, pytest.raises(WatchError, match=why):
            add_watch(s, actor="t", now=clock(), **{**CT, "filters": filters})


def test_a_changed_certificate_says_which_event_the_source_reported(sessions, site, clock, chats):
    from tracker.store.models import CertificateEvent

    _setup(sessions, clock, chats, {**CT, "channels": ["hook"]})
    with sessions.begin() as s:
        device = add_device(s, "肺结节CT图像辅助检测软件", seen=clock() - timedelta(days=30), areas=["medical_imaging"],
                            updated=clock() + timedelta(minutes=1))
        s.add(CertificateEvent(key="test:renewal", device_id=device.id, cert_no=device.cert_no, kind="renewal",
                               event_date=clock().date(), source="udi", changes=[], detail={},
                               recorded_at=clock() + timedelta(minutes=1)))
    assert run_watches(sessions, site, clock.advance(minutes=2)).queued == 1
    send_pending(sessions, site, now=clock)
    body = chats.messages("webhook:team")[0].json
    assert body["headline"] == "延续注册：肺结节CT图像辅助检测软件" and body["items"][0]["label"] == "延续注册"
