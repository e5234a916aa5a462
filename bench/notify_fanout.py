"""Benchmark: deliveries fanned out to many chat channels through the outbox, against a bare httpx loop posting the
very same requests.

    .venv/bin/python bench/notify_fanout.py [--events 100] [--channels 100] [--rounds 3]

Sets up `--channels` signed webhook channels in a fresh SQLite database (bench/out/), all pointing at one receiver:
tracker.dev.chatsinks in its own process (a threaded HTTP/1.1 server that checks every signature, as in `make run`).
Each round, run side by side in this process and interleaved (bare, outbox, bare, outbox, …) so that a load that
drifts weighs on both alike:

- outbox: `enqueue` of events × channels messages (a transaction per CHUNK deliveries), then `send_pending` (claim a
  batch, sign, post, judge the answer, settle the batch with the next claim), on a copy of the database with the
  channels and nothing else (deleted after the round: at full size it holds a million rows);
- bare: one httpx.Client posting the same number of requests: the same bodies and signed headers, built beforehand
  (untimed, CHUNK at a time) by the webhook kind, and checking each status.

The receiver only counts what it accepted, so memory stays flat at the full 10,000 × 100 size.

Prints per-delivery times (median over the rounds), the ratio outbox / bare (goal ≤ 2) both of the medians and as the
median of each round's own ratio (a round's two runs are side by side, so the latter is the steadier on a machine
whose load drifts), and the load average after each round.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

import httpx  # noqa: E402

from tracker.config import Settings  # noqa: E402
from tracker.notify.channels import add_channel  # noqa: E402
from tracker.notify.outbox import Message, enqueue, send_pending  # noqa: E402
from tracker.notify.transport import Target  # noqa: E402
from tracker.notify.webhook import Webhook  # noqa: E402
from tracker.store.engine import make_engine, make_session_factory  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402

SECRET = "bench-secret"
CHUNK = 10_000  # deliveries per enqueue transaction, and per batch of the bare loop's prebuilt requests
RECEIVER = """
import sys
from tracker.dev.chatsinks import ChatSinks
sinks = ChatSinks()


class Count(list):
    # Only the count is read: a million stored requests would need gigabytes.
    def __init__(self):
        super().__init__()
        self.n = 0

    def append(self, _):
        self.n += 1

    def __len__(self):
        return self.n


sinks.received = Count()
for n in range(int(sys.argv[1])):
    sinks.webhook_url(f"c{n:03d}", sys.argv[2])
sinks.start()
print(sinks.port, flush=True)
sys.stdin.read()
print(len(sinks.received), len(sinks.refused), flush=True)
"""


def payload(n: int) -> dict:
    """An event message of the usual size (one device, Chinese text)."""
    return {"lang": "zh", "headline": f"新注册证：肺结节CT图像辅助检测软件{n:04d}", "watch": "影像", "count": 1,
            "more_url": None, "items": [{
                "label": "新注册证", "title": f"肺结节CT图像辅助检测软件{n:04d}", "company": "某医疗科技有限公司",
                "ref": f"国械注准2026321{9000 + n % 1000}", "areas": "医学影像", "date": "2026-12-01",
                "url": f"https://tracker.example.org/devices/{n}", "sample": True}]}


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    total = args.events * args.channels
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(args.channels), SECRET], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    base = f"http://127.0.0.1:{port}"
    template = OUT / "notify_template.sqlite3"
    template.unlink(missing_ok=True)
    upgrade(f"sqlite:///{template}")
    now = datetime.now(timezone.utc)
    engine = make_engine(f"sqlite:///{template}")
    with make_session_factory(engine).begin() as session:
        for n in range(args.channels):
            add_channel(session, name=f"c{n:03d}", kind="webhook", url=f"{base}/hook/c{n:03d}", secret=SECRET,
                        actor="bench", now=now)
    engine.dispose()
    payloads = [payload(n) for n in range(args.events)]

    def chunks():
        """The events in slices of about CHUNK deliveries: enqueue and the bare loop's request building go by these."""
        step = max(CHUNK // args.channels, 1)
        for first in range(0, args.events, step):
            yield [(e, payloads[e]) for e in range(first, min(first + step, args.events))]

    def requests(chunk: list[tuple[int, dict]]) -> list:
        kind, when = Webhook(), datetime.now(timezone.utc)
        return [kind.build(Target(c + 1, f"c{c:03d}", "webhook", f"{base}/hook/c{c:03d}", SECRET), p,
                           f"bare-{e}-{c}", when) for e, p in chunk for c in range(args.channels)]

    def bare() -> float:
        elapsed = 0.0
        with httpx.Client() as client:
            for chunk in chunks():
                built = requests(chunk)  # built beforehand, untimed, a chunk at a time (not a million at once)
                start = time.perf_counter()
                for out in built:
                    response = client.post(out.url, content=out.content,
                                           headers={"Content-Type": "application/json; charset=utf-8", **out.headers})
                    if response.status_code != 204:
                        raise SystemExit(f"bare post refused: {response.status_code} {response.text}")
                elapsed += time.perf_counter() - start
        return elapsed

    def outbox(round_no: int) -> tuple[float, float]:
        db = OUT / f"notify_round{round_no}.sqlite3"
        shutil.copy(template, db)
        settings = Settings(var_dir=OUT / "var", database_url=f"sqlite:///{db}")
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        start = time.perf_counter()
        queued = 0
        for chunk in chunks():  # one transaction per chunk, as a fan-out run would: not a million rows in one
            with sessions.begin() as session:
                queued += enqueue(session, [Message(c + 1, f"device:{e}:new", p) for e, p in chunk
                                            for c in range(args.channels)], datetime.now(timezone.utc))
        queued_at = time.perf_counter()
        result = send_pending(sessions, settings, now=lambda: datetime.now(timezone.utc))
        done = time.perf_counter()
        engine.dispose()
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
        if queued != total or result.sent != total:
            raise SystemExit(f"outbox: queued {queued}, sent {result.sent} of {total} ({result})")
        return queued_at - start, done - queued_at

    bare_times, enqueue_times, send_times, loads = [], [], [], []
    for r in range(args.rounds):
        bare_times.append(bare())
        enq, snd = outbox(r)
        enqueue_times.append(enq)
        send_times.append(snd)
        loads.append(loadavg())
        print(f"round {r + 1}: bare {bare_times[-1] / total * 1e3:.3f} ms, outbox enqueue "
              f"{enq / total * 1e3:.3f} + send {snd / total * 1e3:.3f} ms per delivery; load {loads[-1]}",
              flush=True)
    receiver.stdin.close()
    received, refused = receiver.stdout.read().split()
    receiver.wait()
    per = {name: statistics.median(times) / total * 1e3 for name, times in
           (("bare", bare_times), ("enqueue", enqueue_times), ("send", send_times),
            ("outbox", [a + b for a, b in zip(enqueue_times, send_times, strict=True)]))}
    print(f"\n{args.events} events × {args.channels} channels = {total} deliveries per run, {args.rounds} rounds "
          f"(receiver accepted {received}, refused {refused})")
    print(f"bare httpx loop   {per['bare']:.3f} ms per delivery")
    print(f"outbox            {per['outbox']:.3f} ms per delivery (enqueue {per['enqueue']:.3f} + send "
          f"{per['send']:.3f})")
    rounds = [(a + b) / c for a, b, c in zip(enqueue_times, send_times, bare_times, strict=True)]
    print(f"ratio outbox / bare: {per['outbox'] / per['bare']:.2f} of the medians, {statistics.median(rounds):.2f} "
          f"the median of the rounds' own ratios ({', '.join(f'{r:.2f}' for r in rounds)}) (goal ≤ 2)")
    print(f"load averages after each round: {', '.join(loads)} (a 2-core machine shared with other work)")


if __name__ == "__main__":
    main()
