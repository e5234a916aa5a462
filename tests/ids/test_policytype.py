"""Tests for tracker.ids.policytype: policy type and stage from title and column, and issuer names (TAXONOMY.md §4)."""
from __future__ import annotations

import pytest

from tracker.ids.policytype import DOC_TYPES, STAGES, canonical_issuer, classify, issuer_from_title


@pytest.mark.parametrize(
    "title, column, doc_type, stage",
    [
        ("关于公开征求《人工智能医疗器械注册审查指导原则（征求意见稿）》意见的通知", None, "征求意见稿", "draft"),
        ("人工智能医疗器械注册审查指导原则（征求意见稿）", None, "征求意见稿", "draft"),
        # the column decides when the title does not say it is a draft
        ("关于医疗器械网络安全注册审查的通知", "征求意见", "征求意见稿", "draft"),
        ("国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）", None, "指导原则", "issued"),
        ("深度学习辅助决策医疗器械软件审评要点", None, "审评要点", "issued"),
        ("肺炎CT影像辅助分诊与评估软件审评要点（试行）", "指导原则", "审评要点", "issued"),
        ("《人工智能医用软件产品分类界定指导原则》解读", None, "政策解读", "issued"),
        ("一图读懂医疗器械分类目录", "政策解读", "政策解读", "issued"),
        ("国务院关于印发新一代人工智能发展规划的通知", None, "发展规划", "issued"),
        ("总局关于发布医疗器械分类目录的公告（2017年第104号）", None, "公告通告", "issued"),
        ("医疗器械监督管理条例", None, "法律法规", "issued"),
        ("中华人民共和国基本医疗卫生与健康促进法", None, "法律法规", "issued"),
        ("医疗器械注册与备案管理办法", None, "部门规章", "issued"),
        ("关于医疗器械注册申请电子提交的规定", None, "部门规章", "issued"),
        ("国务院办公厅关于促进“互联网+医疗健康”发展的意见", None, "规范性文件", "issued"),
        ("医疗器械软件注册审查指导原则（2022年修订版）", None, "指导原则", "revised"),
        ("国家药监局关于废止部分医疗器械指导原则的通告", None, "指导原则", "repealed"),
        ("国务院关于修改《医疗器械监督管理条例》的决定", None, "法律法规", "revised"),
    ],
)
def test_classify(title: str, column: str | None, doc_type: str, stage: str) -> None:
    assert classify(title, column) == (doc_type, stage)


def test_method_and_measure_words_are_not_laws() -> None:
    # 办法/方法 contain 法: neither makes a title a law
    assert classify("人工智能医疗器械质量要求和评价 第1部分：评价方法").doc_type == "规范性文件"


@pytest.mark.parametrize("title", ["", "通知", "关于印发某某的通知", "国家药监局关于发布X的通告"])
def test_classify_always_answers_from_the_closed_lists(title: str) -> None:
    doc_type, stage = classify(title)
    assert doc_type in DOC_TYPES and stage in STAGES


@pytest.mark.parametrize(
    "name, expected",
    [
        ("国家药品监督管理局", "国家药监局"),
        ("国家药监局", "国家药监局"),
        ("国家卫生健康委员会", "国家卫健委"),
        ("国家药品监督管理局综合司", "国家药监局综合司"),
        ("国家药品监督管理局医疗器械技术审评中心", "器审中心"),
        ("中共中央办公厅 国务院办公厅", "中共中央办公厅、国务院办公厅"),
        ("科学技术部　教育部　工业和信息化部", "科技部、教育部、工信部"),
        ("国务院", "国务院"),
        ("某省卫生健康委员会", "某省卫生健康委员会"),
        ("", None),
        (None, None),
        ("  ", None),
    ],
)
def test_canonical_issuer(name, expected) -> None:
    assert canonical_issuer(name) == expected


@pytest.mark.parametrize(
    "title, expected",
    [
        ("国家药监局关于发布人工智能医疗器械注册审查指导原则的通告（2022年第8号）", "国家药监局"),
        ("国务院办公厅关于促进“互联网+医疗健康”发展的意见", "国务院办公厅"),
        ("总局关于发布医疗器械分类目录的公告（2017年第104号）", "国家食品药品监督管理总局"),
        ("关于公开征求《人工智能医疗器械注册审查指导原则（征求意见稿）》意见的通知", None),
        ("医疗器械监督管理条例", None),
    ],
)
def test_issuer_from_title(title: str, expected: str | None) -> None:
    assert issuer_from_title(title) == expected
