"""Grouping UDI device rows into one DeviceRecord per certificate (the part of `scrapers.udi` that needs memory).

A certificate's DIs may sit in any XML part of a download, so nothing can be yielded before the last part has been
read. The in-scope rows wait in a scratch SQLite file (`_Grouper`), which keeps memory flat however large the
release: about 1 KB per class-III row held in Python would be some 300 MB for a full release.
"""
from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from contextlib import closing, contextmanager, nullcontext
from datetime import date
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterator

from lxml import etree

from scrapers._dates import parse_date
from scrapers._html import normalise_space
from tracker.ids import certno
from tracker.records import DeviceRecord, ParseStats

SCOPES = ("class3", "all_registrations")
MODEL_SPEC_MAX_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # survives as character references (&#1;)

# UDI tag → DeviceRecord field for the per-certificate facts (taken from the newest version of any of its DIs).
_CERT_FIELDS = {
    "cpmctymc": "product_name", "spmc": "brand", "cpms": "description", "flbm": "catalogue_code",
    "qxlb": "device_kind", "ylqxzcrbarmc": "registrant", "ylqxzcrbarywmc": "registrant_en",
    "tyshxydm": "credit_code",
}
_ROW_TAGS = frozenset(_CERT_FIELDS) | {"zxxsdycpbs", "cpbsfbrq", "tsrq", "ggxh", "versionNumber", "versionTime",
                                       "versionStauts", "deviceRecordKey"}
CERT_TAG = "zczbhhzbapzbh"


@lru_cache(maxsize=1_024)
def _cert(raw: str) -> certno.CertNo | None:
    # Rows of one certificate tend to sit together, so a small cache saves most of the parsing.
    return certno.try_parse(raw)


# Most rows are out of scope (class II, filings), and whether a number is, certno decides from its shape: one parse
# per shape (a few thousand in a release) instead of one per number. Bounded, so hostile input cannot grow it.
_by_shape = lru_cache(maxsize=4_096)(certno.try_parse)


@lru_cache(maxsize=1_024)
def _scope_cert(raw: str) -> certno.CertNo | None:
    """A parse of `raw` that is enough to decide its scope (kind and class): the number's shape's when it has one."""
    # Cached too, as _cert is: the next rows usually repeat the number, and a hit costs less than the shape's regex.
    shape = certno.shape(raw)
    return _cert(raw) if shape is None else _by_shape(shape)


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = normalise_space(_CONTROL.sub("", text))
    return text or None


def _version(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


class _Grouper:
    """Collects in-scope device rows by certificate, keeping only the highest version of each deviceRecordKey.

    Out-of-scope rows are counted and dropped at once. The kept rows go to a scratch SQLite file, because nothing can
    be yielded before the last XML part (a certificate's DIs may sit in any of them) and holding the rows in memory
    would grow with the release: about 1 KB per class-III row, some 300 MB for a full release, more for a wider scope.
    The scratch file is this parser's working memory, not the tracker's database (`tracker.store.write`): it lives in a
    private temporary folder that `grouping` removes, and the scraper still never touches the store.

    Rules (as the NMPA versioning needs them): of the rows of one record key, the highest `versionNumber` wins (on a
    tie, the later row); a deleted version removes its DI; a certificate's facts come from its row with the newest
    (`versionTime`, `versionNumber`), the later row on a tie, counting rows later superseded too.
    """

    def __init__(self, classes: tuple[int, ...], stats: ParseStats, db: sqlite3.Connection) -> None:
        self.classes = classes
        self.stats = stats
        self.rows = 0  # device rows read, in scope or not; also the order of the rows kept
        self.keyed = 0  # in-scope rows filed under their record key
        self._db = db

    def add(self, elem: etree._Element) -> None:
        """Take one `<device>` element (read before the parser moves on)."""
        self.rows += 1
        cert = self._in_scope_cert(elem)
        if cert is not None:
            self._keep(cert, {child.tag: child.text for child in elem if child.tag in _ROW_TAGS})

    def _in_scope_cert(self, elem: etree._Element) -> certno.CertNo | None:
        """The row's certificate if the row is in scope; else None, the row counted as skipped or out of scope."""
        # iterchildren filters by tag in C: a third of findtext's cost (a path search), paid on every row.
        found = next(elem.iterchildren(CERT_TAG), None)
        raw = (found.text or "").strip() if found is not None else ""
        cert = _scope_cert(raw) if raw else None
        if cert is None:
            self.stats.skipped += 1
        elif not cert.is_registration or cert.mgmt_class not in self.classes:
            self.stats.out_of_scope += 1
        else:
            return _cert(raw)  # in scope: the number itself (its normalised form is the device key)
        return None

    def _keep(self, cert: certno.CertNo, row: dict[str, str | None]) -> None:
        """File an in-scope row under its record key unless a higher version was read, and offer its facts."""
        version = _version(row.get("versionNumber"))
        di = _clean(row.get("zxxsdycpbs"))
        key = _clean(row.get("deviceRecordKey")) or di or f"#{self.rows}"
        deleted = "删除" in (row.get("versionStauts") or "")  # *unverified* status value: a deleted DI is not kept
        self.keyed += 1
        kept = self._db.execute(_KEEP_ROW, (
            key, version, self.rows, cert.normalised, deleted, di, _iso(parse_date(row.get("cpbsfbrq"))),
            _iso(parse_date(row.get("tsrq"))), (_clean(row.get("ggxh")) or "")[:200] or None)).rowcount
        if not kept or deleted:  # an older version than one already read says nothing about the certificate
            return
        # The texts are stored raw and cleaned once per certificate on the way out, not for every version read.
        self._db.execute(_KEEP_FACTS, (
            cert.normalised, (row.get("versionTime") or "").strip(), version, cert.mgmt_class, cert.origin,
            cert.year, *(row.get(tag) for tag in _CERT_FIELDS)))

    def records(self, source_url: str | None) -> Iterator[DeviceRecord]:
        """One DeviceRecord per certificate, sorted by certificate number; adds a summary note to the stats."""
        kept = 0
        # SQLite's default (BINARY) collation compares UTF-8 bytes, which orders text as Python's sorted() does.
        self._db.execute("CREATE INDEX di_row_by_cert ON di_row (cert, seq)")
        for cert_no, group in groupby(self._db.execute(_GROUPS), key=itemgetter(0)):
            rows = list(group)
            facts = _facts(rows[0][len(_ROW_COLUMNS):])
            if not facts["product_name"]:
                self.stats.skipped += len(rows)
                continue
            kept += 1
            yield _record(cert_no, facts, [(di, _date(p), _date(w), m) for _, di, p, w, m, *_ in rows], source_url)
        # Every in-scope row after the first of its key superseded one or was superseded: one row per key remains.
        superseded = self.keyed - self._db.execute("SELECT count(*) FROM di_row").fetchone()[0]
        self.stats.notes.append(f"{self.rows} device rows read, {kept} certificates kept, "
                                f"{superseded} superseded versions merged")


# The scratch store: one row per record key (its kept version) and one per certificate (its newest facts).
_CERT_NO_COLUMNS = ("mgmt_class", "origin", "first_reg_year")  # named as DeviceRecord fields, like the texts
_FACT_COLUMNS = (*_CERT_NO_COLUMNS, *_CERT_FIELDS.values())
_ROW_COLUMNS = ("cert", "di", "published", "withdrawn", "model")  # what _GROUPS reads of a row, before the facts


def _upsert(table: str, columns: str, condition: str) -> str:
    """An INSERT of one row (key first) that overwrites a row of the same key only where `condition` holds."""
    names = columns.split()
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:])
    return (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
            f"ON CONFLICT ({names[0]}) DO UPDATE SET {updates} WHERE {condition}")


_KEEP_ROW = _upsert("di_row", "record_key version seq cert deleted di published withdrawn model",
                    "excluded.version >= di_row.version")
_KEEP_FACTS = _upsert("cert_facts", "cert version_time version " + " ".join(_FACT_COLUMNS),
                      "(excluded.version_time, excluded.version) >= (cert_facts.version_time, cert_facts.version)")
_GROUPS = (f"SELECT {', '.join('r.' + c for c in _ROW_COLUMNS)}, {', '.join('f.' + c for c in _FACT_COLUMNS)} "
           "FROM di_row r JOIN cert_facts f ON f.cert = r.cert WHERE NOT r.deleted ORDER BY r.cert, r.seq")
_SCHEMA = f"""
CREATE TABLE di_row (record_key TEXT PRIMARY KEY, version INTEGER NOT NULL, seq INTEGER NOT NULL,
                     cert TEXT NOT NULL, deleted INTEGER NOT NULL, di TEXT, published TEXT, withdrawn TEXT,
                     model TEXT);
CREATE TABLE cert_facts (cert TEXT PRIMARY KEY, version_time TEXT NOT NULL, version INTEGER NOT NULL,
                         {", ".join(_FACT_COLUMNS)});
"""


@contextmanager
def grouping(scope: str, stats: ParseStats, *, on_disk: bool = True) -> Iterator[_Grouper]:
    """A _Grouper over a fresh scratch store (a file, or memory for small inputs), deleted when the block ends,
    however it ends: after the last record, on an error mid-file, or when the consumer stops early."""
    if scope not in SCOPES:
        raise ValueError(f"unknown UDI scope {scope!r} (expected one of {', '.join(SCOPES)})")
    classes = (3,) if scope == "class3" else (2, 3)
    folder = tempfile.TemporaryDirectory(prefix="udi-grouping-") if on_disk else nullcontext(None)
    with folder as path, closing(_scratch_db(os.path.join(path, "grouping.sqlite3") if path else ":memory:")) as db:
        yield _Grouper(classes, stats, db)


def _scratch_db(path: str) -> sqlite3.Connection:
    """A fresh scratch store at `path` (or ":memory:")."""
    db = sqlite3.connect(path)
    # Thrown away after one file, so no durability is needed; the rollback journal stays in memory, where it is
    # nearly empty (a transaction on a new file has no old pages to keep).
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(_SCHEMA)
    return db


def _facts(values: tuple) -> dict[str, Any]:
    """DeviceRecord fields of a certificate from the _FACT_COLUMNS of its cert_facts row, the texts cleaned."""
    facts = dict(zip(_FACT_COLUMNS, values, strict=True))
    for field in _CERT_FIELDS.values():
        facts[field] = _clean(facts[field])
    return facts


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _record(cert_no: str, facts: dict[str, Any], rows: list[tuple], source_url: str | None) -> DeviceRecord:
    """The DeviceRecord of one certificate from its facts and its kept rows (di, published, withdrawn, model)."""
    dis = sorted({di for di, _, _, _ in rows if di})
    published = [p for _, p, _, _ in rows if p]
    withdrawn = [w for _, _, w, _ in rows]
    models = list(dict.fromkeys(m for _, _, _, m in rows if m))
    model_spec = "；".join(models) or None
    if model_spec and len(model_spec) > MODEL_SPEC_MAX_CHARS:
        model_spec = model_spec[:MODEL_SPEC_MAX_CHARS - 1] + "…"
    return DeviceRecord(
        cert_no=cert_no, udi_di=tuple(dis), di_published_on=min(published) if published else None,
        # A certificate is withdrawn only when every one of its DIs has a 退市日期.
        withdrawn_on=max(withdrawn) if withdrawn and all(withdrawn) else None,
        model_spec=model_spec, source_url=source_url, **facts)
