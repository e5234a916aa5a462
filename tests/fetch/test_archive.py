"""The raw WARC archive: exact bytes back by offset, digests, request records, imported files, no path escapes."""
from __future__ import annotations

import base64
import hashlib
import io
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tracker.fetch.archive import Archive, ArchivedRef, sha256_hex
from tracker.fetch.base import Response

T0 = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
BINARY = bytes(range(256)) * 40  # every byte value, incl. CR/LF and NUL: nothing may be re-encoded on the way


def _response(url: str, content: bytes, **kw) -> Response:
    defaults = dict(
        status=200,
        headers={"content-type": "text/html; charset=gb2312", "content-encoding": "gzip", "etag": '"v1"'},
        fetched_at=T0,
        request_headers={"user-agent": "nmpa-ai-tracker/0.1", "accept-encoding": "gzip, deflate"},
    )
    defaults.update(kw)
    return Response(url=url, content=content, **defaults)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "archive")


def test_response_round_trips_by_offset(archive):
    page = "<td>朱镕基 国械注准20233219901</td>".encode("gbk")
    with archive.writer("nmpa_approvals-42", now=T0) as writer:
        ref_page = writer.write_response(_response("https://www.nmpa.gov.cn/a.html", page))
        ref_bin = writer.write_response(_response("https://udid.nmpa.gov.cn/dl?path=ab", BINARY,
                                                  headers={"content-type": "application/zip"}))
    assert ref_page.warc_path == "2026/11/23/nmpa_approvals-42.warc.gz"
    assert ref_bin.warc_path == ref_page.warc_path
    assert ref_bin.offset >= ref_page.offset + ref_page.length  # the request record sits in between
    assert archive.read_payload(ref_page) == page
    assert archive.read_payload((ref_bin.warc_path, ref_bin.offset)) == BINARY
    assert ref_page.sha256 == hashlib.sha256(page).hexdigest() == sha256_hex(page)
    assert ref_bin.sha256 == hashlib.sha256(BINARY).hexdigest()


def test_record_length_covers_exactly_one_gzip_member(archive):
    with archive.writer("udi-1", now=T0) as writer:
        ref = writer.write_response(_response("https://udi.nmpa.gov.cn/download.html", b"<html>x</html>"))
    raw = (archive.root / ref.warc_path).read_bytes()
    member = raw[ref.offset:ref.offset + ref.length]
    records = list(ArchiveIterator(io.BytesIO(member)))
    assert [r.rec_type for r in records] == ["response"]


def test_record_headers_hold_url_date_status_digest_and_original_framing(archive):
    body = b"<html>list</html>"
    with archive.writer("cmde_guidance-7", now=T0) as writer:
        ref = writer.write_response(_response("https://www.cmde.org.cn/flfg/zdyz/index.html", body, status=200))
    headers, payload = archive.read_record(ref.warc_path, ref.offset)
    assert payload == body
    assert headers["warc"]["WARC-Type"] == "response"
    assert headers["warc"]["WARC-Target-URI"] == "https://www.cmde.org.cn/flfg/zdyz/index.html"
    assert headers["warc"]["WARC-Date"] == "2026-11-23T02:30:00Z"
    digest = "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode()
    assert headers["warc"]["WARC-Payload-Digest"] == digest
    assert headers["status"] == "HTTP/1.1 200 OK"
    assert headers["http"]["etag"] == '"v1"'
    # The stored body is already decoded, so the wire encoding is kept only as a note for readers.
    assert "content-encoding" not in headers["http"]
    assert headers["http"]["x-archive-orig-content-encoding"] == "gzip"
    assert headers["http"]["content-length"] == str(len(body))


def test_request_record_follows_its_response(archive):
    resp = _response("https://sousuo.www.gov.cn/search-gov/data?t=zhengcelibrary&q=%E4%BA%BA", b"{}")
    with archive.writer("govcn_policy-3", now=T0) as writer:
        ref = writer.write_response(resp)
    with (archive.root / ref.warc_path).open("rb") as fh:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Record-ID"),
                    r.rec_headers.get_header("WARC-Concurrent-To"), r.http_headers) for r in ArchiveIterator(fh)]
    assert [r[0] for r in records] == ["warcinfo", "response", "request"]
    _, response_id, _, _ = records[1]
    _, _, concurrent_to, request_http = records[2]
    assert concurrent_to == response_id
    assert request_http.protocol == "GET"
    assert request_http.statusline == "/search-gov/data?t=zhengcelibrary&q=%E4%BA%BA HTTP/1.1"
    assert request_http.get_header("user-agent") == "nmpa-ai-tracker/0.1"
    assert request_http.get_header("host") == "sousuo.www.gov.cn"


def test_not_modified_and_error_responses_are_archived_too(archive):
    with archive.writer("udi-9", now=T0) as writer:
        ref_304 = writer.write_response(_response("https://udi.nmpa.gov.cn/download.html", b"", status=304,
                                                  not_modified=True))
        ref_412 = writer.write_response(_response("https://www.nmpa.gov.cn/x.html", b"<script>$_ts={}</script>",
                                                  status=412))
    assert archive.read_payload(ref_304) == b""
    assert archive.read_record(ref_304.warc_path, ref_304.offset)[0]["status"] == "HTTP/1.1 304 Not Modified"
    assert archive.read_payload(ref_412) == b"<script>$_ts={}</script>"


def test_reopening_a_run_file_appends_and_keeps_old_offsets_valid(archive):
    with archive.writer("udi-5", now=T0) as writer:
        first = writer.write_response(_response("https://udi.nmpa.gov.cn/a", b"first"))
    with archive.writer("udi-5", now=T0 + timedelta(hours=1)) as writer:
        second = writer.write_response(_response("https://udi.nmpa.gov.cn/b", b"second"))
    assert second.warc_path == first.warc_path and second.offset > first.offset
    assert archive.read_payload(first) == b"first"
    assert archive.read_payload(second) == b"second"
    with (archive.root / first.warc_path).open("rb") as fh:
        assert [r.rec_type for r in ArchiveIterator(fh)].count("warcinfo") == 1


def test_imported_file_is_a_resource_record(archive, tmp_path):
    source = tmp_path / "UDID_DAY_UPDATE_20261122.zip"
    source.write_bytes(BINARY)
    with archive.writer("ingest-11", now=T0) as writer:
        ref = writer.write_file(source, BINARY, fetched_at=T0)
        named = writer.write_file(source, b"abc", uri="https://udi.nmpa.gov.cn/x.zip", fetched_at=T0)
    headers, payload = archive.read_record(ref.warc_path, ref.offset)
    assert payload == BINARY
    assert ref.sha256 == hashlib.sha256(BINARY).hexdigest()
    assert headers["warc"]["WARC-Type"] == "resource"
    assert headers["warc"]["WARC-Target-URI"] == source.resolve().as_uri()
    assert headers["warc"]["Content-Type"] == "application/zip"
    assert headers["http"] == {} and headers["status"] is None
    assert archive.read_record(named.warc_path, named.offset)[0]["warc"]["WARC-Target-URI"] == \
        "https://udi.nmpa.gov.cn/x.zip"


def test_large_imported_file_is_streamed_into_the_same_record_form(archive, tmp_path):
    source = tmp_path / "UDID_FULL_RELEASE_20261101.zip"
    big = os.urandom(3 * (1 << 20) + 17)  # several read chunks and a ragged end
    source.write_bytes(big)
    with archive.writer("ingest-12", now=T0) as writer:
        streamed = writer.write_path(source, fetched_at=T0)
        in_memory = writer.write_file(source, big, fetched_at=T0)
    headers, payload = archive.read_record(streamed.warc_path, streamed.offset)
    assert payload == big and streamed.sha256 == hashlib.sha256(big).hexdigest() == in_memory.sha256
    assert headers["warc"]["WARC-Payload-Digest"] == archive.read_record(
        in_memory.warc_path, in_memory.offset)[0]["warc"]["WARC-Payload-Digest"]
    assert headers["warc"]["WARC-Type"] == "resource" and headers["warc"]["Content-Type"] == "application/zip"


def test_fetched_at_must_be_timezone_aware(archive):
    with archive.writer("udi-2", now=T0) as writer:
        with pytest.raises(ValueError):
            writer.write_response(_response("https://x.example/", b"x", fetched_at=datetime(2026, 11, 23)))


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "2026/../../outside.warc.gz", "", "..\\x"])
def test_reads_cannot_leave_the_archive_root(archive, bad):
    archive.root.mkdir(parents=True, exist_ok=True)
    with pytest.raises(ValueError):
        archive.read_payload((bad, 0))
    with pytest.raises(ValueError):
        archive.read_payload(ArchivedRef(bad, 0, 10, "0" * 64))


def test_symlink_out_of_the_root_is_refused(archive, tmp_path):
    outside = tmp_path / "secret.warc.gz"
    with Archive(tmp_path).writer("secret", now=T0) as writer:
        writer.write_response(_response("https://x.example/", b"secret"))
    os.replace(tmp_path / "2026/11/23/secret.warc.gz", outside)
    archive.root.mkdir(parents=True)
    (archive.root / "link.warc.gz").symlink_to(outside)
    with pytest.raises(ValueError):
        archive.read_payload(("link.warc.gz", 0))


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "x" * 200])
def test_writer_names_are_plain_file_stems(archive, name):
    with pytest.raises(ValueError):
        archive.writer(name, now=T0)


def test_offset_that_is_not_a_record_is_an_error(archive):
    with archive.writer("udi-3", now=T0) as writer:
        ref = writer.write_response(_response("https://x.example/", b"x"))
    for offset in (ref.offset + 3, ref.offset + ref.length + 10_000):
        with pytest.raises(ValueError, match="no WARC record"):
            archive.read_payload((ref.warc_path, offset))
