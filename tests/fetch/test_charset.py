"""Explicit decoding of fetched pages: header charset, then the document's own declaration, then UTF-8, then GB18030."""
from __future__ import annotations

import codecs

import pytest
from bs4 import BeautifulSoup
from hypothesis import assume, given
from hypothesis import strategies as st

from tracker.fetch.charset import decode_text, document_charset, header_charset

# 镕 (U+9555) is in GBK but not in GB2312: a page declaring gb2312 that contains it is the case that breaks naive
# decoding. 䶮 (U+4DAE) exists only in GB18030 (a four-byte sequence).
GBK_ONLY = "镕"
GB18030_ONLY = "䶮"


def test_sample_characters_are_what_the_tests_assume():
    GBK_ONLY.encode("gbk")
    with pytest.raises(UnicodeEncodeError):
        GBK_ONLY.encode("gb2312")
    with pytest.raises(UnicodeEncodeError):
        GB18030_ONLY.encode("gbk")


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>通知</title></head><body><table><tr><td>{body}</td></tr></table></body></html>"


def test_declared_gb2312_with_gbk_only_characters_decodes_via_gb18030():
    text = _page(f"朱{GBK_ONLY}基 医疗器械批准证明文件")
    raw = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gb2312")
    decoded = decode_text(raw, "text/html; charset=gb2312")
    assert decoded == text
    # The reason for decoding before parsing: the parser then sees the real text.
    assert BeautifulSoup(decoded, "lxml").td.get_text() == f"朱{GBK_ONLY}基 医疗器械批准证明文件"


@pytest.mark.parametrize("head", [
    '<meta charset="gb2312">',
    "<meta charset=GBK>",
    '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
])
def test_document_declaration_is_used_without_a_header_charset(head):
    text = _page(f"国家药品监督管理局 {GBK_ONLY}", head)
    assert decode_text(text.encode("gbk"), "text/html") == text
    assert decode_text(text.encode("gbk"), None) == text


def test_xml_declaration_counts_as_a_document_declaration():
    text = f'<?xml version="1.0" encoding="GBK"?><udid><cpmctymc>{GBK_ONLY}软件</cpmctymc></udid>'
    assert decode_text(text.encode("gbk")) == text


def test_header_charset_wins_over_the_document_declaration():
    # The UTF-8 bytes of 医疗 are also valid GBK (as 鍖荤枟): only the order of the rules decides.
    text = _page("医疗", '<meta charset="gbk">')
    raw = text.encode("utf-8")
    assert raw.decode("gb18030") != text
    assert decode_text(raw, "text/html; charset=UTF-8") == text
    assert decode_text(raw, "text/html") == raw.decode("gb18030")


def test_undeclared_utf8_is_read_as_utf8():
    text = _page("人工智能医疗器械注册审查指导原则")
    assert decode_text(text.encode("utf-8"), "text/html") == text


def test_undeclared_gbk_falls_back_to_gb18030():
    text = _page(f"深度学习辅助决策医疗器械软件审评要点 {GBK_ONLY}")
    raw = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decode_text(raw) == text


def test_gb18030_only_characters_are_kept():
    text = _page(f"{GB18030_ONLY} 批准")
    assert decode_text(text.encode("gb18030")) == text


def test_a_wrong_header_charset_does_not_win_over_the_bytes():
    # A server that says UTF-8 about a GBK page: strict decoding rejects the claim, the page's meta is right.
    text = _page(f"医疗器械{GBK_ONLY}", '<meta charset="gbk">')
    assert decode_text(text.encode("gbk"), "text/html; charset=utf-8") == text


def test_unknown_charset_labels_are_ignored():
    text = _page("公告")
    assert decode_text(text.encode("utf-8"), "text/html; charset=x-no-such-codec") == text
    assert header_charset("text/html; charset=x-no-such-codec") is None


def test_byte_order_mark_wins():
    text = _page("通告")
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8"), "text/html; charset=gbk") == text


def test_undecodable_bytes_give_replacement_characters_not_an_empty_string():
    assert decode_text(b"abc\xff\xfe\xff").startswith("abc")
    assert "\ufffd" in decode_text(b"abc\xff\xfe\xff")


def test_empty_body_is_empty_text():
    assert decode_text(b"", "text/html; charset=gbk") == ""


@pytest.mark.parametrize("content_type, expected", [
    ("text/html; charset=gb2312", "gb18030"),
    ('text/html; charset="GBK"', "gb18030"),
    ("text/html;charset=utf-8", "utf-8"),
    ("application/json", None),
    (None, None),
])
def test_header_charset(content_type, expected):
    assert header_charset(content_type) == expected


def test_document_charset_only_looks_at_the_first_2kb():
    late = b"<html><head>" + b" " * 3000 + b'<meta charset="gbk"></head></html>'
    assert document_charset(late) is None
    assert document_charset(b'<html><head><meta charset="gbk">') == "gb18030"


@given(st.text())
def test_any_undeclared_utf8_text_round_trips(text):
    assume(not text.startswith("\ufeff"))
    assume("charset" not in text.lower() and "encoding" not in text.lower())
    assert decode_text(text.encode("utf-8")) == text
