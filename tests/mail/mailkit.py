"""Helpers for the mail tests: rows for devices, policies, subscribers, and the `tracker` command in a child process
(the SMTP sink and mail settings fixtures are in tests/conftest.py).

Imported by the test modules of tests/mail (this folder has no __init__.py, so pytest puts it on sys.path).
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import MAIL_BASE_URL
from tracker.store.models import Device, Policy, Subscriber, Subscription, Tag

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing time
BASE_URL = MAIL_BASE_URL


def tag(session, entity_type: str, entity_id: int, facet: str, code: str, now: datetime) -> None:
    """An active rule tag."""
    session.add(Tag(entity_type=entity_type, entity_id=entity_id, facet=facet, code=code, method="rule",
                    taxonomy_version="test", confidence=1.0, evidence=[], active=True, created_at=now,
                    updated_at=now))


_cert = iter(range(9001, 9999))


def add_device(session, name: str, *, seen: datetime, registrant: str = "测试医疗科技有限公司",
               areas=(), functions=(), diseases=(), is_ai: bool = True, updated: datetime | None = None) -> Device:
    """A class-III device row with tags (synthetic certificate numbers, serial 9xxx)."""
    device = Device(cert_no=f"国械注准2026321{next(_cert)}", product_name=name, registrant=registrant, mgmt_class=3,
                    is_ai=is_ai, first_seen=seen, updated_at=updated or seen, field_sources={}, is_sample=False)
    session.add(device)
    session.flush()
    for facet, codes in (("area", areas), ("function", functions), ("disease", diseases)):
        for code in codes:
            tag(session, "device", device.id, facet, code, seen)
    return device


def add_policy(session, title: str, *, seen: datetime, doc_type: str | None = None, areas=(),
               is_ai: bool = True, issuer: str = "国家药品监督管理局") -> Policy:
    """A policy row (doc_type is the Chinese label, as the store writes it) with area tags."""
    policy = Policy(key=f"test:{title}", title_key=title, title=title, issuer=issuer, doc_type=doc_type,
                    url=f"https://www.nmpa.gov.cn/{abs(hash(title))}.html", is_ai=is_ai, first_seen=seen,
                    updated_at=seen, field_sources={}, attachments=[], status="active")
    session.add(policy)
    session.flush()
    for code in areas:
        tag(session, "policy", policy.id, "area", code, seen)
    return policy


def add_subscriber(session, email: str, *, created: datetime, status: str = "active", frequency: str = "daily",
                   filters: dict | None = None, devices: bool = True, policies: bool = True) -> Subscription:
    """A subscriber with one subscription."""
    subscriber = Subscriber(email=email, status=status, lang="zh", created_at=created,
                            confirmed_at=created if status == "active" else None)
    session.add(subscriber)
    session.flush()
    sub = Subscription(subscriber_id=subscriber.id, include_devices=devices, include_policies=policies,
                       filters=filters or {}, frequency=frequency, active=True, created_at=created,
                       updated_at=created)
    session.add(sub)
    session.flush()
    return sub


def by_recipient(messages) -> dict[str, Counter]:
    """{recipient: Counter(Message-ID)} over parsed messages."""
    out: dict[str, Counter] = {}
    for msg in messages:
        out.setdefault(str(msg["To"]), Counter())[str(msg["Message-ID"])] += 1
    return out


def tracker_cmd(*args: str) -> list[str]:
    """The `tracker` command line run with this interpreter (no installed entry point needed)."""
    return [sys.executable, "-c", "from tracker.cli.main import main; main()", *args]


def tracker_env(settings, **extra: str) -> dict[str, str]:
    """Environment for a `tracker` subprocess using these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({
        "TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir),
        "TRACKER_SMTP_URL": settings.smtp_url, "TRACKER_MAIL_FROM": settings.mail_from,
        "TRACKER_PUBLIC_BASE_URL": settings.public_base_url, "TRACKER_SECRET_KEY": settings.secret_key,
        "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def run_tracker(settings, *args: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess:
    """Run `tracker ARGS` to completion in a subprocess."""
    return subprocess.run(tracker_cmd(*args), env=tracker_env(settings, **extra), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
