"""The shared date parser: every format of SOURCES.md §6, in any typography, reads back as the same date."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapers._dates import find_date, parse_date

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
blanks = st.sampled_from(["", " ", "\u00a0", "\u3000", "\n"])
FULL_WIDTH = str.maketrans("0123456789-.()", "０１２３４５６７８９－．（）")


def renderings(d: date, gap: str) -> list[str]:
    """Every way the sources print a date (gap = blanks that a Word paste or a span split leaves behind)."""
    return [
        d.isoformat(),
        f"{d.isoformat()} 08:38",
        f"({d.isoformat()})",
        f"（{d.isoformat()}）",
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}{gap}年{d.month}{gap}月{gap}{d.day}日",
        f"{d.year}年{d.month:02d}月{d.day:02d}日",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        f"{d.isoformat()}-10:22:33",
        d.strftime("%Y%m%d"),
        d.isoformat().translate(FULL_WIDTH),
        f"{d.year}/{d.month}/{d.day}",
    ]


@given(dates, blanks)
def test_every_known_format_reads_back(d: date, gap: str) -> None:
    for text in renderings(d, gap):
        assert parse_date(text) == d, text
        assert find_date(f"发布时间：{text} 来源：国家药监局") == d, text


@given(st.text(max_size=40))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse_date(text)
    assert result is None or isinstance(result, date)
    found = find_date(text)
    assert found is None or isinstance(found, date)


@pytest.mark.parametrize("text", ["", None, "2026-13-01", "2026-02-30", "2026年2月30日", "下午", "20261301",
                                  "2026-11-18 extra"])
def test_impossible_or_incomplete_dates_are_none(text: str | None) -> None:
    assert parse_date(text) is None


def test_find_date_takes_the_earliest_and_ignores_digits_inside_numbers() -> None:
    assert find_date("国械注准20263219901，批准日期2026年1月2日，发布 2026-03-04") == date(2026, 1, 2)
    assert find_date("受理号CSZ2600101") is None
