"""Round trips of the CSV and XLSX exports: what a file says, read back with the csv module or openpyxl, is the same
records the JSON export gives (typed: dates, times to the minute, numbers, flags, tags), with human headers in the
reader's language or machine names with ?headers=codes; and the XLSX is a sheet Excel users expect (typed cells,
fitted widths, frozen header, autofilter, no apostrophes)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tracker import i18n
from tracker.classify import taxonomy
from web import sheets

TZ = ZoneInfo("Asia/Shanghai")
FORMULA = "=cmd|' /C calc'!A0"


def typed(field: str, value):
    """A JSON export value as the sheet should carry it (times in the display zone, to the minute)."""
    kind = sheets.kind_of(field)
    if value in (None, "", []):
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return datetime.fromisoformat(value).astimezone(TZ).replace(tzinfo=None, second=0, microsecond=0)
    if kind == "tags":
        return sorted(value)
    if kind == "list":
        return [v.get("name") or v.get("url") if isinstance(v, dict) else v for v in value]
    return value


def from_csv_text(field: str, text: str, lang: str | None):
    """A CSV cell read back into its typed value (`lang` None: a ?headers=codes file)."""
    kind = sheets.kind_of(field)
    if text == "":
        return None
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "time":
        return datetime.strptime(text, "%Y-%m-%d %H:%M")
    if kind == "number":
        return float(text) if "." in text else int(text)
    if kind == "flag":
        return text == ("true" if lang is None else i18n.gettext("yes", lang))
    if kind == "tags":
        return sorted(text.split("; ") if lang is None else [tag_code(t, lang) for t in text.split("; ")])
    if kind == "list":
        return text.split("; ")
    return text[1:] if text.startswith("'") and text[1:2] in "=+-@\t\r" else text


def tag_code(shown: str, lang: str) -> str:
    """A tag as shown ("阶段：征求意见稿", or "AI") back to its facet:code; exactly one tag may read that way."""
    if shown == "AI":
        return "ai:ai"
    matches = [f"{facet}:{n.code}" for facet in taxonomy.FACETS for n in taxonomy.nodes(facet)
               if i18n.gettext("tag_shown", lang, facet=i18n.gettext(f"facet_{facet}", lang),
                               label=taxonomy.label(n.code, lang)) == shown]
    assert len(matches) == 1, (shown, matches)
    return matches[0]


def field_of(header: str, lang: str, columns: list[str]) -> str:
    """A human header back to its field name."""
    found = [c for c in columns if i18n.gettext(c, lang) == header]
    assert len(found) == 1, (header, found)
    return found[0]


def records(client, kind: str, lang: str) -> tuple[list[str], list[dict]]:
    """The JSON export of `kind` (the reference records) and its column order (from the codes CSV)."""
    items = client.get(f"/export/{kind}.json?lang={lang}").get_json()["items"]
    text = client.get(f"/export/{kind}.csv?lang={lang}&headers=codes").get_data().decode("utf-8-sig")
    columns = next(csv.reader(io.StringIO(text)))
    return columns, [{c: typed(c, item.get(c)) for c in columns} for item in items]


@pytest.mark.parametrize("kind", ["devices", "policies"])
@pytest.mark.parametrize("lang,headers", [("zh", ""), ("en", ""), ("zh", "codes")])
def test_csv_reads_back_to_the_same_records(client, kind, lang, headers):
    columns, expected = records(client, kind, lang)
    raw = client.get(f"/export/{kind}.csv?lang={lang}&headers={headers}").get_data()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    header = next(reader)
    fields = header if headers == "codes" else [field_of(h, lang, columns) for h in header]
    assert fields == columns
    if headers != "codes":
        assert header[columns.index("cert_no" if kind == "devices" else "title")] == i18n.gettext(
            "cert_no" if kind == "devices" else "title", lang)
    got = [{f: from_csv_text(f, text, None if headers == "codes" else lang) for f, text in zip(fields, line, strict=True)}
           for line in reader]
    assert got == expected and len(got) > 3


@pytest.mark.parametrize("kind", ["devices", "policies"])
@pytest.mark.parametrize("lang,headers", [("zh", ""), ("en", ""), ("en", "codes")])
def test_xlsx_reads_back_to_the_same_records_with_typed_cells(client, kind, lang, headers):
    columns, expected = records(client, kind, lang)
    book = load_workbook(io.BytesIO(client.get(f"/export/{kind}.xlsx?lang={lang}&headers={headers}").get_data()))
    sheet = book.active
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    fields = header if headers == "codes" else [field_of(h, lang, columns) for h in header]
    assert fields == columns
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(columns)).column_letter}{len(rows)}"
    widths = {f: sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width for i, f in enumerate(fields)}
    assert all(w and w >= 4 for w in widths.values())
    got = []
    for line in rows[1:]:
        record = {}
        for f, c in zip(fields, line, strict=True):
            kind_ = sheets.kind_of(f)
            value = c.value
            if isinstance(value, str):
                assert c.data_type == "s" and not value.startswith("'")
            if kind_ == "date" and value is not None:
                assert c.is_date and c.number_format == sheets.DATE_FORMAT
                value = value.date()
            elif kind_ == "time" and value is not None:
                assert c.is_date and c.number_format == sheets.TIME_FORMAT
                value = value.replace(second=0, microsecond=0)
            elif kind_ == "flag":
                assert isinstance(value, bool)
            elif kind_ == "number" and value is not None:
                assert c.data_type == "n"
            elif kind_ == "tags" and value is not None:
                value = sorted(value.split("; ") if headers == "codes" else [tag_code(t, lang) for t in value.split("; ")])
            elif kind_ == "list" and value is not None:
                value = value.split("; ")
            record[f] = value
        got.append(record)
    assert got == expected


def test_formula_text_stays_text_in_xlsx_and_is_escaped_in_csv():
    words = sheets.Words(header=str, tag_label=str, yes="yes", no="no", codes=True)
    rows = [{"title": FORMULA, "published_on": "2026-11-12", "is_ai": True, "tags": ["ai:ai"],
             "updated_at": datetime(2026, 11, 12, 1, 30, tzinfo=timezone.utc).isoformat()}]
    columns = ["title", "published_on", "is_ai", "tags", "updated_at"]
    cell = load_workbook(io.BytesIO(sheets.to_xlsx(rows, columns, words, "x", TZ))).active["A2"]
    assert cell.value == FORMULA and cell.data_type == "s"  # shown as scraped, never run, no apostrophe added
    line = list(csv.reader(io.StringIO(sheets.to_csv(rows, columns, words, TZ).decode("utf-8-sig"))))[1]
    assert line == ["'" + FORMULA, "2026-11-12", "true", "ai:ai", "2026-11-12 09:30"]
