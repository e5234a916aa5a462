"""Every reason code renders in Chinese and in English, with its parameters, and no English reaches the Chinese
text; stored link reasons written by the classifier and the store are codes of the catalogue."""
from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from tracker.classify import reasons
from tracker.classify.reasons import CODES, Reason, evidence_reason

# Parameters of every code, as the writers give them.
PARAMS = {
    reasons.LINK_SCOPE: {"tags": ["disease:lung_nodule", "area:medical_imaging.ct"], "title": "肺结节CT图像辅助检测软件注册审查指导原则"},
    reasons.LINK_EQUIPMENT: {"tags": ["area:medical_imaging.ct"], "title": "X射线计算机体层摄影设备注册审查指导原则",
                             "words": ["设备"]},
    reasons.LINK_SOFTWARE: {"tags": ["ai:ai"], "title": "人工智能医疗器械注册审查指导原则", "words": ["软件", "人工智能"],
                            "software": [["name", "软件"], ["catalogue_code", "21"]]},
    reasons.LINK_AI: {"tags": ["ai:ai"], "title": "人工智能医疗器械注册审查指导原则", "words": ["人工智能"]},
    "news.certificate": {"cert": "国械注准20203210001"},
    "news.product_registrant": {"product": "肺结节CT影像辅助检测软件", "registrant": "示例医疗科技有限公司"},
    reasons.EVIDENCE_WORDS: {"field": "structure", "words": ["深度学习"]},
    reasons.EVIDENCE_PRESENT: {"field": "issuer"},
    reasons.QUEUE_CONFIDENCE: {"confidence": 0.4},
    reasons.QUEUE_OLD_RULES: {"version": "1", "current": "2"},
    reasons.QUEUE_SEVERAL_AREAS: {"areas": ["medical_imaging", "medical_robotics"]},
    reasons.QUEUE_SEVERAL_MODALITIES: {"areas": ["medical_imaging.ct", "medical_imaging.mr"]},
    reasons.LEGACY: {"text": "linked by hand"},
}
# Latin letters a Chinese text may hold: taxonomy and field words that are names (CT, MR, AI) and parameter values.
ALLOWED_LATIN = {"AI", "CT", "MR", "X"}


def test_every_code_has_parameters_here():
    assert set(PARAMS) == set(CODES) and len(CODES) == len(set(CODES))


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_renders_in_both_languages(code):
    reason = Reason(code, PARAMS[code])
    zh, en = reason.text("zh"), reason.text("en")
    assert zh and en and "{" not in zh + en
    if code != reasons.LEGACY:
        assert zh != en
        latin = set(re.findall(r"[A-Za-z]+", zh)) - ALLOWED_LATIN
        assert not latin, f"English in the Chinese text of {code}: {zh}"
        assert re.search(r"[\u4e00-\u9fff]", zh)
    assert reason.texts() == {"zh": zh, "en": en}
    assert reason.to_json() == {"code": code, "params": PARAMS[code], "zh": zh, "en": en}


def test_parameters_are_rendered_by_name_in_the_readers_language():
    link = Reason(reasons.LINK_SOFTWARE, PARAMS[reasons.LINK_SOFTWARE])
    assert link.text("zh") == ("器械标签 AI 符合《人工智能医疗器械注册审查指导原则》的适用范围；该文件针对软件（软件、人工智能），"
                               "本器械是软件（产品名称: 软件、分类编码: 21）")
    assert link.text("en") == ("device tags AI match the scope of 《人工智能医疗器械注册审查指导原则》; guidance about software "
                               "(软件, 人工智能), device is software (name: 软件, catalogue code: 21)")
    scope = Reason(reasons.LINK_SCOPE, PARAMS[reasons.LINK_SCOPE])
    assert "肺结节" in scope.text("zh") and "Lung nodule" in scope.text("en")
    assert Reason(reasons.QUEUE_CONFIDENCE, {"confidence": 0.4}).text("zh") == "AI 置信度 0.40"


def test_evidence_entries_are_reasons():
    words = evidence_reason({"field": "name", "words": ["辅助检测", "软件"], "rule_id": "ai.name.assist_software",
                             "rule_version": "2"})
    assert (words.text("zh"), words.text("en")) == ("产品名称中有“辅助检测、软件”", "name says “辅助检测, 软件”")
    fallback = evidence_reason({"field": "issuer", "words": [], "rule_id": "issuer.other", "rule_version": "2"})
    assert fallback.text("zh") == "发文机关已填写，其他规则均不适用"


def test_markup_escapes_parameters_and_keeps_marked_words():
    hostile = Reason(reasons.LINK_SCOPE, {"tags": ["ai:ai"], "title": "<script>x</script>"})
    assert "<script>" not in hostile.markup("zh") and "&lt;script&gt;" in hostile.markup("zh")
    marked = Reason(reasons.EVIDENCE_WORDS, {"field": "name", "words": [Markup("<mark>肺结节</mark>"), "<b>"]})
    assert marked.markup("zh") == "产品名称中有“<mark>肺结节</mark>、&lt;b&gt;”"


def test_an_unknown_code_or_a_missing_parameter_still_renders():
    assert Reason("future.code", {"x": 1}).text("zh") == "future.code {'x': 1}"
    assert Reason(reasons.LINK_SCOPE, {"title": "某指导原则"}).text("en") == "device tags  match the scope of 《某指导原则》"
