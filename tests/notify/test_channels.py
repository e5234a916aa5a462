"""Channels of every kind against their local stand-ins: the test message arrives in each platform's documented
shape (signed where the platform signs), credentials never show in full, and bad input is refused with a reason."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tracker.audit.log import query
from tracker.notify.channels import ChannelError, add_channel, list_channels, mask, remove_channel, send_test_message
from tracker.store.models import Delivery


def _add(sessions, clock, **kw):
    with sessions.begin() as session:
        channel, generated = add_channel(session, actor="test", now=clock(), **kw)
        return channel.id, generated


def _every_kind(chats) -> dict[str, dict]:
    return {
        "hook": {"kind": "webhook", "url": chats.webhook_url("team", "s3cret-webhook"), "secret": "s3cret-webhook"},
        "wecom": {"kind": "wecom", "url": chats.wecom_url("wk-1234")},
        "ding": {"kind": "dingtalk", "url": chats.dingtalk_url("dt-tok", "SECdingsecret"), "secret": "SECdingsecret"},
        "feishu": {"kind": "feishu", "url": chats.feishu_url("fs-tok", "feishu-secret"), "secret": "feishu-secret",
                   "lang": "en"},
        "slack": {"kind": "slack", "url": chats.slack_url("T000/B000/XXXX")},
        "apprise": {"kind": "apprise", "url": chats.apprise_url("ops")},
    }


def test_a_test_message_reaches_every_kind_in_its_platforms_shape(sessions, settings, clock, chats):
    for name, spec in _every_kind(chats).items():
        _add(sessions, clock, name=name, **spec)
        outcome = send_test_message(sessions, settings, name, now=clock, actor="test")
        assert outcome.ok, (name, outcome, chats.refused)
    assert chats.refused == []
    hook = chats.messages("webhook:team")[0]
    assert hook.headers["X-Tracker-Delivery"] and hook.json["headline"].startswith("测试消息")
    wecom = chats.messages("wecom:wk-1234")[0].json
    assert wecom["msgtype"] == "markdown" and "hook" not in wecom["markdown"]["content"]
    assert "wecom" in wecom["markdown"]["content"]
    ding = chats.messages("dingtalk:dt-tok")[0]
    assert "sign=" in ding.path and ding.json["markdown"]["title"].startswith("测试消息")
    feishu = chats.messages("feishu:fs-tok")[0].json
    assert feishu["msg_type"] == "post" and feishu["sign"]
    assert feishu["content"]["post"]["en_us"]["title"] == "Test message: channel feishu works"
    slack = chats.messages("slack:T000/B000/XXXX")[0].json
    assert slack["blocks"][0]["type"] == "section" and "slack" in slack["text"]
    apprise = chats.messages("apprise:ops")[0].json
    assert apprise["title"].startswith("测试消息")
    with sessions() as session:
        assert session.execute(select(Delivery.status)).scalars().all() == ["sent"] * 6


def test_a_wrong_signing_secret_is_a_failure_with_the_platforms_answer(sessions, settings, clock, chats):
    url = chats.dingtalk_url("dt-tok", "SECright")
    _add(sessions, clock, name="ding", kind="dingtalk", url=url, secret="SECwrong")
    outcome = send_test_message(sessions, settings, "ding", now=clock, actor="test")
    assert not outcome.ok and outcome.status == "failed"
    assert "310000" in outcome.answer and "sign not match" in outcome.answer
    assert chats.refused == [("dingtalk:dt-tok", "signature")]


def test_feishu_signature_and_its_one_hour_window(sessions, settings, clock, chats):
    _add(sessions, clock, name="fs", kind="feishu", url=chats.feishu_url("fs", "k"), secret="k")
    chats.clock = lambda: clock().timestamp() + 3601   # the platform's clock an hour and a second ahead
    outcome = send_test_message(sessions, settings, "fs", now=clock, actor="test")
    assert not outcome.ok and "19021" in outcome.answer
    chats.clock = lambda: clock().timestamp() + 3500
    assert send_test_message(sessions, settings, "fs", now=clock, actor="test").ok


def test_credentials_never_show_in_full(sessions, clock, chats):
    url = chats.wecom_url("0123456789-secret-key-abcd")
    _add(sessions, clock, name="wc", kind="wecom", url=url)
    _, generated = _add(sessions, clock, name="hook", kind="webhook", url=chats.webhook_url("h", "x"))
    assert generated and len(generated) >= 32      # a webhook without a secret gets one, shown once
    with sessions() as session:
        views = {v.name: v for v in list_channels(session)}
        audit = " ".join(str(e.detail) for e in query(session))
    assert views["wc"].masked_url == mask(url) and "secret-key" not in views["wc"].masked_url
    assert views["wc"].masked_url.endswith("abcd") and views["hook"].signed
    assert "secret-key" not in audit and generated not in audit


@pytest.mark.parametrize("spec, why", [
    ({"name": "a b", "kind": "slack", "url": "https://hooks.example/x"}, "channel name"),
    ({"name": "x", "kind": "pager", "url": "https://hooks.example/x"}, "unknown channel kind"),
    ({"name": "x", "kind": "slack", "url": "ftp://hooks.example/x"}, "http(s) URL"),
    ({"name": "x", "kind": "slack", "url": "https://hooks.example/x", "secret": "s"}, "no signing secret"),
    ({"name": "x", "kind": "apprise", "url": "nosuchservice://x"}, "Apprise does not recognise"),
    ({"name": "x", "kind": "wecom", "url": "https://hooks.example/x", "lang": "fr"}, "language"),
])
def test_bad_channels_are_refused_with_a_reason(sessions, clock, spec, why):
    with pytest.raises(ChannelError, match=re.escape(why)):
        _add(sessions, clock, **spec)


def test_a_duplicate_name_is_refused_and_remove_forgets_the_channel(sessions, clock, chats):
    _add(sessions, clock, name="s", kind="slack", url=chats.slack_url("T/B/X"))
    with pytest.raises(ChannelError, match="exists already"):
        _add(sessions, clock, name="s", kind="slack", url=chats.slack_url("T/B/Y"))
    with sessions.begin() as session:
        remove_channel(session, "s", actor="test", now=clock())
    with sessions() as session:
        assert list_channels(session) == []
        with pytest.raises(ChannelError, match="no channel"):
            remove_channel(session, "s", actor="test", now=clock())


def test_an_apprise_mailto_channel_reaches_a_real_smtp_server(sessions, settings, clock, sink):
    port = sink.url.rsplit(":", 1)[1]
    url = f"mailto://127.0.0.1:{port}?from=tracker@example.org&to=ra-team@example.org&mode=insecure"
    _add(sessions, clock, name="team-mail", kind="apprise", url=url, lang="en")
    assert send_test_message(sessions, settings, "team-mail", now=clock, actor="test").ok
    [mail] = sink.messages()
    assert mail["To"] == "ra-team@example.org" and mail["Subject"] == "Test message: channel team-mail works"
