"""`tracker channel add|list|test|remove` and `tracker watch add|list|remove` against the real stand-ins: the test
message of every kind is accepted by its stand-in (signatures checked on the real clock), a refused one exits 1 with
the platform's answer, and credentials never appear in what the commands print."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tracker.cli.main import main
from tracker.dev.chatsinks import ChatSinks


@pytest.fixture
def live_chats():
    """Stand-ins on the real clock: the CLI signs with the time of day."""
    sinks = ChatSinks().start()
    yield sinks
    sinks.stop()


@pytest.fixture
def run_cli(settings):
    env = {"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir)}

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)

    return invoke


def test_channel_test_works_for_each_kind_against_its_stand_in(run_cli, live_chats):
    specs = [
        ("hook", "webhook", live_chats.webhook_url("team", "whsec-0123456789"), "whsec-0123456789"),
        ("wecom", "wecom", live_chats.wecom_url("wk-0123456789"), None),
        ("ding", "dingtalk", live_chats.dingtalk_url("dt-0123456789", "SEC0123456789"), "SEC0123456789"),
        ("feishu", "feishu", live_chats.feishu_url("fs-0123456789", "fs-secret-0123"), "fs-secret-0123"),
        ("slack", "slack", live_chats.slack_url("T0/B0/0123456789"), None),
        ("apprise", "apprise", live_chats.apprise_url("ops"), None),
    ]
    for name, kind, url, secret in specs:
        args = ["channel", "add", name, "--kind", kind, "--url", url] + (["--secret-stdin"] if secret else [])
        added = run_cli(*args, stdin=f"{secret}\n" if secret else None)
        assert added.exit_code == 0, added.output
        tested = run_cli("channel", "test", name)
        assert tested.exit_code == 0 and f"{name}: sent" in tested.output, tested.output
    assert live_chats.refused == [] and len(live_chats.received) == len(specs)
    listed = run_cli("channel", "list").output
    assert "sent=1" in listed and "0123456789" not in listed and "fs-secret" not in listed


def test_a_refused_test_exits_1_with_the_platforms_answer(run_cli, live_chats):
    url = live_chats.feishu_url("fs", "right-secret")
    run_cli("channel", "add", "fs", "--kind", "feishu", "--url", url, "--secret-stdin", stdin="wrong-secret\n")
    result = run_cli("channel", "test", "fs")
    assert result.exit_code == 1 and "failed" in result.output and "19021" in result.output
    assert "right-secret" not in result.output and "wrong-secret" not in result.output


def test_a_webhook_added_without_a_secret_prints_a_generated_one_once(run_cli, live_chats):
    added = run_cli("channel", "add", "hook", "--kind", "webhook", "--url", "https://receiver.example/hook")
    assert "signing secret (shown once" in added.output
    secret = added.output.rsplit(": ", 1)[1].strip()
    assert secret not in run_cli("channel", "list", "--json").output


def test_watch_commands(run_cli, live_chats):
    run_cli("channel", "add", "wecom", "--kind", "wecom", "--url", live_chats.wecom_url("k"))
    added = run_cli("watch", "add", "影像", "--channel", "wecom", "--area", "medical_imaging")
    assert added.exit_code == 0, added.output
    assert "影像" in run_cli("watch", "list").output and "medical_imaging" in run_cli("watch", "list").output
    refused = run_cli("watch", "add", "x", "--channel", "wecom", "--area", "nope")
    assert refused.exit_code == 2 and "not a known area code" in refused.output
    assert run_cli("watch", "remove", "影像").exit_code == 0
    assert run_cli("watch", "list").output == ""



def test_watch_add_follows_a_certificate_with_a_daily_hour_and_refuses_a_malformed_number(run_cli, live_chats):
    run_cli("channel", "add", "wecom", "--kind", "wecom", "--url", live_chats.wecom_url("k"))
    added = run_cli("watch", "add", "我们的证", "--channel", "wecom", "--certificate", "国械注准 2021３２１９９０４",
                    "--certificate", "国械注进20233210001", "--frequency", "daily", "--hour", "8")
    assert added.exit_code == 0 and "daily after 08:00" in added.output, added.output
    listed = run_cli("watch", "list").output
    assert "daily 08:00" in listed and "国械注准20213219904" in listed and "国械注进20233210001" in listed
    refused = run_cli("watch", "add", "坏号", "--channel", "wecom", "--certificate", "国械注准2021321990")
    assert refused.exit_code == 2 and "'国械注准2021321990' is not a registration certificate number" in refused.output
    late = run_cli("watch", "add", "晚", "--channel", "wecom", "--frequency", "daily", "--hour", "24")
    assert late.exit_code == 2 and "--hour" in late.output
