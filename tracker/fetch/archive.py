"""Raw archive: every fetched response (and every file imported with `tracker ingest`) kept as WARC records.

One gzip-per-record WARC file per run under `<root>/YYYY/MM/DD/<name>.warc.gz` (warcio). A response becomes a
`response` record (status line, headers, body) followed by the `request` record that produced it; an imported file
becomes a `resource` record with a file:// URI. Each write returns an `ArchivedRef` (file relative to the root,
offset and length of the record, sha256 of the body) for `source_document`, and `read_payload` gives back the exact
body bytes from a ref. The record's WARC-Payload-Digest is sha256 (base32, the form warcio writes for sha1).
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from tracker.clock import utcnow
from tracker.fetch.base import Response

SOFTWARE = "nmpa-ai-tracker archive (warcio)"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")
# The stored body is the decoded one (httpx undoes gzip and chunking), so headers describing the wire framing
# would make WARC readers try to undo them again. They are kept under an X-Archive-Orig- prefix.
_FRAMING_HEADERS = ("content-encoding", "transfer-encoding", "content-length")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _warc_digest(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def file_sha256(path: Path, chunk: int = 1 << 20) -> hashlib._Hash:
    """The sha256 of a file, read in chunks (a UDI full release is hundreds of MB: never read it whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest


def _warc_date(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    return datetime_to_iso_date(when.astimezone(timezone.utc).replace(tzinfo=None))


@dataclass(frozen=True)
class ArchivedRef:
    """Where a stored body is: WARC file relative to the archive root, record offset and length, body sha256."""

    warc_path: str
    offset: int
    length: int
    sha256: str


class Archive:
    """A directory of WARC files; writes go through `writer`, reads never leave the root."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def writer(self, name: str, *, now: datetime | None = None) -> ArchiveWriter:
        """Open (or append to) `<root>/YYYY/MM/DD/<name>.warc.gz`, dated by `now` (UTC; default: the current time).

        `name` is a plain file stem such as `udi-<run id>`: letters, digits, dot, dash, underscore.
        """
        if not _SAFE_NAME.match(name) or ".." in name:
            raise ValueError(f"unsafe archive file name: {name!r}")
        day = (now or utcnow()).astimezone(timezone.utc)
        relative = f"{day:%Y/%m/%d}/{name}.warc.gz"
        return ArchiveWriter(self.root, relative)

    def resolve(self, warc_path: str) -> Path:
        """The absolute path of an archive file; ValueError when `warc_path` is absolute or escapes the root."""
        if not warc_path or Path(warc_path).is_absolute() or "\\" in warc_path or ".." in Path(warc_path).parts:
            raise ValueError(f"archive path outside the archive: {warc_path!r}")
        root = self.root.resolve()
        path = (root / warc_path).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"archive path outside the archive: {warc_path!r}")
        return path

    def read_payload(self, ref: ArchivedRef | tuple[str, int]) -> bytes:
        """The exact body bytes of the record at `ref` (an ArchivedRef or a (warc_path, offset) pair)."""
        warc_path, offset = (ref.warc_path, ref.offset) if isinstance(ref, ArchivedRef) else ref
        return self.read_record(warc_path, offset)[1]

    def read_record(self, warc_path: str, offset: int) -> tuple[dict[str, Any], bytes]:
        """Headers and body of one record, for an "archived raw copy" view (ValueError when no record is there).

        The dict holds `warc` (WARC header fields), `http` (HTTP headers, lower-case keys; empty for a resource
        record) and `status` (the HTTP status line, or None).
        """
        if offset < 0:
            raise ValueError("negative offset")
        path = self.resolve(warc_path)
        with path.open("rb") as fh:
            fh.seek(offset)
            try:
                record = next(iter(ArchiveIterator(fh)), None)
            except ArchiveLoadFailed as exc:
                raise ValueError(f"no WARC record at {warc_path}@{offset}: {exc}") from exc
            # warcio also reads the old ARC format, whose header is any line of five fields: junk at a wrong offset
            # can pass for one, so only a real WARC record counts.
            if record is None or record.format != "warc":
                raise ValueError(f"no WARC record at {warc_path}@{offset}")
            payload = record.raw_stream.read()
            http = record.http_headers
            headers = {
                "warc": dict(record.rec_headers.headers),
                "http": {k.lower(): v for k, v in http.headers} if http else {},
                "status": f"{http.protocol} {http.statusline}".strip() if http else None,
            }
        return headers, payload


class ArchiveWriter:
    """Appends records to one WARC file; use as a context manager or call `close()`."""

    def __init__(self, root: Path, relative: str) -> None:
        self.warc_path = relative
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        is_new = not path.exists()
        self._fh: BinaryIO = path.open("ab")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        if is_new:
            info = self._writer.create_warcinfo_record(path.name, {"software": SOFTWARE, "format": "WARC/1.1"})
            self._writer.write_record(info)

    def write_response(self, resp: Response) -> ArchivedRef:
        """Store `resp` as a `response` record plus its `request` record; returns where the body is."""
        date = _warc_date(resp.fetched_at)
        http_headers = []
        for name, value in resp.headers.items():
            prefix = "X-Archive-Orig-" if name.lower() in _FRAMING_HEADERS else ""
            http_headers.append((prefix + name, value))
        http_headers.append(("Content-Length", str(len(resp.content))))
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = "Unknown"
        record = self._writer.create_warc_record(
            resp.url, "response", payload=BytesIO(resp.content), length=len(resp.content),
            http_headers=StatusAndHeaders(f"{resp.status} {reason}", http_headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date, "WARC-Payload-Digest": _warc_digest(resp.content)},
        )
        ref = self._write(record, resp.content)

        parts = urlsplit(resp.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = list(resp.request_headers.items())
        if not any(k.lower() == "host" for k, _ in request_headers):
            request_headers.insert(0, ("host", parts.netloc))
        request = self._writer.create_warc_record(
            resp.url, "request",
            http_headers=StatusAndHeaders(f"{resp.method} {target} HTTP/1.1", request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date,
                               "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")},
        )
        self._writer.write_record(request)
        self._fh.flush()
        return ref

    def write_file(self, path: Path, content: bytes, *, uri: str | None = None,
                   fetched_at: datetime) -> ArchivedRef:
        """Store an imported file as a `resource` record (URI: `uri`, else the file's file:// URI)."""
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        record = self._writer.create_warc_record(
            uri or Path(path).resolve().as_uri(), "resource", payload=BytesIO(content), length=len(content),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": _warc_date(fetched_at), "WARC-Payload-Digest": _warc_digest(content)},
        )
        ref = self._write(record, content)
        self._fh.flush()
        return ref

    def write_path(self, path: Path, *, uri: str | None = None, fetched_at: datetime) -> ArchivedRef:
        """Like `write_file`, streaming the file from disk so a large download never sits in memory."""
        path = Path(path)
        digest = file_sha256(path)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with open(path, "rb") as payload:
            record = self._writer.create_warc_record(
                uri or path.resolve().as_uri(), "resource", payload=payload, length=path.stat().st_size,
                warc_content_type=content_type,
                warc_headers_dict={"WARC-Date": _warc_date(fetched_at),
                                   "WARC-Payload-Digest": "sha256:" + base64.b32encode(digest.digest()).decode()},
            )
            offset = self._fh.tell()
            self._writer.write_record(record)
        self._fh.flush()
        return ArchivedRef(self.warc_path, offset, self._fh.tell() - offset, digest.hexdigest())

    def close(self) -> None:
        """Flush and close the WARC file."""
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, record: Any, body: bytes) -> ArchivedRef:
        offset = self._fh.tell()
        self._writer.write_record(record)
        return ArchivedRef(self.warc_path, offset, self._fh.tell() - offset, sha256_hex(body))
