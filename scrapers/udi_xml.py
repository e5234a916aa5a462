"""Safe streaming reader for UDI bulk files: ZIP → nested ZIP → XML parts → `<device>` elements.

The NMPA UDI download files are ZIPs of XML parts (SOURCES.md §1); monthly ZIPs nest daily ZIPs, and the full
release holds over a thousand parts and millions of records. This module walks such an archive without ever
building a whole document, and treats every file as hostile:

- the XML parser resolves no entities, loads no DTD and never touches the network (no XXE);
- caps on the number of archive members, on the nesting depth and on the decompressed bytes (zip bombs), checked
  against the sizes the archive declares before a member is read and again on the bytes actually read;
- bytes that are not legal in XML 1.0 (C0 control characters, seen in real parts) are removed before parsing and
  counted; what libxml2 still has to recover from is counted too;
- a truncated or damaged archive or XML part raises `UdiArchiveError` with a message saying which file broke.

Mapping devices to records (scope, grouping) is `scrapers.udi`'s job; this module only yields elements.
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Iterator

from lxml import etree

from tracker.records import LayoutChanged, ParseStats

DEFAULT_MAX_UNPACKED_BYTES = 32 * 2**30
DEFAULT_MAX_MEMBERS = 5_000
DEFAULT_MAX_DEPTH = 3
DEVICE_TAG = "device"
ROOT_TAG = "udid"
MAX_ERROR_NOTES = 5

# C0 controls other than tab, LF and CR are never legal in XML 1.0. In UTF-8 (and GBK) these byte values occur only
# as those characters, never inside a multi-byte sequence, so deleting them from the raw bytes is safe.
_ILLEGAL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D))
_SPOOL_IN_MEMORY = 64 * 2**20
_ERR_TAG_NOT_FINISHED = etree.ErrorTypes.ERR_TAG_NOT_FINISHED


class UdiArchiveError(ValueError):
    """A UDI download that must not be ingested: wrong MD5, truncated or damaged, or over a safety cap."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Safety caps for one download: decompressed bytes and members summed over all nesting levels, and depth.

    The full release (about 285 MB zipped, 5.7 M records) is estimated at 10-15 GB of XML (*unverified*), hence the
    32 GiB default; the caps exist to stop a zip bomb, not to bound honest files tightly.
    """

    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    max_members: int = DEFAULT_MAX_MEMBERS
    max_depth: int = DEFAULT_MAX_DEPTH


class _Budget:
    """What one download has used of its limits so far, shared by every nesting level."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.unpacked = 0
        self.members = 0

    def add_members(self, count: int, where: str) -> None:
        self.members += count
        if self.members > self.limits.max_members:
            raise UdiArchiveError(
                f"too many files in {where}: more than {self.limits.max_members} archive members (zip bomb?)")

    def check_declared(self, declared: int, where: str) -> None:
        if self.unpacked + declared > self.limits.max_unpacked_bytes:
            raise UdiArchiveError(
                f"{where} declares {declared} bytes uncompressed, over the cap of "
                f"{self.limits.max_unpacked_bytes} bytes (zip bomb?)")

    def add_bytes(self, count: int, where: str) -> None:
        self.unpacked += count
        if self.unpacked > self.limits.max_unpacked_bytes:
            raise UdiArchiveError(
                f"decompressed data passed the cap of {self.limits.max_unpacked_bytes} bytes while reading {where} "
                "(zip bomb?)")


class _PartReader:
    """File-like `read` over a member: counts bytes against the budget and (for XML) deletes illegal control bytes."""

    def __init__(self, raw: IO[bytes], budget: _Budget | None, where: str, *, clean: bool = True) -> None:
        self._raw = raw
        self._budget = budget
        self._clean = clean
        self.where = where
        self.removed = 0

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                data = self._raw.read(size)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise UdiArchiveError(f"truncated or damaged archive member {self.where}: {exc}") from exc
            if not data:
                return b""
            if self._budget is not None:
                self._budget.add_bytes(len(data), self.where)
            if not self._clean:
                return data
            cleaned = data.translate(None, _ILLEGAL_BYTES)
            self.removed += len(data) - len(cleaned)
            # An empty chunk would tell the parser the file ended: read on when a chunk held only illegal bytes.
            if cleaned:
                return cleaned


def _open_zip(source: IO[bytes], where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        source.seek(0)
        head = source.read(4)
        if head.startswith(b"PK"):
            raise UdiArchiveError(f"truncated ZIP {where}: {exc} (the central directory is missing)") from exc
        raise UdiArchiveError(f"{where} is not a ZIP file: {exc}") from exc


def _spool_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, where: str) -> IO[bytes]:
    """Copy a nested ZIP out of its parent (counted), because zipfile needs a cheaply seekable file."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
    with archive.open(info) as member:
        shutil.copyfileobj(_PartReader(member, budget, where, clean=False), spool)  # type: ignore[misc]
    spool.seek(0)
    return spool  # type: ignore[return-value]


def iter_parts(source: IO[bytes], name: str, limits: ArchiveLimits = ArchiveLimits(), *,
               stats: ParseStats | None = None) -> Iterator[_PartReader]:
    """Readers for every XML part of a ZIP (nested ZIPs followed up to `limits.max_depth`), in archive order.

    Each reader is valid until the next one is requested. Members that are neither .xml nor .zip are ignored (noted
    in `stats`). Raises UdiArchiveError for a truncated/damaged archive or a cap that is exceeded.
    """
    yield from _walk(source, name, _Budget(limits), 1, stats)


def _walk(source: IO[bytes], where: str, budget: _Budget, depth: int,
          stats: ParseStats | None) -> Iterator[_PartReader]:
    if depth > budget.limits.max_depth:
        raise UdiArchiveError(f"{where} nests ZIPs deeper than {budget.limits.max_depth} levels")
    with _open_zip(source, where) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        # Both checks use what the archive declares, so a bomb is refused before a single byte is inflated.
        budget.add_members(len(infos), where)
        budget.check_declared(sum(i.file_size for i in infos), where)
        for info in infos:
            inner = f"{where}/{info.filename}"
            lower = info.filename.lower()
            try:
                if lower.endswith(".zip"):
                    with _spool_member(archive, info, budget, inner) as spool:
                        yield from _walk(spool, inner, budget, depth + 1, stats)
                elif lower.endswith(".xml"):
                    with archive.open(info) as member:
                        yield _PartReader(member, budget, inner)
                elif stats is not None:
                    stats.notes.append(f"ignored archive member {inner}")
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise UdiArchiveError(f"truncated or damaged archive member {inner}: {exc}") from exc


def iter_devices(part: _PartReader | IO[bytes], stats: ParseStats, *, where: str | None = None,
                 encoding: str | None = None) -> Iterator[etree._Element]:
    """The `<device>` elements of one UDI XML part, streamed; each is valid only until the next is requested.

    Raises LayoutChanged("udid root") when the document's root is not `<udid>`, and UdiArchiveError when the XML
    ends before its elements are closed (a truncated part). Recovered parser errors are noted in `stats`.
    """
    reader = part if isinstance(part, _PartReader) else _PartReader(part, None, where or "XML")
    where = where or reader.where
    parser = etree.iterparse(
        reader, events=("end",), tag=DEVICE_TAG, encoding=encoding,
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=True,
        remove_comments=True, remove_pis=True)
    try:
        for _event, elem in parser:
            yield elem
            # Free what was parsed: the element's children and the already-handled siblings before it.
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        if getattr(parser, "root", None) is None:
            raise LayoutChanged("udid root", url=where) from exc
        raise UdiArchiveError(f"unreadable XML in {where}: {exc}") from exc
    root = parser.root
    if root is None or root.tag != ROOT_TAG:
        raise LayoutChanged("udid root", url=where)
    errors = list(parser.error_log)
    if any(e.type == _ERR_TAG_NOT_FINISHED for e in errors):
        raise UdiArchiveError(f"truncated XML {where}: the document ends inside an element")
    if reader.removed:
        stats.notes.append(f"{where}: removed {reader.removed} control characters that are not allowed in XML")
    if errors:
        shown = "; ".join(f"line {e.line}: {e.message}" for e in errors[:MAX_ERROR_NOTES])
        stats.notes.append(f"{where}: parser recovered from {len(errors)} XML errors ({shown})")

