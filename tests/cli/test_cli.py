"""The `tracker` command end to end (click's runner, a real database on SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tracker.cli.main import EXIT_LAYOUT, main
from tracker.store.models import Device, Revision, ScrapeRun

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@pytest.fixture
def run_cli(settings):
    env = {"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir)}

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.mark.parametrize("name, expected", [
    ("肺结节CT影像辅助检测软件", {"ai": True, "areas": ["medical_imaging.ct"], "functions": ["detection"],
                               "sites": ["chest_lung"], "diseases": ["lung_nodule"]}),
    ("心电分析软件", {"areas": ["clinical_decision_support"], "signals": ["ecg"]}),
    ("糖尿病视网膜病变眼底图像辅助诊断软件", {"ai": True, "areas": ["medical_imaging.fundus"],
                                          "functions": ["diagnosis"], "diseases": ["diabetic_retinopathy"]}),
])
def test_classify_prints_tags_with_evidence(name, expected):
    result = CliRunner().invoke(main, ["classify", name], catch_exceptions=False)
    assert result.exit_code == 0
    out = json.loads(result.output)
    for key, value in expected.items():
        assert out[key] == value, key
    for area in out["areas"]:
        [evidence] = [e for e in out["evidence"] if e["code"] == area]
        assert evidence["field"] == "name" and all(w in name for w in evidence["words"])
        assert evidence["rule_id"] and evidence["rule_version"]


def test_parse_prints_json_lines_in_utf8(run_cli):
    detail = sorted((SAMPLES / "nmpa_approvals").glob("2*.html"))[0]
    result = run_cli("parse", "nmpa_approvals", str(detail))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(line["cert_no"] and line["product_name"] for line in lines)
    assert "\\u" not in result.stdout  # Chinese is printed as is, not ASCII-escaped


def test_parse_exits_3_naming_what_is_missing(run_cli, tmp_path):
    page = tmp_path / "changed.html"
    page.write_text("<html><body><div class='new-layout'>改版了</div></body></html>", encoding="utf-8")
    result = run_cli("parse", "nmpa_approvals", str(page))
    assert result.exit_code == EXIT_LAYOUT
    assert "layout changed" in result.stderr and "not found" in result.stderr


def test_parse_unknown_source_is_a_usage_error(run_cli, tmp_path):
    page = tmp_path / "x.html"
    page.write_text("x")
    result = run_cli("parse", "no_such_source", str(page))
    assert result.exit_code == 2 and "unknown source" in result.output


def test_ingest_twice_writes_nothing_the_second_time(run_cli, sessions):
    first = run_cli("ingest", "nmpa_approvals", str(SAMPLES / "nmpa_approvals"))
    assert first.exit_code == 0, first.output
    assert "ok" in first.output and "new=" in first.output
    with sessions() as session:
        devices = session.scalar(select(func.count()).select_from(Device))
        revisions = session.scalar(select(func.count()).select_from(Revision))
    assert devices > 0

    second = run_cli("ingest", "nmpa_approvals", str(SAMPLES / "nmpa_approvals"))
    assert second.exit_code == 0
    assert "new=0 changed=0" in second.output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == devices
        assert session.scalar(select(func.count()).select_from(Revision)) == revisions
        runs = session.execute(select(ScrapeRun.outcome, ScrapeRun.is_sample)).all()
    assert runs == [("ok", True), ("ok", True)]

    listing = run_cli("runs")
    assert listing.output.count("nmpa_approvals") == 2


def test_ingest_of_a_broken_page_is_a_failed_run_that_says_why(run_cli, tmp_path, sessions):
    page = tmp_path / "20260101000000000.html"
    page.write_text("<html><body><p>nothing here</p></body></html>", encoding="utf-8")
    result = run_cli("ingest", "nmpa_approvals", str(page))
    assert result.exit_code == EXIT_LAYOUT
    assert "does not recognise" in result.stderr and "health is not affected" in result.stderr
    with sessions() as session:
        run = session.execute(select(ScrapeRun)).scalar_one()
    assert run.outcome == "failed" and "layout changed" in run.error and run.finished_at is not None
    # Recorded as what it was: a local ingest of that file, named by its real path, never an official URL.
    assert run.trigger == "ingest"
    assert page.resolve().as_uri() in run.error and "nmpa.gov.cn" not in run.error


@pytest.mark.parametrize("name", ["README.md", "notes.txt", "empty-folder"])
def test_ingest_of_a_file_no_parser_reads_is_refused_before_any_run(run_cli, tmp_path, sessions, name):
    target = tmp_path / name
    if name == "empty-folder":
        target.mkdir()
        (target / "README.md").write_text("# saved pages go here")
    else:
        target.write_text("# not a saved page")
    result = run_cli("ingest", "nmpa_approvals", str(target))
    assert result.exit_code == 2
    assert "nothing was ingested" in result.output and "nmpa_approvals" in result.output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScrapeRun)) == 0


def test_documents_of_a_local_ingest_are_the_local_files(run_cli, sessions):
    from tracker.store.models import SourceDocument

    assert run_cli("ingest", "nmpa_approvals", str(SAMPLES / "nmpa_approvals")).exit_code == 0
    with sessions() as session:
        urls = session.execute(select(SourceDocument.url)).scalars().all()
        runs = session.execute(select(ScrapeRun.trigger)).scalars().all()
    # Notice URLs come from the saved pages themselves (their own meta data); the documents are the files.
    assert urls and all(u.startswith((SAMPLES / "nmpa_approvals").as_uri()) for u in urls)
    assert runs == ["ingest"]


def test_db_upgrade_creates_the_sqlite_file(tmp_path):
    db = tmp_path / "sub" / "t.sqlite3"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"TRACKER_DATABASE_URL": f"sqlite:///{db}"},
                                catch_exceptions=False)
    assert result.exit_code == 0 and db.exists()


def test_imports_and_reclassification_are_in_the_audit_log(run_cli, sessions):
    from tracker.store.models import AuditLog

    assert run_cli("ingest", "nmpa_approvals", str(SAMPLES / "nmpa_approvals")).exit_code == 0
    assert "tags changed on 0 devices" in run_cli("reclassify").output
    with sessions() as session:
        entries = session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
    assert [e.action for e in entries] == ["import", "reclassify"]
    assert entries[0].detail["source"] == "nmpa_approvals" and entries[0].detail["outcome"] == "ok"
    assert entries[0].actor.startswith("cli")


def test_reclassify_applies_new_rules_and_keeps_reviewer_decisions(run_cli, sessions, clock):
    """Tags stored by an older rules version that called 分析-only software AI: `tracker reclassify` applies the
    current rules (no AI without a machine-learning signal) to the device nobody reviewed, and leaves the device
    whose AI tag a reviewer confirmed AI, with the reviewer's row untouched."""
    from dataclasses import replace

    from tracker.audit import review
    from tracker.classify.classifier import RULES_VERSION, classify_device
    from tracker.ingest.write import write_records
    from tracker.records import DeviceRecord
    from tracker.store.models import Tag
    from tracker.store.tags import RuleTag, apply_classification, effective_codes
    from tracker.store.write import WriteContext

    names = ("心电分析软件", "动态心电分析软件")
    records = [DeviceRecord(cert_no=f"国械注准2026321{9950 + i:04d}", product_name=name, registrant="示例医疗科技有限公司")
               for i, name in enumerate(names)]
    ctx = WriteContext(source="udi", now=clock())
    with sessions.begin() as session:
        write_records(session, records, ctx)
        ids = [session.execute(select(Device.id).where(Device.cert_no == r.cert_no)).scalar_one() for r in records]
        for device_id, name in zip(ids, names, strict=True):
            now = classify_device(name=name).rule_tags()
            old_ai = RuleTag("ai", "ai", 0.5, ("ai.name.weak_function",),
                             ({"field": "name", "words": ["分析", "软件"], "rule_id": "ai.name.weak_function",
                               "rule_version": "1"},))
            apply_classification(session, "device", device_id,
                                 replace(now, tags=(old_ai, *now.tags), ai_confidence=0.5, rules_version="1"), ctx)
        assert all("ai:ai" in effective_codes(session, "device", i) for i in ids)
        review.decide(session, entity_type="device", entity_id=ids[0], facet="ai", code="ai", decision="confirm",
                      reason="the structure names a trained model", reviewer="rita", now=clock())

    result = run_cli("reclassify")
    assert result.exit_code == 0 and f"rules v{RULES_VERSION}: tags changed on 1 devices" in result.output

    with sessions() as session:
        reviewed, unreviewed = ids
        assert "ai:ai" in effective_codes(session, "device", reviewed)
        assert session.get(Device, reviewed).is_ai is True
        assert "ai:ai" not in effective_codes(session, "device", unreviewed)
        assert session.get(Device, unreviewed).is_ai is False
        decision = session.execute(select(Tag).where(Tag.entity_id == reviewed, Tag.method == "reviewer")).scalar_one()
        assert (decision.decision, decision.decided_by, decision.active) == ("confirm", "rita", True)
        rule_rows = session.execute(select(Tag.rule_version).where(
            Tag.entity_id.in_(ids), Tag.method == "rule", Tag.active.is_(True))).scalars().all()
        assert rule_rows and set(rule_rows) == {RULES_VERSION}


def test_runs_shows_why_a_run_failed_and_speaks_json_lines(run_cli, tmp_path):
    import json

    assert run_cli("ingest", "nmpa_approvals", str(SAMPLES / "nmpa_approvals")).exit_code == 0
    page = tmp_path / "20260101000000000.html"
    page.write_text("<html><body><p>nothing here</p></body></html>", encoding="utf-8")
    run_cli("ingest", "nmpa_approvals", str(page))
    listing = run_cli("runs", "--limit", "5").output.splitlines()
    assert listing[0].split()[:3] == ["SOURCE", "RUN", "OUTCOME"] and listing[0].rstrip().endswith("REASON")
    failed = next(line for line in listing if " failed " in line)
    assert "LayoutChanged" in failed or "not found" in failed or "recognise" in failed
    lines = run_cli("runs", "--json", "--limit", "5").output.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 2 and {r["outcome"] for r in records} == {"ok", "failed"}
    assert all(r["source"] == "nmpa_approvals" and r["started_at"] for r in records)
    assert next(r for r in records if r["outcome"] == "failed")["error"]
