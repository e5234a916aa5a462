"""Tests for tracker.ids.docno: document numbers (发文字号), the policy de-duplication key, and draft/final title matching.

The numbers are the real ones of the documents the reports and SOURCES.md §3 name.
"""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tracker.ids.docno import (
    DocNo,
    DocNoError,
    core_title,
    find,
    normalise,
    parse,
    policy_key,
    qualify,
    strip_draft_markers,
    try_parse,
)

# Written out rather than imported, so a bracket style dropped from the module fails the round-trip tests.
BRACKETS = [("〔", "〕"), ("[", "]"), ("［", "］"), ("(", ")"), ("（", "）"), ("【", "】"), ("﹝", "﹞"), ("〖", "〗")]
BLANKS = ["", " ", "\u3000", "\u00a0", "\t"]
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "text, normalised, prefix, year, number, form",
    [
        ("国发〔2017〕35号", "国发〔2017〕35号", "国发", 2017, 35, "bracket"),
        ("国卫规划发〔2018〕23号", "国卫规划发〔2018〕23号", "国卫规划发", 2018, 23, "bracket"),
        ("国办发[2018]26号", "国办发〔2018〕26号", "国办发", 2018, 26, "bracket"),
        ("发改高技 [2016] 1078号", "发改高技〔2016〕1078号", "发改高技", 2016, 1078, "bracket"),
        ("国卫办规划发【2018】4号", "国卫办规划发〔2018〕4号", "国卫办规划发", 2018, 4, "bracket"),
        ("国科发规（2022）199号", "国科发规〔2022〕199号", "国科发规", 2022, 199, "bracket"),
        ("（国发〔2016〕73号）", "国发〔2016〕73号", "国发", 2016, 73, "bracket"),
        ("国发〔２０１７〕３５号", "国发〔2017〕35号", "国发", 2017, 35, "bracket"),
        ("2022年第8号", "2022年第8号", None, 2022, 8, "announcement"),
        ("（2021年第47号）", "2021年第47号", None, 2021, 47, "announcement"),
        ("国家药监局2022年第8号", "国家药监局2022年第8号", "国家药监局", 2022, 8, "announcement"),
        ("国家药品监督管理局公告2022年第8号", "国家药监局公告2022年第8号", "国家药监局", 2022, 8, "announcement"),
        ("国家药监局通告 2023年第38号", "国家药监局通告2023年第38号", "国家药监局", 2023, 38, "announcement"),
    ],
)
def test_parse_known_numbers(text, normalised, prefix, year, number, form) -> None:
    doc = parse(text)
    assert (doc.normalised, doc.prefix, doc.year, doc.number, doc.form) == (normalised, prefix, year, number, form)
    assert doc.raw == text
    assert str(doc) == normalised


def test_announcement_kind_is_kept_apart() -> None:
    # NMPA numbers 公告 and 通告 separately: the two 2022年第8号 are different documents.
    assert parse("国家药品监督管理局公告2022年第8号").kind == "公告"
    assert parse("国家药监局通告2022年第8号").kind == "通告"
    assert parse("国家药监局公告2022年第8号").normalised != parse("国家药监局通告2022年第8号").normalised


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("国发〔2017〕号", "neither"),
        ("国发〔17〕35号", "neither"),
        ("国发〔2017〕0号", "at least 1"),
        ("国发〔1900〕35号", "year 1900"),
        ("2022年第0号", "at least 1"),
        ("人工智能医疗器械注册审查指导原则", "no 号"),
        ("国械注准20203210172", "no 号"),
        ("国务院令第739号", "neither"),
    ],
)
def test_garbage_raises_a_clear_error(text: str, problem: str) -> None:
    with pytest.raises(DocNoError, match=problem) as caught:
        parse(text)
    assert repr(text) in str(caught.value)
    assert try_parse(text) is None


def test_try_parse_accepts_none() -> None:
    assert try_parse(None) is None


def test_normalise_examples() -> None:
    assert normalise(" 国发 [２０１７] 35 号 ") == "国发〔2017〕35号"
    assert normalise("国卫办规划发【2018】4号") == "国卫办规划发〔2018〕4号"
    assert normalise("（2022年第8号）") == "〔2022年第8号〕"


# ---------------------------------------------------------------- properties

_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_prefixes = st.text(_CJK, min_size=1, max_size=8)
_years = st.integers(min_value=1949, max_value=2100)
_numbers = st.integers(min_value=1, max_value=99999)


def _spell(text: str, blank: str, full_width: bool) -> str:
    text = blank.join(text) if blank else text
    return text.translate(FULL_WIDTH_DIGITS) if full_width else text


@given(_prefixes, _years, _numbers, st.sampled_from(BRACKETS), st.sampled_from(BLANKS), st.booleans())
@example("国发", 2017, 35, ("〔", "〕"), "", False)
def test_bracket_form_round_trip(prefix, year, number, brackets, blank, full_width) -> None:
    opening, closing = brackets
    text = _spell(f"{prefix}{opening}{year}{closing}{number}号", blank, full_width)
    doc = parse(text)
    assert (doc.prefix, doc.year, doc.number, doc.form) == (prefix, year, number, "bracket")
    assert doc.normalised == f"{prefix}〔{year}〕{number}号"
    assert parse(doc.normalised) == DocNo(doc.normalised, doc.normalised, prefix, year, number, "bracket")


_ISSUERS = {None: None, "国家药监局": "国家药监局", "国家药品监督管理局": "国家药监局",
            "国家卫生健康委员会": "国家卫健委", "国家卫健委": "国家卫健委"}


@given(st.sampled_from(sorted(_ISSUERS, key=str)), st.sampled_from([None, "公告", "通告"]), _years, _numbers,
       st.sampled_from([None, *BRACKETS]), st.sampled_from(BLANKS), st.booleans())
def test_announcement_form_round_trip(issuer, kind, year, number, enclosing, blank, full_width) -> None:
    text = f"{issuer or ''}{kind or ''}{year}年第{number}号"
    if enclosing:
        text = enclosing[0] + text + enclosing[1]
    doc = parse(_spell(text, blank, full_width))
    canonical = _ISSUERS[issuer]
    assert (doc.prefix, doc.kind, doc.year, doc.number, doc.form) == (canonical, kind, year, number, "announcement")
    assert doc.normalised == f"{canonical or ''}{kind or ''}{year}年第{number}号"
    assert parse(doc.normalised).normalised == doc.normalised


@given(st.text())
@example("e \u0301")  # dropping the blank lets NFKC compose é on a second pass
@example("\u00a8")  # NFKC turns a diaeresis into a blank plus a combining mark
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_any_text_parses_to_a_stable_number_or_raises_docnoerror(text: str) -> None:
    try:
        doc = parse(text)
    except DocNoError:
        return
    assert parse(doc.normalised).normalised == doc.normalised


@given(st.text().filter(lambda t: "号" not in normalise(t)))
def test_text_without_hao_is_never_a_number(text: str) -> None:
    with pytest.raises(DocNoError):
        parse(text)


# ---------------------------------------------------------------- finding numbers in titles, qualifying them


@pytest.mark.parametrize(
    "title, expected",
    [
        ("国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）", "2022年第8号"),
        ("总局关于发布医疗器械分类目录的公告(2017年第104号)", "2017年第104号"),
        ("国务院关于印发新一代人工智能发展规划的通知（国发〔2017〕35号）", "国发〔2017〕35号"),
        ("国务院关于印发新一代人工智能发展规划的通知", None),
        ("医疗器械软件注册审查指导原则（2022年修订版）", None),
        # an unenclosed number in running text is not taken: its issuer code cannot be told from the words before it
        ("根据国发〔2017〕35号的部署", None),
    ],
)
def test_find_in_titles(title: str, expected: str | None) -> None:
    found = find(title)
    assert (found.normalised if found else None) == expected


def test_qualify_adds_issuer_and_kind_shown_beside_a_bare_announcement_number() -> None:
    bare = parse("2022年第8号")
    from_govcn = qualify(bare, "国家药品监督管理局", "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告")
    from_nmpa = qualify(bare, "国家药监局", "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）")
    assert from_govcn.normalised == from_nmpa.normalised == "国家药监局通告2022年第8号"
    assert from_govcn.raw == "2022年第8号"


def test_qualify_keeps_what_the_number_says_and_leaves_bracket_numbers_alone() -> None:
    own = parse("国家药监局公告2022年第8号")
    assert qualify(own, "国家卫健委", "…的通告") == own
    bracket = parse("国发〔2017〕35号")
    assert qualify(bracket, "国务院办公厅", "…的通告") is bracket


# ---------------------------------------------------------------- the de-duplication key


def test_policy_key_by_document_number_whatever_the_spelling() -> None:
    k1 = policy_key("国发〔2017〕35号", "国务院关于印发新一代人工智能发展规划的通知", "国务院", date(2017, 7, 20))
    k2 = policy_key("国发[2017]35号", "新一代人工智能发展规划", None, None)
    assert k1 == k2 == "doc:国发〔2017〕35号"


def test_policy_key_of_an_nmpa_notice_is_the_same_on_govcn_and_nmpa() -> None:
    govcn = policy_key("2022年第8号", "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告", "国家药品监督管理局",
                       date(2022, 3, 9))
    nmpa = policy_key("国家药监局通告2022年第8号",
                      "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）", "国家药监局",
                      date(2022, 3, 9))
    assert govcn == nmpa == "doc:国家药监局通告2022年第8号"
    # NHC's announcement of the same year and serial is another document
    assert policy_key("2022年第8号", "国家卫生健康委关于…的公告", "国家卫生健康委员会", None) != govcn


def test_a_bare_announcement_number_without_issuer_is_not_a_key() -> None:
    key = policy_key("2022年第8号", "关于发布某指导原则的通告", None, date(2022, 3, 9))
    assert key.startswith("t:")


def test_title_key_ignores_punctuation_width_and_blanks() -> None:
    a = policy_key(None, "国务院办公厅关于促进“互联网+医疗健康”发展的意见", "国务院办公厅", date(2018, 4, 28))
    b = policy_key("", "国务院办公厅关于促进 \"互联网＋医疗健康\" 发展的意见", "国务院办公厅", date(2018, 4, 28))
    assert a == b == "t:国务院办公厅关于促进互联网+医疗健康发展的意见|国务院办公厅|2018-04-28"
    assert policy_key(None, "《卫生健康行业人工智能应用场景参考指引》", "国家卫生健康委员会", None) == \
        "t:卫生健康行业人工智能应用场景参考指引|国家卫健委|"


def test_unparseable_number_falls_back_to_the_title_key() -> None:
    key = policy_key("国务院令第739号", "医疗器械监督管理条例", "国务院", date(2021, 3, 18))
    assert key == "t:医疗器械监督管理条例|国务院|2021-03-18"


# ---------------------------------------------------------------- drafts and their final versions

DRAFT = "关于公开征求《人工智能医疗器械注册审查指导原则（征求意见稿）》意见的通知"
FINAL = "国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）"


@pytest.mark.parametrize(
    "title, expected",
    [
        (DRAFT, "人工智能医疗器械注册审查指导原则"),
        ("人工智能医疗器械注册审查指导原则（征求意见稿）", "人工智能医疗器械注册审查指导原则"),
        ("人工智能医疗器械注册审查指导原则(征求意见稿)", "人工智能医疗器械注册审查指导原则"),
        ("国家药监局综合司公开征求《医疗器械软件注册审查指导原则（2022年修订版征求意见稿）》意见",
         "医疗器械软件注册审查指导原则（2022年修订版）"),
        ("肺炎CT影像辅助分诊与评估软件审评要点（试行）", "肺炎CT影像辅助分诊与评估软件审评要点（试行）"),
        (FINAL, FINAL),
    ],
)
def test_strip_draft_markers(title: str, expected: str) -> None:
    assert strip_draft_markers(title) == expected


def test_a_draft_matches_its_final_version_by_core_title() -> None:
    assert core_title(DRAFT) == core_title(FINAL) == "人工智能医疗器械注册审查指导原则"
    assert core_title("人工智能医疗器械注册审查指导原则") == core_title(FINAL)
    assert core_title("国务院关于印发新一代人工智能发展规划的通知") == "新一代人工智能发展规划"
    # a revised edition is another document than the original
    assert core_title("国家药监局关于发布医疗器械软件注册审查指导原则（2022年修订版）的通告（2022年第9号）") == \
        "医疗器械软件注册审查指导原则（2022年修订版）"
