"""`tracker dev` (make run): the sample servers answer like the real hosts, and the whole system comes up offline,
serves pages, and stops cleanly and at once on Ctrl-C (no worker SIGKILLed, even with half-open connections)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from urllib.parse import urlsplit

import httpx

from tests.mail.mailkit import ROOT, tracker_cmd, tracker_env
from tracker.config import Settings
from tracker.dev.runner import SampleServers


def test_sample_servers_serve_each_source_at_its_own_root():
    servers = SampleServers(["govcn_policy", "nmpa_approvals", "no_such_source"]).start()
    try:
        assert set(servers.urls) == {"govcn_policy", "nmpa_approvals"}
        gov = servers.urls["govcn_policy"]
        found = httpx.get(f"{gov}/search-gov/data", params={"t": "zhengcelibrary", "q": "人工智能 医疗", "p": "1",
                                                             "n": "20", "sort": "pubtime"})
        other = httpx.get(f"{gov}/search-gov/data", params={"t": "zhengcelibrary", "q": "别的", "p": "1"})
        assert found.status_code == other.status_code == 200
        expected = json.loads((ROOT / "samples/govcn_policy/search-gov/responses/"
                               "zhengcelibrary-ai-medical-p1.json").read_text(encoding="utf-8"))
        assert found.json() == expected
        assert other.json() == json.loads((ROOT / "samples/govcn_policy/search-gov/responses/empty.json")
                                          .read_text(encoding="utf-8"))
        page = httpx.get(f"{servers.urls['nmpa_approvals']}/index.html")
        assert page.status_code == 200 and "医疗器械批准证明文件送达信息" in page.text
        assert httpx.get(f"{gov}/nothing-here.html").status_code == 404
    finally:
        servers.stop()


def test_make_run_comes_up_offline_and_stops_on_ctrl_c(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")  # a fresh machine: no database yet, `tracker dev` migrates it
    env = tracker_env(settings, TRACKER_OFFLINE="1")
    for name in ("TRACKER_SMTP_URL", "TRACKER_PUBLIC_BASE_URL"):
        env.pop(name)  # as on a fresh machine: the dev command brings its own sink and URL
    proc = subprocess.Popen(tracker_cmd("dev", "--port", "0", "--no-ingest"), env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 40
        while url is None:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
            if match := re.search(r"NMPA AI tracker: (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
        assert any("offline: serving samples/" in line for line in lines)
        assert any("mail sink: smtp://127.0.0.1:" in line for line in lines)
        for _ in range(100):
            try:
                page = httpx.get(f"{url}/subscribe", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200
        # What a browser leaves open: a connection with half a request (a speculative pre-connection, a stalled
        # client). It held a gunicorn thread in a read with no time limit, and its worker was SIGKILLed on Ctrl-C.
        host, port = urlsplit(url).hostname, urlsplit(url).port
        half = socket.create_connection((host, port))
        half.sendall(b"GET /devi")
        idle = socket.create_connection((host, port))
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole process group
        asked = time.monotonic()
        rest, _ = proc.communicate(timeout=30)
        took = time.monotonic() - asked
        half.close()
        idle.close()
        assert proc.returncode == 0, "".join(lines) + rest
        assert "stopped" in rest
        assert "SIGKILL" not in rest, rest
        assert took < 5, f"{took:.1f} s to stop\n{rest}"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("processes of `tracker dev` are still running after Ctrl-C")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
