"""The admin pages of team notifications through the real app: an administrator adds a channel (its URL and secret
never come back to the browser), sends a test message that reaches the stand-in, adds a watch; a reviewer manages
watches but not channels; the deliveries page shows a failed delivery with the platform's answer."""
from __future__ import annotations

import pytest

from tests.audit.conftest import PASSWORD, csrf_from, login
from tracker.audit import users


@pytest.fixture
def accounts(sessions, clock):
    """An administrator and a reviewer (username = role)."""
    with sessions.begin() as session:
        for role in ("admin", "reviewer"):
            users.create_user(session, role, PASSWORD, role, actor="test", now=clock())


def _post(client, path: str, data: dict, form_page: str):
    token = csrf_from(client.get(form_page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_admin_adds_a_channel_tests_it_and_adds_a_watch(client, accounts, chats):
    assert login(client, "admin").status_code == 302
    url = chats.dingtalk_url("tok-5f1e0c9a", "SECsecret-for-the-page")
    added = _post(client, "/admin/channels", {"name": "ra-team", "kind": "dingtalk", "url": url,
                                              "secret": "SECsecret-for-the-page", "lang": "zh"}, "/admin/channels")
    assert added.status_code == 302
    page = client.get("/admin/channels").get_data(as_text=True)
    assert "ra-team" in page and "tok-5f1e0c9a" not in page and "SECsecret" not in page and "…0c9a" in page
    tested = _post(client, "/admin/channels/ra-team/test", {}, "/admin/channels")
    assert tested.status_code == 302
    assert "测试消息已送达" in client.get("/admin/channels").get_data(as_text=True)
    assert len(chats.messages("dingtalk:tok-5f1e0c9a")) == 1
    watch = _post(client, "/admin/watches", {"name": "CT", "area": ["medical_imaging.ct"], "companies": "联影，推想",
                                             "frequency": "daily", "channel": ["ra-team"]}, "/admin/watches")
    assert watch.status_code == 302
    listed = client.get("/admin/watches").get_data(as_text=True)
    assert "CT" in listed and "“联影”" in listed and "每日汇总" in listed
    drafts = _post(client, "/admin/watches", {"name": "CMDE drafts", "issuer": ["cmde"], "stage": ["draft"],
                                              "frequency": "immediate", "channel": ["ra-team"]}, "/admin/watches")
    assert drafts.status_code == 302
    listed = client.get("/admin/watches").get_data(as_text=True)
    assert "国家药监局医疗器械技术审评中心" in listed and "征求意见" in listed


def test_a_generated_webhook_secret_is_shown_once_and_never_again(client, accounts, chats):
    login(client, "admin")
    shown = _post(client, "/admin/channels", {"name": "hook", "kind": "webhook", "url": "https://receiver.example/h",
                                              "lang": "en"}, "/admin/channels")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "只显示这一次" in html
    secret = html.split("<code>")[1].split("</code>")[0]
    assert len(secret) >= 32 and secret not in client.get("/admin/channels").get_data(as_text=True)


@pytest.mark.parametrize("lang, url_reason, channel_reason, duplicate", [
    ("zh", "slack 频道需要带主机名的 http(s) 网址", "关注至少需要一个通知频道", "已有名为“hook”的频道"),
    ("en", "a slack channel needs an http(s) URL with a host", "a watch posts into at least one channel",
     "a channel named “hook” exists already"),
])
def test_bad_input_is_a_400_with_the_reason_in_the_readers_language(client, accounts, lang, url_reason,
                                                                     channel_reason, duplicate):
    login(client, "admin")
    client.get(f"/admin/channels?lang={lang}")
    bad = _post(client, "/admin/channels", {"name": "x", "kind": "slack", "url": "ftp://nope", "lang": "zh"},
                "/admin/channels")
    assert bad.status_code == 400 and url_reason in bad.get_data(as_text=True)
    no_channel = _post(client, "/admin/watches", {"name": "w", "frequency": "immediate"}, "/admin/watches")
    assert no_channel.status_code == 400 and channel_reason in no_channel.get_data(as_text=True)
    form = {"name": "hook", "kind": "webhook", "url": "https://receiver.example/h", "lang": "zh"}
    assert _post(client, "/admin/channels", form, "/admin/channels").status_code == 200  # shows the new secret
    again = _post(client, "/admin/channels", form, "/admin/channels")
    assert again.status_code == 400 and duplicate in again.get_data(as_text=True)


def test_a_reviewer_manages_watches_but_not_channels(client, accounts, chats):
    login(client, "reviewer")
    assert client.get("/admin/channels").status_code == 200
    refused = _post(client, "/admin/channels", {"name": "x", "kind": "slack", "url": chats.slack_url("T/B/X"),
                                                "lang": "zh"}, "/admin/channels")
    assert refused.status_code == 403
    assert client.get("/admin/watches").status_code == 200


def test_the_deliveries_page_shows_a_failure_with_the_platforms_answer(client, accounts, chats):
    from tracker.dev.chatsinks import Fault

    login(client, "admin")
    _post(client, "/admin/channels", {"name": "wc", "kind": "wecom", "url": chats.wecom_url("k"), "lang": "zh"},
          "/admin/channels")
    chats.fail("wecom:k", Fault(code=93000))
    _post(client, "/admin/channels/wc/test", {}, "/admin/channels")
    page = client.get("/admin/deliveries?status=failed").get_data(as_text=True)
    assert "93000" in page and "wc" in page
    assert client.get("/admin/deliveries?status=bogus").status_code == 400


def test_a_watch_follows_a_certificate_with_a_daily_hour_and_a_malformed_number_is_refused(client, accounts, chats):
    login(client, "admin")
    _post(client, "/admin/channels", {"name": "wc", "kind": "wecom", "url": chats.wecom_url("k"), "lang": "zh"},
          "/admin/channels")
    bad = _post(client, "/admin/watches", {"name": "坏号", "certificates": "国械注准20213219904，国械注准2021321990",
                                           "frequency": "immediate", "channel": ["wc"]}, "/admin/watches")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "不是有效的注册证编号" in html and "2021321990" in html
    good = _post(client, "/admin/watches", {"name": "我们的证", "certificates": "国械注准 20213219904",
                                            "frequency": "daily", "hour": "8", "channel": ["wc"]}, "/admin/watches")
    assert good.status_code == 302
    listed = client.get("/admin/watches").get_data(as_text=True)
    assert "国械注准20213219904" in listed and "每日汇总（08:00 后）" in listed
