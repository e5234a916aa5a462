"""Export rows as files people open in Excel (and scripts read): the one place that turns export rows into CSV and
XLSX.

Columns have a kind (text, number, date, time, flag, list, tags) taken from the field, so each format writes a value
the way its readers expect:

- Headers are the fields' labels in the reader's language; `headers="codes"` writes the machine names instead (for
  scripts), and then tags stay `facet:code` and flags `true`/`false`, as in the JSON export.
- XLSX writes real date, number and boolean cells, fits column widths, freezes the header row and sets an autofilter.
  A text cell is written as text (its type says so), so `=cmd|...` scraped from a page is shown, never run, and the
  text is kept exactly as scraped: no apostrophe is added.
- CSV is UTF-8 with a BOM (Excel reads Chinese), CRLF line ends, and a text cell that would start a formula gets the
  usual leading apostrophe, since CSV has no cell types to say "this is text".
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from web.serialize import neutralise_formula

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NUMBERS = {"id", "mgmt_class", "first_reg_year", "ai_confidence", "final_version_id"}
DATES = {"issued_on", "di_published_on", "withdrawn_on", "published_on", "written_on"}
TIMES = {"first_seen", "updated_at"}
FLAGS = {"is_ai", "is_sample"}
LISTS = {"ai_evidence", "attachments"}
MAX_WIDTH = 60  # characters: a long description wraps in Excel's cell rather than making a screen-wide column
DATE_FORMAT, TIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"


def xml_safe(text: Any) -> str:
    """`text` without the control characters XML 1.0 (and so Atom and XLSX) cannot hold."""
    return _NOT_XML.sub("", "" if text is None else str(text))


def kind_of(field: str) -> str:
    """The kind of a column: number, date, time, flag, list, tags or text."""
    for kind, names in (("number", NUMBERS), ("date", DATES), ("time", TIMES), ("flag", FLAGS), ("list", LISTS)):
        if field in names:
            return kind
    return "tags" if field == "tags" else "text"


@dataclass(frozen=True)
class Words:
    """How a sheet speaks: the header of a field, the label of a tag, the words for yes and no; `codes` when the
    sheet is for scripts (machine names, tag codes, true/false)."""

    header: Callable[[str], str]
    tag_label: Callable[[str], str]
    yes: str
    no: str
    codes: bool = False


def _list_item(item: Any) -> str:
    return str(item.get("name") or item.get("url", "")) if isinstance(item, dict) else str(item)


def value_of(field: str, value: Any, words: Words) -> Any:
    """The typed value of a cell: dates and times as date/datetime, numbers and flags as they are, lists joined
    with "; ", tags as labels (codes for scripts); None stays None."""
    kind = kind_of(field)
    if value is None or value == "":
        return None
    if kind == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if kind == "time":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if kind == "tags":
        return "; ".join(value if words.codes else [words.tag_label(t) for t in value])
    if kind == "list":
        return "; ".join(_list_item(v) for v in value)
    return value


def header_row(columns: Iterable[str], words: Words) -> list[str]:
    """The first row: labels in the reader's language, or the machine names."""
    return list(columns) if words.codes else [words.header(c) for c in columns]


def _text(field: str, value: Any, words: Words, tz) -> str:
    """A value as CSV text: ISO dates, local times, flags in words (true/false for scripts), formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("true" if value else "false") if words.codes else (words.yes if value else words.no)
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_formula(value) if isinstance(value, str) else str(value)


def to_csv(rows: list[dict[str, Any]], columns: list[str], words: Words, tz) -> bytes:
    """The rows as CSV: UTF-8 with a BOM, CRLF line ends (the csv module's default), one header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header_row(columns, words))
    for row in rows:
        writer.writerow([_text(c, value_of(c, row.get(c), words), words, tz) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _width(text: str) -> int:
    """How many character widths `text` takes in a spreadsheet column (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _display(value: Any) -> str:
    if isinstance(value, datetime):
        return "0000-00-00 00:00"
    if isinstance(value, date):
        return "0000-00-00"
    return "" if value is None else str(value)


def to_xlsx(rows: list[dict[str, Any]], columns: list[str], words: Words, sheet_name: str, tz) -> bytes:
    """The rows as one XLSX sheet with typed cells, fitted widths, a frozen header row and an autofilter.

    Times are written in the display time zone without an offset (spreadsheet cells carry none).
    """
    header = header_row(columns, words)
    values = [[value_of(c, row.get(c), words) for c in columns] for row in rows]
    for line in values:
        for i, v in enumerate(line):
            if isinstance(v, datetime):
                line[i] = v.astimezone(tz).replace(tzinfo=None)
            elif isinstance(v, str):
                line[i] = xml_safe(v)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)
    # Widths, the frozen row and the filter go before the rows: a write-only sheet streams its rows out.
    for i, name in enumerate(header, start=1):
        widest = max([_width(name)] + [_width(_display(line[i - 1])) for line in values])
        sheet.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, widest + 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(values) + 1}"
    sheet.append(header)
    for line in values:
        sheet.append([_cell(sheet, v) for v in line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet, value: Any) -> Any:
    """A value as a typed cell: text stays text even when it starts with "=", dates and times carry a format."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # openpyxl would take a leading "=" as a formula; the type keeps it the scraped text
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = TIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DATE_FORMAT
        return cell
    return value
