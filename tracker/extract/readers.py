"""The format readers: bytes in, `Extracted` out. Which format a file is comes from its bytes, not its name.

- PDF: pypdf (pure Python, well kept, reads text layers with their ToUnicode maps, which Chinese PDFs need; its
  crypto extra opens AES files far enough to say they are encrypted). One page of text per PDF page.
- DOCX: python-docx: paragraphs in order, heading styles and numbered clauses kept as their own lines, table rows
  as tab-separated lines.
- XLSX: openpyxl in read-only mode: one page per sheet, rows as tab-separated lines.
- DOC (Word 97–2003): Debian's `antiword` (-m UTF-8), the long-standing reader of that format; run with a timeout.

These run inside the worker process (tracker.extract.worker), which adds the time and memory caps; the caps on
bytes, pages and ZIP expansion are checked here, before a library is handed the file.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from typing import Callable

from tracker.extract import states
from tracker.extract.states import Extracted
from tracker.extract.structure import reflow

PART_CHARS = 3000


@dataclass(frozen=True)
class Limits:
    """Caps per file: bytes read, pages kept, bytes a ZIP container may expand to, seconds, worker memory."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    max_unzipped: int = 200 * 1024 * 1024
    seconds: float = 60.0
    memory: int = 1024 * 1024 * 1024


def sniff(data: bytes) -> str | None:
    """The format of a file from its first bytes (and, for ZIP, its member names): pdf, docx, xlsx, ole (Word 97),
    zip, broken_zip (a cut-short ZIP container, as DOCX and XLSX are), or None for anything else."""
    head = data[:8]
    if data[:1024].lstrip(b"\x00\t\r\n ").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return "broken_zip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return "zip"
    return None


def split_parts(text: str, size: int = PART_CHARS) -> tuple[str, ...]:
    """A long text cut into parts of about `size` characters at line ends (a line longer than that stays whole)."""
    parts: list[str] = []
    current: list[str] = []
    length = 0
    for line in text.split("\n"):
        if current and length + len(line) > size:
            parts.append("\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current and "".join(current).strip():
        parts.append("\n".join(current))
    return tuple(parts)


def _clean(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _zip_expands_too_far(data: bytes, limits: Limits) -> str | None:
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        return f"damaged ZIP container: {exc}"
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped:
        return f"expands to {total} bytes (cap {limits.max_unzipped})"
    return None


def read_pdf(data: bytes, limits: Limits) -> Extracted:
    """The text of each page of a PDF (see module docstring)."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # An empty user password opens many "protected" PDFs (print/copy restrictions only): try it first.
            try:
                if not reader.decrypt(""):
                    return Extracted(states.ENCRYPTED, "a password is needed to open it", "pdf")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                return Extracted(states.ENCRYPTED, str(exc), "pdf")
        count = len(reader.pages)
        pages = tuple(reflow(page.extract_text() or "") for page in reader.pages[:limits.max_pages])
    except FileNotDecryptedError as exc:
        return Extracted(states.ENCRYPTED, str(exc), "pdf")
    except LimitReachedError as exc:  # a stream that would expand past pypdf's caps: a PDF bomb
        return Extracted(states.TOO_LARGE, f"LimitReachedError: {exc}", "pdf")
    except (PdfReadError, ValueError, KeyError, TypeError, AssertionError, IndexError) as exc:
        return Extracted(states.TRUNCATED, f"{type(exc).__name__}: {exc}", "pdf")
    if not any(pages):
        return Extracted(states.NO_TEXT, f"{count} pages, no text layer (a scan?)", "pdf")
    if count > limits.max_pages:
        return Extracted(states.PARTIAL, f"first {limits.max_pages} of {count} pages", "pdf", pages)
    return Extracted(states.OK, f"{count} pages", "pdf", pages)


def _docx_lines(document) -> list[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                lines.append("\t".join(cell.text.strip() for cell in row.cells))
    return lines


def read_docx(data: bytes, limits: Limits) -> Extracted:
    """The paragraphs and table rows of a DOCX, in parts (see module docstring)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if (why := _zip_expands_too_far(data, limits)) is not None:
        return Extracted(states.TOO_LARGE if "expands" in why else states.TRUNCATED, why, "docx")
    try:
        lines = _docx_lines(docx.Document(io.BytesIO(data)))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        return Extracted(states.TRUNCATED, f"{type(exc).__name__}: {exc}", "docx")
    return _parts_result(_clean("\n".join(lines)), "docx", limits)


def read_xlsx(data: bytes, limits: Limits) -> Extracted:
    """One page per sheet of an XLSX, rows as tab-separated lines."""
    import openpyxl

    if (why := _zip_expands_too_far(data, limits)) is not None:
        return Extracted(states.TOO_LARGE if "expands" in why else states.TRUNCATED, why, "xlsx")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        pages = []
        for sheet in book.worksheets[:limits.max_pages]:
            rows = ("\t".join("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True))
            pages.append(_clean("\n".join(f"{sheet.title}" if i == 0 else r for i, r in enumerate(["", *rows]))))
        book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        return Extracted(states.TRUNCATED, f"{type(exc).__name__}: {exc}", "xlsx")
    if not any(p.count("\n") for p in pages):
        return Extracted(states.NO_TEXT, "no cell holds a value", "xlsx")
    return Extracted(states.OK, f"{len(pages)} sheets", "xlsx", tuple(pages))


def read_doc(data: bytes, limits: Limits, declared: str | None = None) -> Extracted:
    """The text of a Word 97–2003 file through antiword, in parts."""
    tool = shutil.which("antiword")
    if tool is None:
        return Extracted(states.UNSUPPORTED, "antiword is not installed", "doc")
    try:
        done = subprocess.run([tool, "-m", "UTF-8.txt", "-"], input=data, capture_output=True,
                              timeout=limits.seconds, check=False)
    except subprocess.TimeoutExpired:
        return Extracted(states.TIMEOUT, f"antiword ran over {limits.seconds:g} s", "doc")
    message = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        if "encrypt" in message.lower():
            return Extracted(states.ENCRYPTED, message, "doc")
        # antiword says "is not a Word Document" for an OLE file of another kind (an old XLS, a WPS file): that is
        # unsupported, unless the page called it a .doc, when it is a damaged one.
        other = "not a Word Document" in message and declared not in ("doc", "dot", None)
        return Extracted(states.UNSUPPORTED if other else states.TRUNCATED,
                         message or f"antiword exit {done.returncode}", "doc")
    return _parts_result(_clean(done.stdout.decode("utf-8", "replace")), "doc", limits)


def _parts_result(text: str, kind: str, limits: Limits) -> Extracted:
    if not text:
        return Extracted(states.NO_TEXT, "the document holds no text", kind)
    parts = split_parts(text)
    if len(parts) > limits.max_pages:
        return Extracted(states.PARTIAL, f"first {limits.max_pages} of {len(parts)} parts", kind,
                         parts[:limits.max_pages])
    return Extracted(states.OK, f"{len(parts)} parts, {len(text)} characters", kind, parts)


READERS: dict[str, Callable[[bytes, Limits], Extracted]] = {
    "pdf": read_pdf, "docx": read_docx, "xlsx": read_xlsx, "ole": read_doc,
}


def read(data: bytes, declared: str | None, limits: Limits | None = None) -> Extracted:
    """Read a file in this process (the worker calls this): the byte cap, the format from the bytes, its reader.

    `declared` is the extension the page gave; a mismatch with the bytes is noted in the detail, and the bytes win.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        return Extracted(states.TOO_LARGE, f"{len(data)} bytes (cap {limits.max_bytes})", declared)
    kind = sniff(data)
    if kind is None:
        if declared in ("wps", "et", "rar", "ofd"):
            return Extracted(states.UNSUPPORTED, f".{declared} files are not read here", declared)
        start = data[:40].decode("latin-1", "replace")
        return Extracted(states.BAD_FORMAT, f"declared .{declared}, but the bytes are no known format: {start!r}",
                         declared)
    if kind == "broken_zip":
        return Extracted(states.TRUNCATED, "a ZIP container (DOCX, XLSX) whose directory cannot be read", declared)
    if kind == "zip":
        return Extracted(states.UNSUPPORTED, "a ZIP archive (its files are not unpacked)", "zip")
    result = read_doc(data, limits, declared) if kind == "ole" else READERS[kind](data, limits)
    shown = "doc" if kind == "ole" else kind
    if declared and declared != shown and result.detail is not None:
        return Extracted(result.state, f"{result.detail}; declared .{declared}, the bytes are {shown}", shown,
                         result.pages)
    return result
