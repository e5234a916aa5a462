"""A watch that follows registration certificates hears of those certificates' events only (numbers canonicalised,
malformed ones refused with the reason); a daily watch's batch waits for its local hour."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.mail.mailkit import add_device, add_policy
from tests.notify import test_watches as base
from tracker.notify.outbox import send_pending
from tracker.notify.watches import WatchError, add_watch, batch_start, list_watches, run_watches
from tracker.store.models import CertificateEvent, Watch

TZ = "Asia/Shanghai"
clock, site = base.clock, base.site            # the watch tests' fixtures: their clock and public base URL
_setup, _deliveries = base._setup, base._deliveries


def _corrected(session, device, when):
    session.add(CertificateEvent(key=f"test:correction:{device.id}", device_id=device.id, cert_no=device.cert_no,
                                 kind="correction", event_date=when.date(), source="nmpa", changes=[], detail={},
                                 recorded_at=when))


def test_a_certificate_watch_hears_of_its_certificates_correction_and_not_anothers(sessions, site, clock, chats):
    with sessions.begin() as s:
        ours = add_device(s, "肺结节CT图像辅助检测软件", seen=clock() - timedelta(days=30), areas=["medical_imaging"],
                          updated=clock() + timedelta(minutes=1))
        theirs = add_device(s, "骨折X射线图像辅助检测软件", seen=clock() - timedelta(days=30),
                            areas=["medical_imaging"], updated=clock() + timedelta(minutes=1))
        ours_no, ours_id = ours.cert_no, ours.id
    # Printed with full-width digits and a stray blank, as copied from a web page: the same certificate.
    typed = ours_no[:4] + " " + ours_no[4:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    _setup(sessions, clock, chats, {"name": "我们的证", "filters": {"certificates": [typed]}, "channels": ["hook"],
                                    "frequency": "immediate"})
    with sessions() as s:
        [view] = list_watches(s)
    assert view.filters["certificates"] == [ours_no] and not view.include_policies
    with sessions.begin() as s:
        for device in (ours, theirs):
            _corrected(s, s.merge(device), clock() + timedelta(minutes=1))
        add_policy(s, "人工智能医疗器械注册审查指导原则", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
    fan = run_watches(sessions, site, clock.advance(minutes=2))
    assert (fan.events, fan.queued) == (1, 1)
    [row] = _deliveries(sessions)
    assert row.event_key.startswith(f"device:{ours_id}:changed")
    send_pending(sessions, site, now=clock)
    [message] = chats.messages("webhook:team")
    assert message.json["headline"] == "纠错：肺结节CT图像辅助检测软件"
    assert "骨折" not in message.body.decode()


@pytest.mark.parametrize("number, why", [
    ("国械注准2021321990", "not a registration certificate number"),       # ten digits
    ("国械备20150001", "filing"),                                          # a class I filing, not a certificate
    ("ISO 13485", "not a registration certificate number"),
])
def test_a_malformed_certificate_number_is_refused_with_the_reason(sessions, clock, chats, number, why):
    _setup(sessions, clock, chats)
    with sessions.begin() as s, pytest.raises(WatchError, match=why):
        add_watch(s, name="坏号", filters={"certificates": [number]}, channels=["hook"], frequency="immediate",
                  actor="t", now=clock())


def test_a_certificate_watch_on_policies_only_is_refused(sessions, clock, chats):
    _setup(sessions, clock, chats)
    with sessions.begin() as s, pytest.raises(WatchError, match="certificates belong to devices"):
        add_watch(s, name="政策", filters={"certificates": ["国械注准20213219904"]}, channels=["hook"],
                  frequency="immediate", include_devices=False, actor="t", now=clock())


def test_a_daily_batch_waits_for_its_local_hour(sessions, site, clock, chats):
    # T0 is 10:00 in Beijing on 20 November; the batch goes out after 08:00 Beijing time, once a day.
    _setup(sessions, clock, chats, {"name": "早报", "filters": {"areas": ["medical_imaging"]}, "channels": ["hook"],
                                    "frequency": "daily", "daily_hour": 8})
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=clock() + timedelta(minutes=1), areas=["medical_imaging"])
    assert run_watches(sessions, site, clock.advance(hours=15)).watches == 0        # 01:00 on the 21st: not yet
    assert run_watches(sessions, site, clock.advance(hours=6, minutes=59)).watches == 0   # 07:59
    fan = run_watches(sessions, site, clock.advance(minutes=1))                       # 08:00
    assert (fan.watches, fan.events, fan.queued) == (1, 1, 1)
    assert _deliveries(sessions)[0].event_key == "batch:w1:daily:2026-11-21"
    assert run_watches(sessions, site, clock.advance(hours=16)).watches == 0        # 00:00 on the 22nd
    assert run_watches(sessions, site, clock.advance(hours=8)).watches == 1         # 08:00 on the 22nd
    with sessions() as s:
        assert s.execute(select(Watch.daily_hour)).scalar_one() == 8


def test_a_watch_added_before_its_hour_posts_the_same_day():
    before = datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc)                     # 05:00 Beijing, 21 Nov
    start = batch_start(8, before + timedelta(hours=3), TZ)                            # 08:00 Beijing
    assert before < start and start.isoformat() == "2026-11-21T08:00:00+08:00"
    assert batch_start(8, before, TZ).isoformat() == "2026-11-20T08:00:00+08:00"
    # Hour 0 is the behaviour before hours existed: the first run of each local day.
    assert batch_start(0, before, TZ).isoformat() == "2026-11-21T00:00:00+08:00"


@pytest.mark.parametrize("hour", [-1, 24])
def test_an_hour_outside_the_day_is_refused(sessions, clock, chats, hour):
    _setup(sessions, clock, chats)
    with sessions.begin() as s, pytest.raises(WatchError, match="hour"):
        add_watch(s, name="x", filters={}, channels=["hook"], frequency="daily", daily_hour=hour, actor="t",
                  now=clock())


def test_a_batch_link_of_a_one_certificate_watch_opens_the_list_on_that_certificate():
    from urllib.parse import parse_qs, urlsplit

    from tracker.mail.digest import Entry
    from tracker.notify.watches import list_url

    watch = Watch(name="我们的证", filters={"certificates": ["国械注准20213219904"]})
    device = type("Item", (), {"kind": "device"})()
    url = list_url("https://t.example.org", watch, datetime(2026, 11, 20, tzinfo=timezone.utc),
                   (Entry(item=device, change="changed"),))
    assert url.startswith("https://t.example.org/devices?")
    assert parse_qs(urlsplit(url).query)["cert"] == ["国械注准20213219904"]
