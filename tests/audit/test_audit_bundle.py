"""The audit bundle: export a period, verify it offline, and see verification name every changed file and record."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from scrapers import nmpa_approvals
from tracker.audit import bundle as audit
from tracker.audit import log as auditlog
from tracker.audit import review
from tracker.cli.main import main
from tracker.ingest.run import ingest_path
from tracker.mail.smtp import build_message
from tracker.store.models import AuditLog, Outbox, SourceDocument, Subscriber, Subscription

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "nmpa_approvals"
DAY = date(2026, 11, 20)


def add_sent_digest(session, now: datetime) -> Outbox:
    subscriber = Subscriber(email="reader@example.org", status="active", lang="zh", created_at=now)
    session.add(subscriber)
    session.flush()
    subscription = Subscription(subscriber_id=subscriber.id, filters={}, created_at=now, updated_at=now)
    session.add(subscription)
    session.flush()
    raw = build_message(mail_from="Tracker <tracker@example.org>", to=subscriber.email, subject="每日摘要",
                        text="新批准：肺结节CT影像辅助检测软件", html=None, message_id="<d1@example.org>", date=now)
    row = Outbox(subscription_id=subscription.id, subscriber_id=subscriber.id, period_key="2026-11-20",
                 status="sent", message_id="<d1@example.org>", recipient=subscriber.email, subject="每日摘要",
                 raw_message=raw.decode("ascii"), sha256=hashlib.sha256(raw).hexdigest(), item_count=1,
                 created_at=now, sent_at=now)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def period_data(settings, sessions, clock, store):
    """A day with an ingest (WARC-archived), a reviewer decision, a digest sent; then a change ten days later."""
    result = ingest_path(settings, sessions, nmpa_approvals, SAMPLES, now=clock)
    assert result.outcome == "ok"
    with sessions.begin() as session:
        doc = session.execute(select(SourceDocument).order_by(SourceDocument.id)).scalars().first()
        review.decide(session, entity_type="device", entity_id=1, facet="ai", code="ai", decision="remove",
                      reason="<script>alert(1)</script> not AI", reviewer="rita", now=clock())
        digest = add_sent_digest(session, clock())
        ids = {"doc": doc.id, "digest": digest.id, "run": result.run_id}
    clock.advance(days=10)
    [later] = store(("颅内出血CT影像辅助分诊软件 新版", None))
    with sessions.begin() as session:
        auditlog.record(session, actor="root", action="user.create", now=clock(), target_type="user", target_id="x")
    ids["later_device"] = later
    return ids


@pytest.fixture
def bundle(settings, sessions, clock, tmp_path, period_data) -> Path:
    start, end = audit.period_bounds(DAY, DAY, settings.timezone)
    out = tmp_path / "bundle.zip"
    with sessions() as session:
        audit.export_bundle(session, settings.archive_dir, start=start, end=end, out=out, now=clock())
    return out


def records(path: Path, kind: str) -> list[dict]:
    with zipfile.ZipFile(path) as zf:
        return [json.loads(line) for line in zf.read(f"records/{kind}.jsonl").splitlines()]


def rewrite(path: Path, name: str, change) -> None:
    """Rewrite one member of the zip with `change(bytes) -> bytes`, keeping every other member as it was."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in members:
            zf.writestr(info, change(data) if info.filename == name else data)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_export_holds_the_period_and_verifies(bundle, period_data):
    report = audit.verify_bundle(bundle)
    assert report.ok, report.problems
    assert report.payloads_checked == 5 + 1  # five archived pages, one digest copy
    devices = records(bundle, "devices")
    assert len(devices) == 14 and period_data["later_device"] not in {d["id"] for d in devices}
    assert {r["entity_id"] for r in records(bundle, "revisions")} == {d["id"] for d in devices}
    events = records(bundle, "certificate_events")
    assert {e["device_id"] for e in events} <= {d["id"] for d in devices}
    assert ("correction", "2026-11-19") in {(e["kind"], e["event_date"]) for e in events if
                                           e["cert_no"] == "国械注准20213219904"}
    decisions = [t for t in records(bundle, "tags") if t["method"] == "reviewer"]
    assert [(t["entity_id"], t["decision"]) for t in decisions] == [(1, "remove")]
    assert [r["id"] for r in records(bundle, "runs")] == [period_data["run"]]
    assert [e["action"] for e in records(bundle, "audit_log")] == ["tag.decision"]
    [digest] = records(bundle, "digests")
    assert "raw_message" not in digest and digest["id"] == period_data["digest"]
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = zf.read("manifest.json")
        assert zf.read("manifest.sha256").decode() == f"{hashlib.sha256(manifest).hexdigest()}  manifest.json\n"
        assert f"digests/{digest['id']}.eml" in names
        warcs = {n for n in names if n.startswith("warc/")}
        assert warcs == {"warc/2026/11/20/nmpa_approvals-run1.warc.gz"}
        assert zf.getinfo(warcs.pop()).compress_type == zipfile.ZIP_STORED
    listed = json.loads(manifest)["files"]
    assert set(listed) == names - {"manifest.json", "manifest.sha256"}


def test_a_period_without_activity_gives_an_empty_but_valid_bundle(settings, sessions, clock, tmp_path, period_data):
    start, end = audit.period_bounds(date(2026, 10, 1), date(2026, 10, 31), settings.timezone)
    with sessions() as session:
        summary = audit.export_bundle(session, settings.archive_dir, start=start, end=end, out=tmp_path / "e.zip",
                                      now=clock())
    assert set(summary.counts.values()) == {0} and summary.warc_files == 0
    assert audit.verify_bundle(tmp_path / "e.zip").ok


RECORD_KINDS = ["devices", "revisions", "certificate_events", "tags", "record_sources", "runs", "source_documents", "audit_log", "digests"]


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_one_changed_byte_in_a_record_names_file_line_and_record(bundle, kind):
    name = f"records/{kind}.jsonl"
    rows = records(bundle, kind)
    target = len(rows) // 2  # a record in the middle
    with zipfile.ZipFile(bundle) as zf:
        lines = zf.read(name).splitlines(keepends=True)
    at = sum(len(line) for line in lines[:target]) + len(lines[target]) // 2
    rewrite(bundle, name, lambda data: flip(data, at))
    report = audit.verify_bundle(bundle)
    assert not report.ok
    assert any(p.startswith(f"{name}: sha256") for p in report.problems), report.problems
    assert f"{name} line {target + 1}: record {kind} id={rows[target]['id']} does not match the manifest" in \
        report.problems


def test_one_changed_byte_in_a_warc_file_names_the_file_and_the_source_document(bundle, sessions, period_data):
    with sessions() as session:
        doc = session.get(SourceDocument, period_data["doc"])
    name = f"warc/{doc.warc_path}"
    rewrite(bundle, name, lambda data: flip(data, doc.warc_offset + doc.warc_length // 2))
    problems = audit.verify_bundle(bundle).problems
    assert any(p.startswith(f"{name}: sha256") for p in problems), problems
    assert any(p.startswith(f"source_document id={doc.id} ({name} @ {doc.warc_offset})") for p in problems), problems


def test_a_warc_record_that_differs_from_its_recorded_hash_is_named(bundle, tmp_path, period_data):
    # A consistent forgery of the file list still fails: the payload must match the source_document row.
    with zipfile.ZipFile(bundle) as zf:
        name = next(n for n in zf.namelist() if n.startswith("warc/"))
        manifest = json.loads(zf.read("manifest.json"))
    docs = records(bundle, "source_documents")
    forged = [dict(d, sha256="0" * 64) if d["id"] == period_data["doc"] else d for d in docs]
    body = b"".join(audit.canonical_line(d) for d in forged)
    manifest["files"]["records/source_documents.jsonl"] = {"sha256": hashlib.sha256(body).hexdigest(),
                                                            "size": len(body)}
    manifest["records"]["records/source_documents.jsonl"] = [
        [d["id"], hashlib.sha256(audit.canonical_line(d)).hexdigest()] for d in forged]
    manifest_bytes = json.dumps(manifest).encode()
    rewrite(bundle, "records/source_documents.jsonl", lambda _data: body)
    rewrite(bundle, "manifest.json", lambda _data: manifest_bytes)
    rewrite(bundle, "manifest.sha256", lambda _data: f"{hashlib.sha256(manifest_bytes).hexdigest()}  x\n".encode())
    problems = audit.verify_bundle(bundle).problems
    assert len(problems) == 1 and problems[0].startswith(f"source_document id={period_data['doc']} ({name}")
    assert "differs from the recorded" in problems[0]


def test_one_changed_byte_in_a_digest_copy_is_named(bundle, period_data):
    name = f"digests/{period_data['digest']}.eml"
    rewrite(bundle, name, lambda data: flip(data, len(data) // 2))
    problems = audit.verify_bundle(bundle).problems
    assert any(p.startswith(f"{name}: sha256") for p in problems)
    assert f"digest id={period_data['digest']}: {name} sha256 differs from the outbox sha256" in problems


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sha256"])
def test_one_changed_byte_in_the_manifest_or_its_digest_is_named(bundle, name):
    rewrite(bundle, name, lambda data: flip(data, 3))
    problems = audit.verify_bundle(bundle).problems
    assert "manifest.json: its sha256 does not match manifest.sha256" in problems


def test_added_and_removed_files_are_named(bundle, period_data):
    name = f"digests/{period_data['digest']}.eml"
    with zipfile.ZipFile(bundle) as zf:
        members = [(info, zf.read(info.filename)) for info in zf.infolist() if info.filename != name]
    with zipfile.ZipFile(bundle, "w") as zf:
        for info, data in members:
            zf.writestr(info, data)
        zf.writestr("records/extra.jsonl", b"{}\n")
    problems = audit.verify_bundle(bundle).problems
    assert f"{name}: listed in the manifest but missing from the bundle" in problems
    assert "records/extra.jsonl: in the bundle but not in the manifest" in problems


def test_not_a_zip_is_reported(tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"not a zip at all")
    report = audit.verify_bundle(path)
    assert not report.ok and "not a readable zip file" in report.problems[0]


def test_cli_export_then_verify_without_any_database(settings, sessions, period_data, tmp_path):
    env = {"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir),
           "TRACKER_TIMEZONE": settings.timezone}
    out = tmp_path / "cli-bundle.zip"
    result = CliRunner().invoke(main, ["audit", "export", "--from", "2026-11-20", "--to", "2026-11-20",
                                       "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "devices=14" in result.output and "warc_files=1" in result.output
    with sessions() as session:
        entry = session.execute(select(AuditLog).where(AuditLog.action == "audit.export")).scalar_one()
    assert entry.actor.startswith("cli") and entry.detail["counts"]["devices"] == 14

    # Another "machine": a bare environment whose database does not exist, in another folder.
    offline = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
               "TRACKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "tracker.cli.main", "audit", "verify", str(out)]
    ok = subprocess.run(command, env=offline, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK:")

    rewrite(out, "records/devices.jsonl", lambda data: flip(data, 10))
    bad = subprocess.run(command, env=offline, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "MISMATCH records/devices.jsonl line 1: record devices id=1 does not match the manifest" in bad.stdout
    assert bad.stdout.rstrip().splitlines()[-1].startswith("FAILED:")


def test_cli_export_rejects_a_reversed_period(settings):
    env = {"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir)}
    result = CliRunner().invoke(main, ["audit", "export", "--from", "2026-11-21", "--to", "2026-11-20",
                                       "--out", "x.zip"], env=env)
    assert result.exit_code == 2 and "ends before it starts" in result.output


def test_export_needs_aware_datetimes(sessions, settings, tmp_path):
    with sessions() as session, pytest.raises(ValueError, match="timezone-aware"):
        audit.export_bundle(session, settings.archive_dir, start=datetime(2026, 11, 1), end=datetime(2026, 11, 2),
                            out=tmp_path / "x.zip", now=datetime(2026, 11, 2, tzinfo=timezone.utc))



def test_a_lost_archive_file_still_exports_and_verification_names_its_documents(settings, sessions, clock, tmp_path,
                                                                                 period_data):
    with sessions() as session:
        docs = session.execute(select(SourceDocument).order_by(SourceDocument.id)).scalars().all()
    (settings.archive_dir / docs[0].warc_path).unlink()
    start, end = audit.period_bounds(DAY, DAY, settings.timezone)
    with sessions() as session:
        summary = audit.export_bundle(session, settings.archive_dir, start=start, end=end, out=tmp_path / "l.zip",
                                      now=clock())
    assert [m["warc_path"] for m in summary.missing_warc_files] == [docs[0].warc_path]
    problems = audit.verify_bundle(tmp_path / "l.zip").problems
    assert problems == [f"source_document id={d.id} (warc/{d.warc_path} @ {d.warc_offset}): WARC file missing from "
                        "the bundle" for d in docs]
