"""The audit export bundle for a period, and its offline verification.

A bundle is one zip file:

    records/<kind>.jsonl   one canonical JSON object per row (devices, policies, revisions, certificate_events,
                           tags, record_sources, runs, source_documents, audit_log, digests), sorted by id
    warc/<warc_path>       every WARC file holding a raw source document of the bundle, as archived
    digests/<id>.eml       the stored copy of every digest sent in the period (the outbox `raw_message`)
    manifest.json          sha256 and size of every file above, plus one sha256 per record line, so a change can be
                           named down to the record
    manifest.sha256        sha256 of manifest.json, in `sha256sum` format

Which records: every device and policy that changed (has a revision) or was linked to a fetched document in the
period, with its current row, its whole revision history (and a device's certificate events), all its tags (rule tags and reviewer decisions) and its
source links; the source documents behind them and those fetched in the period, with their WARC files; the runs that
started in the period or produced those documents; the audit log and the digests sent in the period.

`verify_bundle` needs nothing but the zip: it recomputes every hash, checks each source document's WARC payload
against the sha256 its row records and each digest copy against its outbox sha256, and returns the exact file and
record of every mismatch. The manifest digest only proves the manifest was not changed apart from it; whoever can
rewrite both can forge a bundle, so keep manifest.sha256 (or the bundle's hash) somewhere the bundle does not go.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from tracker.fetch.archive import Archive
from tracker.store.models import (
    AuditLog,
    CertificateEvent,
    Device,
    Outbox,
    Policy,
    RecordSource,
    Revision,
    ScrapeRun,
    SourceDocument,
    Tag,
)

FORMAT = "nmpa-tracker-audit-bundle"
VERSION = 1
MANIFEST, MANIFEST_DIGEST = "manifest.json", "manifest.sha256"
RECORD_KINDS = ("devices", "policies", "revisions", "tags", "record_sources", "runs", "source_documents",
                "audit_log", "digests")
_CHUNK = 500
_DIGEST_FIELDS_LEFT_OUT = ("raw_message",)  # the message itself is digests/<id>.eml


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def row_dict(row: Any, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of an ORM row as JSON-ready values (dates and times in ISO 8601)."""
    return {c.key: _jsonable(getattr(row, c.key)) for c in row.__table__.columns if c.key not in leave_out}


def canonical_line(obj: dict[str, Any]) -> bytes:
    """The one canonical serialisation of a record line (sorted keys, no spaces, UTF-8, newline-terminated)."""
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunked(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def period_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants [start, end) covering the calendar days `first`..`last` (inclusive) in `timezone`."""
    if last < first:
        raise ValueError("the period ends before it starts")
    zone = ZoneInfo(timezone)
    return (datetime.combine(first, time(0), tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))


@dataclass
class ExportSummary:
    """What a bundle holds: record counts per kind, number of WARC and digest files, the manifest digest."""

    path: Path
    counts: dict[str, int]
    warc_files: int
    digest_files: int
    manifest_sha256: str
    missing_warc_files: list[dict[str, str]] = field(default_factory=list)


class _BundleWriter:
    """Writes files into the zip while building the manifest."""

    def __init__(self, zf: zipfile.ZipFile, now: datetime) -> None:
        self.zf = zf
        self.date_time = now.astimezone(ZoneInfo("UTC")).timetuple()[:6]
        self.files: dict[str, dict[str, Any]] = {}
        self.records: dict[str, list[list[Any]]] = {}

    def write_records(self, kind: str, rows: Iterable[dict[str, Any]]) -> int:
        """Write records/<kind>.jsonl, one canonical line per row, noting each line's hash; returns the count."""
        name = f"records/{kind}.jsonl"
        digest, size, lines = hashlib.sha256(), 0, []
        with self.zf.open(self.info(name, zipfile.ZIP_DEFLATED), "w") as out:
            for row in rows:
                line = canonical_line(row)
                out.write(line)
                digest.update(line)
                size += len(line)
                lines.append([row["id"], _sha(line)])
        self.files[name] = {"sha256": digest.hexdigest(), "size": size}
        self.records[name] = lines
        return len(lines)

    def info(self, name: str, compression: int) -> zipfile.ZipInfo:
        """A member entry dated with the export time (the same data and time give the same bundle)."""
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = compression
        return info

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write one small file and list it in the manifest."""
        self.zf.writestr(self.info(name, zipfile.ZIP_DEFLATED), data)
        self.files[name] = {"sha256": _sha(data), "size": len(data)}

    def copy_file(self, name: str, path: Path) -> None:
        """Copy a (large) file into the bundle in blocks and list it in the manifest."""
        # WARC files are gzip already: stored uncompressed so verification can seek to a record's offset.
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as src, self.zf.open(self.info(name, zipfile.ZIP_STORED), "w", force_zip64=True) as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
                out.write(block)
        self.files[name] = {"sha256": digest.hexdigest(), "size": size}


def _select_entities(session: Session, start: datetime, end: datetime) -> dict[str, set[int]]:
    chosen: dict[str, set[int]] = {"device": set(), "policy": set()}
    for etype, eid in session.execute(select(Revision.entity_type, Revision.entity_id).where(
            Revision.changed_at >= start, Revision.changed_at < end,
            Revision.entity_type.in_(chosen)).distinct()):
        chosen[etype].add(eid)
    for etype, eid in session.execute(select(RecordSource.entity_type, RecordSource.entity_id).where(
            RecordSource.linked_at >= start, RecordSource.linked_at < end,
            RecordSource.entity_type.in_(chosen)).distinct()):
        chosen[etype].add(eid)
    return chosen


def _rows_by_entity(session: Session, model: Any, chosen: dict[str, set[int]]) -> list[Any]:
    rows = []
    for etype, ids in chosen.items():
        for chunk in _chunked(ids):
            rows += session.execute(select(model).where(model.entity_type == etype, model.entity_id.in_(chunk))
                                    ).scalars().all()
    return sorted(rows, key=lambda r: r.id)


def _events_of(session: Session, device_ids: Iterable[int]) -> list[Any]:
    rows = []
    for chunk in _chunked(device_ids):
        rows += session.execute(select(CertificateEvent).where(CertificateEvent.device_id.in_(chunk))).scalars().all()
    return sorted(rows, key=lambda r: r.id)


def _rows_by_id(session: Session, model: Any, ids: Iterable[int]) -> list[Any]:
    rows = []
    for chunk in _chunked(ids):
        rows += session.execute(select(model).where(model.id.in_(chunk))).scalars().all()
    return sorted(rows, key=lambda r: r.id)


def export_bundle(session: Session, archive_root: Path | str, *, start: datetime, end: datetime, out: Path | str,
                  now: datetime) -> ExportSummary:
    """Write the audit bundle of [start, end) to `out` (a .zip) and return what it holds."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the period must be given as timezone-aware datetimes")
    if end <= start:
        raise ValueError("the period ends before it starts")
    archive, out = Archive(archive_root), Path(out)
    chosen = _select_entities(session, start, end)
    links = _rows_by_entity(session, RecordSource, chosen)
    doc_ids = {link.document_id for link in links}
    doc_ids |= set(session.execute(select(SourceDocument.id).where(
        SourceDocument.fetched_at >= start, SourceDocument.fetched_at < end)).scalars())
    documents = _rows_by_id(session, SourceDocument, doc_ids)
    revisions = _rows_by_entity(session, Revision, chosen)
    run_ids = {d.run_id for d in documents} | {r.run_id for r in revisions}
    run_ids |= set(session.execute(select(ScrapeRun.id).where(
        ScrapeRun.started_at >= start, ScrapeRun.started_at < end)).scalars())
    digests = session.execute(select(Outbox).where(
        Outbox.status == "sent", Outbox.sent_at >= start, Outbox.sent_at < end).order_by(Outbox.id)).scalars().all()
    audit_rows = session.execute(select(AuditLog).where(AuditLog.at >= start, AuditLog.at < end)
                                 .order_by(AuditLog.id)).scalars().all()

    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        bundle = _BundleWriter(zf, now)
        counts = {
            "devices": bundle.write_records("devices", map(row_dict, _rows_by_id(session, Device, chosen["device"]))),
            "policies": bundle.write_records("policies",
                                             map(row_dict, _rows_by_id(session, Policy, chosen["policy"]))),
            "revisions": bundle.write_records("revisions", map(row_dict, revisions)),
            "certificate_events": bundle.write_records("certificate_events", map(row_dict, _events_of(
                session, chosen["device"]))),
            "tags": bundle.write_records("tags", map(row_dict, _rows_by_entity(session, Tag, chosen))),
            "record_sources": bundle.write_records("record_sources", map(row_dict, links)),
            "runs": bundle.write_records("runs", map(row_dict, _rows_by_id(session, ScrapeRun, run_ids - {None}))),
            "source_documents": bundle.write_records("source_documents", map(row_dict, documents)),
            "audit_log": bundle.write_records("audit_log", map(row_dict, audit_rows)),
            "digests": bundle.write_records("digests", (row_dict(d, _DIGEST_FIELDS_LEFT_OUT) for d in digests)),
        }
        warc_paths, missing = sorted({d.warc_path for d in documents if d.warc_path}), []
        for warc_path in warc_paths:
            try:
                bundle.copy_file(f"warc/{warc_path}", archive.resolve(warc_path))
            except (ValueError, OSError) as exc:
                # The bundle is still written: verification then names every document whose raw copy is missing.
                missing.append({"warc_path": warc_path, "error": f"{type(exc).__name__}: {exc}"})
        for digest in digests:
            bundle.write_bytes(f"digests/{digest.id}.eml", (digest.raw_message or "").encode("utf-8"))
        manifest = {
            "format": FORMAT, "version": VERSION, "created_at": now.isoformat(),
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "counts": counts, "files": bundle.files, "records": bundle.records, "missing_warc_files": missing,
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        manifest_sha = _sha(manifest_bytes)
        zf.writestr(bundle.info(MANIFEST, zipfile.ZIP_DEFLATED), manifest_bytes)
        zf.writestr(bundle.info(MANIFEST_DIGEST, zipfile.ZIP_DEFLATED), f"{manifest_sha}  {MANIFEST}\n")
    return ExportSummary(out, counts, len(warc_paths) - len(missing), len(digests), manifest_sha, missing)


# --- verification -------------------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """The result of verifying a bundle: every mismatch found (empty when the bundle is intact) and what was checked."""

    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    records_checked: int = 0
    payloads_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


def _member_sha(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _read_lines(zf: zipfile.ZipFile, name: str) -> list[bytes]:
    return zf.read(name).splitlines(keepends=True)


def _warc_payload(zf: zipfile.ZipFile, name: str, offset: int) -> bytes:
    with zf.open(name) as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)), None)
        if record is None:
            raise ValueError("no WARC record at this offset")
        return record.raw_stream.read()


def verify_bundle(path: Path | str) -> VerifyReport:
    """Check a bundle offline and report exactly which file or record does not match."""
    report = VerifyReport()
    problems = report.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        problems.append(f"{path}: not a readable zip file ({exc})")
        return report
    with zf:
        names = set(zf.namelist())
        for required in (MANIFEST, MANIFEST_DIGEST):
            if required not in names:
                problems.append(f"{required}: missing from the bundle")
        if problems:
            return report
        manifest_bytes = zf.read(MANIFEST)
        stated = zf.read(MANIFEST_DIGEST).decode("utf-8", "replace").split()
        if not stated or stated[0] != _sha(manifest_bytes):
            problems.append(f"{MANIFEST}: its sha256 does not match {MANIFEST_DIGEST}")
        try:
            manifest = json.loads(manifest_bytes)
            files, records = manifest["files"], manifest["records"]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{MANIFEST}: cannot be read ({exc})")
            return report
        _verify_files(zf, names, files, report)
        rows = _verify_records(zf, names, records, report)
        _verify_payloads(zf, names, rows, report)
    return report


def _verify_files(zf: zipfile.ZipFile, names: set[str], files: dict[str, Any], report: VerifyReport) -> None:
    for name in sorted(names - set(files) - {MANIFEST, MANIFEST_DIGEST}):
        if not name.endswith("/"):
            report.problems.append(f"{name}: in the bundle but not in the manifest")
    for name, expected in sorted(files.items()):
        if name not in names:
            report.problems.append(f"{name}: listed in the manifest but missing from the bundle")
            continue
        try:
            sha, size = _member_sha(zf, name)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            report.problems.append(f"{name}: cannot be read ({exc})")
            continue
        report.files_checked += 1
        if sha != expected.get("sha256") or size != expected.get("size"):
            report.problems.append(f"{name}: sha256 {sha} (size {size}) does not match the manifest "
                                   f"({expected.get('sha256')}, size {expected.get('size')})")


def _verify_records(zf: zipfile.ZipFile, names: set[str], records: dict[str, list], report: VerifyReport
                    ) -> dict[str, list[dict[str, Any]]]:
    """Compare every record line with its manifest hash; returns the parsed rows of each kind."""
    parsed: dict[str, list[dict[str, Any]]] = {}
    for name, expected in sorted(records.items()):
        kind = name.removeprefix("records/").removesuffix(".jsonl")
        if name not in names:
            continue  # already reported as a missing file
        try:
            lines = _read_lines(zf, name)
        except (zipfile.BadZipFile, OSError, EOFError):
            continue
        rows = parsed.setdefault(kind, [])
        # A file longer or shorter than its manifest entry is reported by the count check; pair what both have.
        for number, (line, entry) in enumerate(zip(lines, expected, strict=False), start=1):
            record_id, sha = entry
            report.records_checked += 1
            if _sha(line) != sha:
                report.problems.append(f"{name} line {number}: record {kind} id={record_id} does not match the "
                                       "manifest")
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
        if len(lines) != len(expected):
            report.problems.append(f"{name}: {len(lines)} records, the manifest lists {len(expected)}")
    return parsed


def _verify_payloads(zf: zipfile.ZipFile, names: set[str], rows: dict[str, list[dict[str, Any]]],
                     report: VerifyReport) -> None:
    for doc in rows.get("source_documents", []):
        if not doc.get("warc_path"):
            continue
        member = f"warc/{doc['warc_path']}"
        where = f"source_document id={doc.get('id')} ({member} @ {doc.get('warc_offset')})"
        if member not in names:
            report.problems.append(f"{where}: WARC file missing from the bundle")
            continue
        try:
            payload = _warc_payload(zf, member, int(doc.get("warc_offset") or 0))
        except Exception as exc:  # noqa: BLE001 - a damaged gzip member fails in many ways; each is a finding
            report.problems.append(f"{where}: WARC record cannot be read ({type(exc).__name__}: {str(exc)[:80]!r})")
            continue
        report.payloads_checked += 1
        if _sha(payload) != doc.get("sha256"):
            report.problems.append(f"{where}: payload sha256 {_sha(payload)} differs from the recorded "
                                   f"{doc.get('sha256')}")
    for digest in rows.get("digests", []):
        member = f"digests/{digest.get('id')}.eml"
        if member not in names:
            report.problems.append(f"digest id={digest.get('id')}: stored copy {member} missing from the bundle")
            continue
        report.payloads_checked += 1
        if digest.get("sha256") and _sha(zf.read(member)) != digest["sha256"]:
            report.problems.append(f"digest id={digest.get('id')}: {member} sha256 differs from the outbox sha256")

