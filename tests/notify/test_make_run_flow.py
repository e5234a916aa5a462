"""The issue's done-when, scripted: `tracker dev` (make run) offline; an admin adds a generic webhook channel pointing
at the local receiver and a watch on an area; a newly ingested sample produces exactly one signed message there; and
`tracker channel test NAME` works for each kind against its stand-in. Real processes throughout: the dev runner, its
scheduler (notify:watches every 2 s instead of every minute) and web server, and the `tracker` commands."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time

from tests.mail.mailkit import ROOT, tracker_cmd, tracker_env
from tracker.config import Settings

NEW_PAGE = ROOT / "samples/nmpa_approvals/20261120093012345.html"  # holds one new AI X-ray device (乳腺X射线…)


def _chat_files(folder, route_part: str) -> list[dict]:
    if not folder.exists():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json")) if route_part in p.name]


def test_make_run_watch_to_one_signed_webhook_message_and_a_test_per_kind(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    env = tracker_env(settings, TRACKER_OFFLINE="1", TRACKER_SCHEDULE_NOTIFY_WATCHES="every 2s")
    for name in ("TRACKER_SMTP_URL", "TRACKER_PUBLIC_BASE_URL"):
        env.pop(name)
    dev = subprocess.Popen(tracker_cmd("dev", "--port", "0", "--no-ingest"), env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        kinds: dict[str, tuple[str, str | None]] = {}
        deadline = time.monotonic() + 60
        while not any("NMPA AI tracker:" in line for line in lines):
            line = dev.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
            if m := re.match(r"\s+(\w+)\s+(\S+://\S+)(?:\s+secret: (\S+))?$", line):
                kinds[m.group(1)] = (m.group(2), m.group(3))
        assert set(kinds) == {"webhook", "wecom", "dingtalk", "feishu", "slack", "apprise"}, "".join(lines)

        def tracker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run(tracker_cmd(*args), env=env, cwd=ROOT, input=stdin, capture_output=True,
                                  text=True, timeout=60)

        hook_url, hook_secret = kinds["webhook"]
        added = tracker("channel", "add", "team-hook", "--kind", "webhook", "--url", hook_url, "--secret-stdin",
                        stdin=hook_secret + "\n")
        assert added.returncode == 0, added.stderr
        watch = tracker("watch", "add", "X射线", "--channel", "team-hook", "--area", "medical_imaging.xray")
        assert watch.returncode == 0, watch.stderr
        ingest = tracker("ingest", "nmpa_approvals", str(NEW_PAGE))
        assert ingest.returncode == 0 and "new=7" in ingest.stdout, ingest.stdout + ingest.stderr

        folder = settings.var_dir / "chat"
        deadline = time.monotonic() + 60
        while not _chat_files(folder, "webhook_demo") and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(5)  # two more scheduler ticks: nothing more may arrive
        [message] = _chat_files(folder, "webhook_demo")
        headers = {k.lower(): v for k, v in message["headers"].items()}
        signed = headers["x-tracker-timestamp"].encode() + b"." + message["raw_body"].encode("utf-8")
        expected = "v1=" + hmac.new(hook_secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-tracker-signature"], expected)
        body = message["body"]
        assert body["count"] == 1 and body["delivery"] == headers["x-tracker-delivery"]
        assert body["items"][0]["title"] == "乳腺X射线图像计算机辅助检测软件" and body["items"][0]["sample"] is True

        for kind, (url, secret) in kinds.items():
            args = ["channel", "add", f"demo-{kind}", "--kind", kind, "--url", url]
            assert tracker(*args, *(["--secret-stdin"] if secret else []),
                           stdin=f"{secret}\n" if secret else None).returncode == 0
            tested = tracker("channel", "test", f"demo-{kind}")
            assert tested.returncode == 0 and "sent" in tested.stdout, (kind, tested.stdout, tested.stderr)
        assert len(_chat_files(folder, "")) == 1 + len(kinds)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGINT)
            try:
                dev.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)
