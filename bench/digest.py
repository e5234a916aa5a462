"""Benchmark: build, render and send every daily digest to a local SMTP sink, against a bare smtplib loop.

    .venv/bin/python bench/digest.py [--subscribers 10000] [--items 500] [--database-url URL]

Sets up a fresh database (SQLite under bench/out/ unless --database-url names an empty PostgreSQL database), with
`--items` devices and policies new since yesterday (plus as many older ones that no digest may contain), all tagged,
and `--subscribers` confirmed daily subscribers with varied filters (areas, sub-areas, functions, diseases, companies,
keywords, policy types, devices and/or policies; seeded, so every run is the same). A sink (tracker.dev.mailsink, a real
aiosmtpd server writing .eml files) runs in its own process. Then, in one run:

- tracker: `enqueue_digests` (build with the shared query builders, render, store message + sha256 in the outbox)
  followed by `send_pending` (claim, SMTP, mark sent: two commits per message), timed separately and together;
- bare: one smtplib connection sending the very same pre-rendered messages (read from the outbox first, untimed).

Prints messages/s for both and the ratio tracker total / bare loop (target: at most 3).
"""
from __future__ import annotations

import argparse
import random
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from sqlalchemy import insert, select  # noqa: E402

from tracker.classify import taxonomy  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.dev.mailsink import free_port  # noqa: E402
from tracker.mail.outbox import enqueue_digests, send_pending  # noqa: E402
from tracker.mail.smtp import sender_address  # noqa: E402
from tracker.read.lists import POLICY_TYPE_LABELS  # noqa: E402
from tracker.store.engine import make_engine, make_session_factory  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402
from tracker.store.models import Device, Outbox, Policy, Subscriber, Subscription, Tag  # noqa: E402

NOW = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)  # 08:00 Beijing: the daily digest's time
AREAS = [n.code for n in taxonomy.nodes("area")]
FUNCTIONS = [n.code for n in taxonomy.nodes("function")]
DISEASES = [n.code for n in taxonomy.nodes("disease")]
TYPES = list(POLICY_TYPE_LABELS)
COMPANIES = ["推想医疗科技股份有限公司", "深圳科亚医疗科技有限公司", "上海联影智能医疗科技有限公司", "北京安德医智科技有限公司",
             "乐普（北京）医疗器械股份有限公司", "上海鹰瞳医疗科技有限公司", "杭州深睿博联科技有限公司", "数坤（北京）网络科技股份有限公司"]
PRODUCTS = ["肺结节CT图像辅助检测软件", "冠脉CT血流储备分数计算软件", "糖尿病视网膜病变眼底图像辅助诊断软件", "颅内出血CT影像辅助分诊软件",
            "心电图自动分析软件", "骨折X射线图像辅助检测软件", "乳腺X射线图像辅助诊断软件", "宫颈细胞学数字病理图像辅助分析软件",
            "结直肠息肉内窥镜图像辅助检测软件", "骨龄X射线图像辅助评估软件"]
KEYWORDS = ["肺结节", "冠脉", "眼底", "骨折", "心电", "病理", "人工智能", "深度学习", "CT", "乳腺"]


def populate(sessions, items: int, subscribers: int, rng: random.Random) -> None:
    """Items (half before the window) with tags, and subscribers with varied filters."""
    yesterday = NOW - timedelta(days=1)
    with sessions.begin() as s:
        devices, policies, tags = [], [], []
        for n in range(items * 2):
            fresh = n % 2 == 0
            seen = yesterday + timedelta(minutes=rng.randint(1, 1400)) if fresh else NOW - timedelta(days=30)
            if n % 5 == 4:
                policies.append({"key": f"bench:{n}", "title_key": f"bench {n}", "title": f"关于{rng.choice(KEYWORDS)}"
                                 f"相关医疗器械的指导原则（样例 {n}）", "issuer": "国家药品监督管理局",
                                 "doc_type": POLICY_TYPE_LABELS[rng.choice(TYPES)], "url": f"https://example.org/{n}",
                                 "is_ai": True, "first_seen": seen, "updated_at": seen, "field_sources": {},
                                 "attachments": [], "status": "active", "is_sample": True})
            else:
                devices.append({"cert_no": f"国械注准2026321{9000 + n:05d}", "product_name": rng.choice(PRODUCTS),
                                "registrant": rng.choice(COMPANIES), "mgmt_class": 3, "is_ai": rng.random() < 0.9,
                                "first_seen": seen, "updated_at": seen, "field_sources": {}, "is_sample": True})
        s.execute(insert(Device), devices)
        s.execute(insert(Policy), policies)
        for kind, model in (("device", Device), ("policy", Policy)):
            for (entity_id,) in s.execute(select(model.id)):
                sub = rng.choice([a for a in AREAS if "." in a])
                codes = [("area", sub.split(".")[0]), ("area", sub)]
                if kind == "device":
                    codes += [("function", rng.choice(FUNCTIONS)), ("disease", rng.choice(DISEASES))]
                for facet, code in codes:
                    tags.append({"entity_type": kind, "entity_id": entity_id, "facet": facet, "code": code,
                                 "method": "rule", "taxonomy_version": "bench", "confidence": 1.0, "evidence": [],
                                 "active": True, "created_at": yesterday, "updated_at": yesterday})
        s.execute(insert(Tag), tags)
        people = [{"email": f"reader{n:05d}@example.org", "status": "active", "lang": "zh",
                   "created_at": NOW - timedelta(days=2), "confirmed_at": NOW - timedelta(days=2)}
                  for n in range(subscribers)]
        s.execute(insert(Subscriber), people)
        ids = s.execute(select(Subscriber.id).order_by(Subscriber.id)).scalars().all()
        s.execute(insert(Subscription), [{
            "subscriber_id": i, "filters": random_filters(rng), "frequency": "daily", "active": True,
            "include_devices": rng.random() < 0.9, "include_policies": rng.random() < 0.7,
            "created_at": NOW - timedelta(days=2), "updated_at": NOW - timedelta(days=2)} for i in ids])


def random_filters(rng: random.Random) -> dict:
    """One of many filter shapes: everything, areas, area + function, diseases, companies, keywords, policy types."""
    shape = rng.randrange(8)
    if shape == 0:
        return {}
    if shape == 1:
        return {"areas": rng.sample(AREAS, rng.randint(1, 2))}
    if shape == 2:
        return {"areas": [rng.choice(AREAS)], "functions": rng.sample(FUNCTIONS, rng.randint(1, 2))}
    if shape == 3:
        return {"diseases": rng.sample(DISEASES, rng.randint(1, 3))}
    if shape == 4:
        return {"companies": [c[:4] for c in rng.sample(COMPANIES, rng.randint(1, 2))]}
    if shape == 5:
        return {"keywords": rng.sample(KEYWORDS, rng.randint(1, 2))}
    if shape == 6:
        return {"policy_types": rng.sample(TYPES, 2), "areas": [rng.choice(AREAS)]}
    return {"areas": [rng.choice(AREAS)], "diseases": [rng.choice(DISEASES)], "ai_only": False}


def start_sink(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tracker.dev.mailsink", str(folder), str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # "mail sink: ..." once it listens
    return proc, f"smtp://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--database-url", default=None, help="An empty database (default: SQLite in bench/out/)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="digest-bench-", dir=OUT))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    sink, smtp_url = start_sink(work / "mail")
    try:
        settings = Settings(var_dir=work / "var", database_url=url, smtp_url=smtp_url,
                            mail_from="NMPA AI Tracker <digest@tracker.example.org>",
                            public_base_url="https://tracker.example.org", secret_key="bench")
        upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        populate(sessions, args.items, args.subscribers, random.Random(2026))
        print(f"{args.subscribers} subscribers, {args.items} new items (+{args.items} older), {engine.dialect.name}")

        t0 = time.perf_counter()
        queued = enqueue_digests(sessions, settings, "daily", NOW)
        t1 = time.perf_counter()
        sent = send_pending(sessions, settings, now=lambda: NOW)
        t2 = time.perf_counter()
        assert sent.sent == queued.queued, (sent, queued)

        with sessions() as s:
            messages = [(r, m.encode("ascii")) for r, m in s.execute(
                select(Outbox.recipient, Outbox.raw_message).order_by(Outbox.id))]
        sender = sender_address(settings.mail_from)
        t3 = time.perf_counter()
        smtp = smtplib.SMTP("127.0.0.1", int(smtp_url.rsplit(":", 1)[1]))
        for recipient, raw in messages:
            smtp.sendmail(sender, [recipient], raw)
        smtp.quit()
        bare = time.perf_counter() - t3

        n = len(messages)
        size = sum(len(raw) for _, raw in messages) / max(n, 1)
        items = sum(r for (r,) in sessions().execute(select(Outbox.item_count)))
        total = t2 - t0
        print(f"digests: {queued.due} due, {n} sent, {queued.empty} empty; {items / max(n, 1):.1f} items and "
              f"{size / 1024:.1f} KiB per message")
        print(f"tracker  build+render+store {t1 - t0:6.1f} s   send {t2 - t1:6.1f} s   total {total:6.1f} s   "
              f"{n / total:7.0f} msg/s")
        print(f"bare smtplib loop                                       total {bare:6.1f} s   "
              f"{n / bare:7.0f} msg/s")
        print(f"ratio tracker / bare = {total / bare:.2f} (target <= 3)")
        engine.dispose()
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
