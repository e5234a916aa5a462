"""Extraction on the sample guidelines and on hostile files made here: every file ends in a named state, with text
only when it has some; the worker survives files that time out and is reused between files."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader, PdfWriter

from tracker.extract import states
from tracker.extract.readers import Limits, read
from tracker.extract.structure import clauses, reflow
from tracker.extract.worker import Extractor

IMAGES = Path(__file__).resolve().parents[2] / "samples" / "nmpa_notices" / "directory" / "web" / "nmpa" / "images"
PDF = (IMAGES / "sample-2022-8-ai-device-guidance.pdf").read_bytes()
DOCX = (IMAGES / "sample-2021-ai-device-guidance-draft.docx").read_bytes()


@pytest.fixture(scope="module")
def extractor():
    with Extractor() as worker:
        yield worker


def _pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(PDF)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    return _pdf_bytes(writer)


def test_pdf_pages_keep_articles_and_words_across_line_ends(extractor):
    result = extractor.extract(PDF, "pdf")
    assert (result.state, result.kind, len(result.pages)) == ("ok", "pdf", 2)
    text = "\n".join(result.pages)
    assert "数据漂移监测" in text and "技术审评部门" in text  # 技 / 术 were on two lines of the PDF
    labels = [c.label for c in clauses(text) if c.label.startswith("第") and c.label.endswith("条")]
    assert labels == [f"第{n}条" for n in "一二三四五六七八九十"] + ["第十一条", "第十二条"]


def test_docx_paragraphs_and_headings(extractor):
    result = extractor.extract(DOCX, "docx")
    assert result.state == "ok"
    blocks = clauses("\n".join(result.pages))
    assert [b.text for b in blocks if b.level == 1][:2] == ["第一章 总则", "第二章 基本要求"]
    assert "（征求意见稿）" in blocks[0].text


@pytest.mark.parametrize("make, declared, state", [
    (lambda: _encrypted("secret"), "pdf", states.ENCRYPTED),
    (lambda: _pdf_bytes(_blank_pdf()), "pdf", states.NO_TEXT),
    (lambda: PDF[: len(PDF) // 3], "pdf", states.TRUNCATED),
    (lambda: b"<html><body>404 Not Found</body></html>", "pdf", states.BAD_FORMAT),
    (lambda: b"\x00\x01garbage" * 100, "wps", states.UNSUPPORTED),
    (lambda: DOCX[:2000], "docx", states.TRUNCATED),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "doc", states.TRUNCATED),
    (lambda: _zip({"a.txt": b"x"}), "zip", states.UNSUPPORTED),
])
def test_hostile_files_end_in_their_state(extractor, make, declared, state):
    result = extractor.extract(make(), declared)
    assert result.state == state, result.detail
    assert result.pages == ()


def _blank_pdf() -> PdfWriter:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    return writer


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_an_empty_user_password_opens_a_protected_pdf(extractor):
    result = extractor.extract(_encrypted(""), "pdf")
    assert result.state == "ok" and "数据漂移监测" in "".join(result.pages)


def test_wrong_extension_reads_by_content_and_says_so(extractor):
    result = extractor.extract(DOCX, "pdf")
    assert (result.state, result.kind) == ("ok", "docx")
    assert "declared .pdf" in result.detail


def test_zip_bomb_and_oversized_files_are_refused_before_reading():
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\x00" * (4 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    result = read(bomb, "docx", Limits(max_unzipped=1024 * 1024))
    assert result.state == states.TOO_LARGE and "expands to" in result.detail
    assert read(PDF, "pdf", Limits(max_bytes=1000)).state == states.TOO_LARGE
    with Extractor(Limits(max_bytes=1000)) as worker:
        assert worker.extract(PDF, "pdf").state == states.TOO_LARGE


def test_page_cap_keeps_the_first_pages():
    result = read(PDF, "pdf", Limits(max_pages=1))
    assert result.state == states.PARTIAL and len(result.pages) == 1 and "1 of 2" in result.detail


def test_xlsx_sheets_are_pages():
    book = openpyxl.Workbook()
    book.active.title = "目录"
    book.active.append(["序号", "产品名称"])
    book.active.append([1, "肺结节CT影像辅助检测软件"])
    out = io.BytesIO()
    book.save(out)
    result = read(out.getvalue(), "xlsx")
    assert result.state == "ok" and "肺结节CT影像辅助检测软件" in result.pages[0]


def test_timeout_stops_the_worker_and_the_next_file_gets_a_fresh_one():
    with Extractor(Limits(seconds=0.001)) as worker:
        assert worker.extract(PDF, "pdf").state == states.TIMEOUT
        worker.limits = Limits()
        assert worker.extract(PDF, "pdf").state == states.OK


def test_memory_cap_ends_in_a_state_not_a_crash_of_the_caller():
    # 40 MB of address space is too little for the worker to import its libraries: the file ends in a state.
    with Extractor(Limits(memory=40 * 1024 * 1024)) as worker:
        result = worker.extract(PDF, "pdf")
        assert result.state in (states.TOO_LARGE, states.CRASHED), result
        worker.limits = Limits()
        assert worker.extract(PDF, "pdf").state == states.OK


def test_reflow_joins_laid_out_lines_but_not_clauses():
    page = "第 一 条 本 指 导 原 则 适 用 于 技\n术 审 评 。\n第 二 条 （ 一 ） 数 据\n1. 第一项"
    assert reflow(page).split("\n") == ["第一条本指导原则适用于技术审评。", "第二条（一）数据", "1. 第一项"]


def test_a_pdf_bomb_ends_in_a_state_within_the_caps(extractor):
    # One page whose content stream expands from ~175 KB to 120 MB: pypdf's own decompression cap (75 MB), the
    # worker's memory cap and the time cap bound it; the file must end in a named state, with no text invented.
    import zlib

    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = StreamObject()
    stream._data = zlib.compress(b"0 0 m " * 20_000_000, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    bomb = _pdf_bytes(writer)
    assert len(bomb) < 300_000
    result = extractor.extract(bomb, "pdf")
    assert result.state in (states.NO_TEXT, states.TOO_LARGE, states.TRUNCATED, states.TIMEOUT), result
    assert not any(result.pages)
    assert extractor.extract(PDF, "pdf").state == states.OK  # and the worker goes on
