"""Issuer and document number as printed, on every policy sample page and fixture (issue 14, item 1).

The expected words were read off each page by hand: the 发文机关 / 发文字号 cells of gov.cn's metadata table, the
signature block and the bracketed number of an NMPA title, the site's own name for documents the site issues
(CMDE guidance, NMPA interpretations), a sentence saying which number published the document. A page that prints
one and yields none fails here, and so does a page that prints none and yields one. Every policy page under
samples/ must be listed, so a new sample page cannot go untested.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scrapers import SOURCES
from tracker.ids import docno
from tracker.ids.policytype import canonical_issuer

ROOT = Path(__file__).resolve().parents[2]
BASES = {"cmde_guidance": "https://www.cmde.org.cn", "nmpa_notices": "https://www.nmpa.gov.cn",
         "govcn_policy": "https://www.gov.cn"}

CMDE = "国家药品监督管理局医疗器械技术审评中心"
NMPA = "国家药品监督管理局"
# path below samples/ → (issuer as printed, document number as printed); None where the page prints none.
SAMPLE_PAGES: dict[str, tuple[str | None, str | None]] = {
    "cmde_guidance/flfg/zdyz/zdyzwbk/20190703151032567.html": (CMDE, None),
    "cmde_guidance/flfg/zdyz/zdyzwbk/20200305165812345.html": (CMDE, None),
    # "本指导原则由国家药监局以2022年第8号通告发布"
    "cmde_guidance/flfg/zdyz/zdyzwbk/20220310093215401.html": (CMDE, "2022年第8号"),
    "nmpa_notices/xxgk/zhqyj/20210628170517393.html": ("国家药监局综合司", None),
    # 法规文件 lists a rule of 市场监管总局 that NMPA only enforces; the page names no issuer and no number.
    "nmpa_notices/ylqx/ylqxfgwj/20210831163502123.html": (None, None),
    "nmpa_notices/ylqx/ylqxggtg/20170904150201234.html": ("食品药品监管总局", "2017年第104号"),
    "nmpa_notices/ylqx/ylqxggtg/20210708111147171.html": ("国家药监局", "2021年第47号"),
    "nmpa_notices/ylqx/ylqxggtg/20220309111021184.html": ("国家药监局", "2022年第8号"),
    "nmpa_notices/ylqx/ylqxzhcjd/20210708111631678.html": (NMPA, None),
    "govcn_policy/zhengce/2023-03/23/content_5748063.htm": ("中共中央办公厅 国务院办公厅", None),
    "govcn_policy/zhengce/content/2016-06/24/content_5085091.htm": ("国务院办公厅", "国办发〔2016〕47号"),
    "govcn_policy/zhengce/content/2016-12/27/content_5153411.htm": ("国务院", "国发〔2016〕73号"),
    "govcn_policy/zhengce/content/2017-07/20/content_5211996.htm": ("国务院", "国发〔2017〕35号"),
    "govcn_policy/zhengce/content/2018-04/28/content_5286645.htm": ("国务院办公厅", "国办发〔2018〕26号"),
    "govcn_policy/zhengce/zhengceku/2018-12/31/content_5435436.htm": ("国家卫生健康委员会", "国卫规划发〔2018〕23号"),
    "govcn_policy/zhengce/zhengceku/2022-03/09/content_5678001.htm": (NMPA, "2022年第8号"),
    "govcn_policy/zhengce/zhengceku/2022-03/09/content_5678002.htm": (NMPA, "2022年第9号"),
    "govcn_policy/zhengce/zhengceku/2022-08/12/content_5705154.htm": (
        "科学技术部 教育部 工业和信息化部 交通运输部 农业农村部 国家卫生健康委员会", "国科发规〔2022〕199号"),
    "govcn_policy/zhengce/zhengceku/202411/content_6987001.htm": ("国家卫生健康委员会", None),
}
FIXTURE_PAGES: dict[str, tuple[str | None, str | None]] = {
    "nmpa_notices/gb2312_article.html": ("国家药监局", "2023年第99号"),
    "govcn_policy/detail_without_table.html": (None, None),  # "图解：…" carries neither
}


def _parse(folder: Path, rel: str):
    slug, _, below = rel.partition("/")
    raw = (folder / rel).read_bytes()
    text = raw.decode("utf-8") if b"gb2312" not in raw[:400] else raw.decode("gb18030")
    [record] = SOURCES[slug].parse(text, f"{BASES[slug]}/{below}")
    return record


@pytest.mark.parametrize("rel", sorted(SAMPLE_PAGES))
def test_sample_pages_show_issuer_and_number_as_printed(rel: str) -> None:
    record = _parse(ROOT / "samples", rel)
    assert (record.issuer_printed, record.doc_no_printed) == SAMPLE_PAGES[rel]


@pytest.mark.parametrize("rel", sorted(FIXTURE_PAGES))
def test_fixture_pages_show_issuer_and_number_as_printed(rel: str) -> None:
    record = _parse(ROOT / "tests" / "fixtures", rel)
    assert (record.issuer_printed, record.doc_no_printed) == FIXTURE_PAGES[rel]


def test_every_policy_sample_page_is_listed() -> None:
    pages = {str(p.relative_to(ROOT / "samples")) for slug in BASES for p in (ROOT / "samples" / slug).rglob("*.htm*")
             if not p.name.startswith("index")}
    assert pages == set(SAMPLE_PAGES)


@pytest.mark.parametrize("rel", sorted(SAMPLE_PAGES))
def test_printed_forms_agree_with_the_canonical_ones(rel: str) -> None:
    """The printed words and the canonical forms name the same issuer and number where both are known."""
    record = _parse(ROOT / "samples", rel)
    if record.issuer_printed and record.issuer and not rel.startswith("nmpa_notices/xxgk"):
        assert canonical_issuer(record.issuer_printed) == record.issuer
    if record.doc_no_printed and record.doc_no:
        printed = docno.qualify(docno.parse(record.doc_no_printed), record.issuer, record.title)
        assert printed.normalised == record.doc_no


def test_search_entries_keep_the_printed_fields() -> None:
    text = (ROOT / "samples/govcn_policy/search-gov/responses/zhengcelibrary-ai-medical-p1.json").read_text("utf-8")
    records = SOURCES["govcn_policy"].parse(text, "https://sousuo.www.gov.cn/search-gov/data")
    joint = next(r for r in records if r.doc_no_printed == "国科发规〔2022〕199号")
    assert joint.issuer_printed == "科学技术部 教育部 工业和信息化部 交通运输部 农业农村部 国家卫生健康委员会"
    assert joint.issuer == "科技部、教育部、工信部、交通运输部、农业农村部、国家卫健委"


@pytest.mark.parametrize(("text", "printed"), [
    ("国家药监局关于发布X的通告（2022年第8号）", "2022年第8号"),
    ("国务院关于印发X的通知(国发〔2017〕35号)", "国发〔2017〕35号"),
    ("本指导原则由国家药监局以2022年第8号通告发布。", "2022年第8号"),
    ("X（试行）", None),
    ("于2022年第8季度发布", None),
    (None, None),
])
def test_find_printed(text, printed) -> None:
    assert docno.find_printed(text) == printed


def test_list_entries_leave_the_issuer_as_printed_to_the_document_page() -> None:
    """A list shows only the title: its words before 关于 ("总局") must not stand in for the page's signature
    ("食品药品监管总局"), which a list read after the page would otherwise overwrite; the number is the title's."""
    text = (ROOT / "samples/nmpa_notices/ylqx/ylqxggtg/index_1.html").read_text("utf-8")
    [entry] = [r for r in SOURCES["nmpa_notices"].parse(text, "https://www.nmpa.gov.cn/ylqx/ylqxggtg/index_1.html")
               if "2017年第104号" in r.title]
    assert (entry.issuer_printed, entry.doc_no_printed) == (None, "2017年第104号")
    assert entry.issuer == "国家食品药品监督管理总局"  # the canonical issuer still comes from the title
