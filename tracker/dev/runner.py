"""`tracker dev` (what `make run` starts): the whole tracker on one machine, online or, with no internet, on samples/.

It brings up, in this order:
  1. the database schema (migrations);
  2. when the real sites cannot be reached (a 3 s HEAD to the UDI host fails, or TRACKER_OFFLINE=1), one local HTTP
     server per folder of samples/, each at the root of its own 127.0.0.1 port like the real host, and points every
     source at it (TRACKER_SOURCE_<SLUG>_URL, TRACKER_SAMPLE_MODE=1);
  3. a mail sink (aiosmtpd on 127.0.0.1:8025, or a free port) writing every message to var/mail/, unless
     TRACKER_SMTP_URL names a real server;
  4. the chat stand-ins (tracker.dev.chatsinks, on 127.0.0.1:8030 or a free port): a local WeCom, DingTalk, Feishu,
     Slack, signed-webhook receiver and Apprise endpoint, each message written to var/chat/;
  5. the scheduler (`tracker schedule`) and the web server, each as its own process;
  6. one ingestion of every registered source right away (in this process, in the background);
then prints the URL. Ctrl-C or SIGTERM stops the children and the servers and exits cleanly.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

import httpx

from tracker.config import Settings
from tracker.dev.chatsinks import ChatSinks
from tracker.ingest.run import run_source
from tracker.read import stats
from tracker.records import SourceModule
from tracker.store.engine import make_engine, make_session_factory
from tracker.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
REAL_HOST_PROBE = "https://udi.nmpa.gov.cn/download.html"


class SampleHandler(SimpleHTTPRequestHandler):
    """Serves a samples/<slug>/ folder at the root; a path answered by a `_manifest.json` picks its file by query."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def send_head(self):  # noqa: D102 - http.server hook
        parts = urlsplit(self.path)
        target = Path(self.translate_path(parts.path))
        manifest = target.parent / "_manifest.json"
        if not target.exists() and manifest.is_file():
            self.path = "/" + str(_manifest_file(manifest, parse_qs(parts.query)).relative_to(self.directory))
        return super().send_head()


def _manifest_file(manifest: Path, query: dict[str, list[str]]) -> Path:
    """The response file a sample manifest names for a query (see samples/govcn_policy/README.md)."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    params = {k: v[0] for k, v in query.items()}
    for entry in data.get("responses", []):
        keys = [k for k in entry if k != "file"]
        if all(str(entry[k]) == params.get(k) for k in keys):
            return manifest.parent / entry["file"]
    return manifest.parent / data["fallback"]


class SampleServers:
    """One loopback HTTP server per sample folder, each in its own thread."""

    def __init__(self, slugs: list[str], samples: Path = SAMPLES):
        self.urls: dict[str, str] = {}
        self._servers: list[ThreadingHTTPServer] = []
        for slug in slugs:
            folder = samples / slug
            if not folder.is_dir():
                continue
            server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SampleHandler, directory=str(folder)))
            self._servers.append(server)
            self.urls[slug] = f"http://127.0.0.1:{server.server_address[1]}"

    def start(self) -> "SampleServers":
        """Serve in daemon threads."""
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="samples",
                             daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop every server."""
        for server in self._servers:
            server.shutdown()
            server.server_close()


def internet_reachable(timeout: float = 3.0) -> bool:
    """Whether the real UDI site answers a HEAD within `timeout` seconds."""
    try:
        httpx.head(REAL_HOST_PROBE, timeout=timeout)
        return True
    except httpx.HTTPError:
        return False


def pick_port(preferred: int) -> int:
    """`preferred` when it is free on 127.0.0.1, else any free port."""
    # The mail sink's module needs aiosmtpd, the dev extra: imported only when `tracker dev` runs.
    from tracker.dev.mailsink import free_port, port_is_free

    return preferred if preferred and port_is_free(preferred) else free_port()


def say(text: str, err: bool = False) -> None:
    """A line for the person at the terminal (standard error for trouble)."""
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def retry_command(slug: str, base_url: str | None) -> str:
    """The command that runs one source again by hand (from the sample server when there is one)."""
    return f"tracker scrape {slug} --bootstrap" + (f" --base-url {base_url}" if base_url else "")


def outcome_lines(slug: str, outcome: str, counts: str, reason: str | None, base_url: str | None) -> list[str]:
    """What the terminal says of one source's run: its outcome and counts, and for anything but ok why, and how to
    run it again."""
    lines = [f"  ingest {slug}: {outcome}" + (f" ({counts})" if counts else "")]
    if outcome != "ok":
        if reason:
            lines.append(f"    why: {reason}")
        lines.append(f"    retry: {retry_command(slug, base_url)}")
    return lines


def ingest_all(settings: Settings, sources: Iterable[SourceModule], echo: Callable[..., None] = say,
               url: str | None = None) -> tuple[int, int]:
    """One run of every source now (tracker.ingest.run reads a loopback sample server without the politeness
    wait), saying each source's outcome as it finishes, then "ingest complete" with the store's totals and `url`.
    Returns the numbers of devices and policies stored."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        for module in sources:
            base_url = settings.source_urls.get(module.SLUG)
            try:
                result = run_source(settings, sessions, module, bootstrap=True, trigger="dev")
                counts = f"run {result.run_id}: {result.new} new, {result.changed} changed, {result.fetched} fetched"
                lines = outcome_lines(module.SLUG, result.outcome, counts, result.error, base_url)
            except Exception as exc:  # noqa: BLE001 - one source failing must not stop the others
                lines = outcome_lines(module.SLUG, "error", "", f"{type(exc).__name__}: {exc}", base_url)
            for line in lines:
                echo(line)
        with sessions() as session:
            devices, policies = stats.totals(session)
        echo(f"ingest complete: {devices} devices, {policies} policies")
        if url:
            echo(f"\n  NMPA AI tracker: {url}\n")
        return devices, policies
    finally:
        engine.dispose()


def _child_env(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir),
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def _tracker(*args: str) -> list[str]:
    return [sys.executable, "-c", "from tracker.cli.main import main; main()", *args]


def _web(port: int) -> list[str]:
    # gunicorn with the production configuration (web/serving.py: workers, threads, max_requests, the worker that
    # stops at once on Ctrl-C); the factory reads its settings from the TRACKER_* environment. No access log: a line
    # per static file drowned the ingest and mail lines a newcomer watches for.
    return [sys.executable, "-m", "gunicorn", "-c", "python:web.serving", "--bind", f"127.0.0.1:{port}",
            "web:create_app()"]


def run_dev(settings: Settings, sources: Mapping[str, SourceModule], *, port: int, offline: bool | None,
            ingest: bool, echo: Callable[..., None] = say) -> None:
    """Run the web server, the scheduler, a mail sink and (offline) the sample servers until Ctrl-C or SIGTERM.

    `echo(text, err=False)` prints a line for the person at the terminal.
    """
    from tracker.dev.mailsink import MailSink  # needs aiosmtpd, the dev extra

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    slugs = list(sources)
    if offline is None:
        offline = os.environ.get("TRACKER_OFFLINE") == "1" or not internet_reachable()
    extra: dict[str, str] = {}
    samples = sink = chats = None
    children: list[subprocess.Popen] = []
    stop = threading.Event()
    # Both set the stop event (SIGINT too: a shell may have started us with SIGINT ignored, and Ctrl-C must work).
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if offline:
            samples = SampleServers(slugs).start()
            for slug, url in samples.urls.items():
                extra[f"TRACKER_SOURCE_{slug.upper()}_URL"] = url
            extra["TRACKER_SAMPLE_MODE"] = "1"
            settings = settings.replace(source_urls={**settings.source_urls, **samples.urls}, sample_mode=True)
            echo(f"offline: serving samples/ for {len(samples.urls)} source(s) on 127.0.0.1")
            for slug, sample_url in samples.urls.items():
                echo(f"  sample {slug:16} port {urlsplit(sample_url).port}  {sample_url}")
        if not os.environ.get("TRACKER_SMTP_URL"):
            sink = MailSink(settings.var_dir / "mail", port=pick_port(8025)).start()
            extra["TRACKER_SMTP_URL"] = sink.url
            settings = settings.replace(smtp_url=sink.url)
            echo(f"mail sink: {sink.url} → {sink.folder}")
        chats = ChatSinks(port=pick_port(8030), folder=settings.var_dir / "chat").start()
        echo(f"chat stand-ins: {chats.base} → {chats.folder} (add a channel with one of these URLs; "
             "secrets via --secret-stdin)")
        for kind, (chat_url, secret) in chats.demo().items():
            echo(f"  {kind:9} {chat_url}" + (f"  secret: {secret}" if secret else ""))
        web_port = pick_port(port)
        url = f"http://127.0.0.1:{web_port}"
        if not os.environ.get("TRACKER_PUBLIC_BASE_URL"):
            extra["TRACKER_PUBLIC_BASE_URL"] = url
        env = _child_env(settings, extra)
        children.append(subprocess.Popen(_tracker("schedule"), env=env, cwd=ROOT))
        children.append(subprocess.Popen(_web(web_port), env=env, cwd=ROOT))
        echo(f"\n  NMPA AI tracker: {url}\n  (Ctrl-C stops everything)\n")
        if ingest:
            threading.Thread(target=ingest_all, args=(settings, list(sources.values()), echo, url), name="ingest",
                             daemon=True).start()
        while not stop.wait(0.2):
            for child in children:
                if child.poll() is not None and not stop.wait(0.2):  # not merely the first to see a Ctrl-C
                    echo(f"a child process exited (code {child.returncode}); stopping", err=True)
                    stop.set()
                    break
    finally:
        echo("stopping…")
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if sink is not None:
            sink.stop()
        if chats is not None:
            chats.stop()
        if samples is not None:
            samples.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        echo("stopped")
