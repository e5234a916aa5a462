"""Tests for tracker.classify.classifier and its rule table: AI decisions, taxonomy tags and the evidence behind each tag.

Device names are the naming practice of NMPA AI certificates (SOURCES.md §5) and products the seed reports name.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.classify import taxonomy
from tracker.classify.classifier import (
    AI_THRESHOLD,
    RULES_VERSION,
    Classification,
    Evidence,
    classify_device,
    classify_policy,
    normalize,
)
from tracker.classify.rules import CONDITIONS, FIELD_WEIGHT, KNOWN_FIELDS, RULES

DEVICE_FACETS = ("area", "function", "site", "disease", "signal")


def ev(field: str, words: tuple[str, ...], rule_id: str) -> Evidence:
    return Evidence(field, words, rule_id, RULES_VERSION)


def evidence_of(result: Classification, facet: str, code: str) -> tuple[Evidence, ...]:
    tag = result.tag(facet, code)
    assert tag is not None, f"{facet}:{code} not tagged; tags: {[(t.facet, t.code) for t in result.tags]}"
    return tag.evidence


# name, expected AI decision, the exact codes expected per facet (facets not listed must be empty)
DEVICE_CASES = [
    ("肺结节CT影像辅助检测软件", True,
     {"area": ["medical_imaging.ct"], "function": ["detection"], "disease": ["lung_nodule"], "site": ["chest_lung"]}),
    ("心电分析软件", False,
     {"area": ["clinical_decision_support"], "signal": ["ecg"], "site": ["heart_coronary"]}),
    ("糖尿病视网膜病变眼底图像辅助诊断软件", True,
     {"area": ["medical_imaging.fundus"], "function": ["diagnosis"], "disease": ["diabetic_retinopathy"],
      "site": ["eye"]}),
    ("冠脉血流储备分数计算软件", False,
     {"function": ["assessment"], "site": ["heart_coronary"], "disease": ["coronary_stenosis"]}),
    ("颅内肿瘤磁共振影像辅助诊断软件", True,
     {"area": ["medical_imaging.mr"], "function": ["diagnosis"], "disease": ["intracranial_tumor"],
      "site": ["head_brain"]}),
    ("骨折X射线图像辅助检测软件", True,
     {"area": ["medical_imaging.xray"], "function": ["detection"], "disease": ["fracture"], "site": ["bone_joint"]}),
    ("乳腺X射线图像辅助检测软件", True,
     {"area": ["medical_imaging.xray"], "function": ["detection"], "site": ["breast"]}),
    ("肺炎CT影像辅助分诊与评估软件", True,
     {"area": ["medical_imaging.ct"], "function": ["triage", "assessment"], "disease": ["pneumonia"],
      "site": ["chest_lung"]}),
    ("宫颈细胞学图像辅助诊断软件", True,
     {"area": ["medical_imaging.pathology"], "function": ["diagnosis"], "site": ["cervix"]}),
    ("结肠息肉内窥镜图像辅助检测软件", True,
     {"area": ["medical_imaging.endoscopy"], "function": ["detection"], "disease": ["colorectal_polyp"],
      "site": ["abdomen_liver"]}),
    ("手术导航系统", False, {"area": ["medical_robotics"]}),
    ("腹腔内窥镜手术机器人", False, {"area": ["medical_robotics", "medical_imaging.endoscopy"], "site": ["abdomen_liver"]}),
    ("放疗靶区勾画软件", True, {"area": ["clinical_decision_support"], "function": ["planning"]}),
    ("一次性使用无菌注射器", False, {}),
    ("X射线计算机体层摄影设备", False, {"area": ["medical_imaging.ct"]}),
    ("新型冠状病毒2019-nCoV核酸检测试剂盒", False, {}),
]


@pytest.mark.parametrize("name, is_ai, expected", DEVICE_CASES, ids=[c[0] for c in DEVICE_CASES])
def test_device_examples(name, is_ai, expected):
    result = classify_device(name=name)
    assert result.is_ai is is_ai
    assert ("ai" in result.codes("ai")) is is_ai
    for facet in DEVICE_FACETS:
        assert result.codes(facet) == expected.get(facet, []), facet
    assert result.rules_version == RULES_VERSION
    assert result.taxonomy_version == taxonomy.TAXONOMY_VERSION


def test_lung_nodule_evidence_names_field_words_and_rule():
    result = classify_device(name="肺结节CT影像辅助检测软件")
    assert result.ai_confidence == 0.9
    assert evidence_of(result, "ai", "ai") == (ev("name", ("辅助检测", "软件"), "ai.name.assist_software"),)
    assert evidence_of(result, "area", "medical_imaging.ct") == (ev("name", ("CT",), "area.ct"),)
    assert evidence_of(result, "function", "detection") == (ev("name", ("辅助检测",), "function.detection"),)
    assert evidence_of(result, "disease", "lung_nodule") == (ev("name", ("肺结节",), "disease.lung_nodule"),)
    assert evidence_of(result, "site", "chest_lung") == (ev("name", ("肺",), "site.chest_lung"),)


def test_fundus_and_mr_evidence():
    dr = classify_device(name="糖尿病视网膜病变眼底图像辅助诊断软件")
    assert ev("name", ("糖尿病视网膜病变",), "disease.diabetic_retinopathy") in evidence_of(
        dr, "disease", "diabetic_retinopathy")
    assert evidence_of(dr, "area", "medical_imaging.fundus") == (ev("name", ("眼底", "视网膜"), "area.fundus"),)
    mr = classify_device(name="颅内肿瘤磁共振影像辅助诊断软件")
    assert evidence_of(mr, "area", "medical_imaging.mr") == (ev("name", ("磁共振",), "area.mr"),)
    assert evidence_of(mr, "function", "diagnosis") == (ev("name", ("辅助诊断",), "function.diagnosis"),)


def test_pneumonia_triage_and_assessment_each_have_their_words():
    result = classify_device(name="新型冠状病毒肺炎CT影像辅助分诊与评估软件")
    assert evidence_of(result, "function", "triage") == (ev("name", ("分诊",), "function.triage"),)
    assert evidence_of(result, "function", "assessment") == (ev("name", ("评估",), "function.assessment"),)


def test_analysis_software_is_ai_only_on_evidence_of_machine_learning():
    plain = classify_device(name="心电分析软件")
    assert not plain.is_ai and plain.ai_confidence == 0.4  # below the threshold, inside the review queue's range
    assert plain.codes("ai") == []
    assert evidence_of(plain, "signal", "ecg") == (ev("name", ("心电",), "signal.ecg"),)
    assert evidence_of(plain, "area", "clinical_decision_support") == (
        ev("name", ("心电", "软件"), "area.cds.signal"),)

    described = classify_device(name="心电分析软件", structure="由软件安装光盘组成，采用深度学习算法")
    assert described.is_ai and described.ai_confidence > 0.8
    assert ev("structure", ("深度学习",), "ai.text.technique") in evidence_of(described, "ai", "ai")

    class3 = classify_device(name="心电分析软件", mgmt_class=3, catalogue_code="21-04")
    assert plain.ai_confidence < class3.ai_confidence < AI_THRESHOLD < described.ai_confidence


def test_image_understanding_verbs_stay_the_uncertain_middle_and_class3_cat21_tips_them():
    plain = classify_device(name="放疗靶区自动勾画软件")
    assert plain.ai_confidence == AI_THRESHOLD
    assert evidence_of(plain, "ai", "ai") == (ev("name", ("勾画", "软件"), "ai.name.image_function"),)
    class3 = classify_device(name="放疗靶区自动勾画软件", mgmt_class=3, catalogue_code="21-01")
    assert class3.ai_confidence == 0.65
    assert {ev("mgmt_class", ("3",), "ai.class3.cat21_image_function"),
            ev("catalogue_code", ("21",), "ai.class3.cat21_image_function")} <= set(evidence_of(class3, "ai", "ai"))


@pytest.mark.parametrize("name", ["染色体核型分析软件", "基因测序数据辅助分析软件", "放射治疗计划系统软件",
                                  "放射治疗剂量计算软件", "冠状动脉造影血流储备分数计算软件"])
def test_rule_based_calculation_and_genetic_software_is_not_ai(name):
    result = classify_device(name=name)
    assert not result.is_ai and result.codes("ai") == []
    explicit = classify_device(name=name, structure="采用深度学习算法")
    assert explicit.is_ai  # a named technique still decides


@pytest.mark.parametrize("name", ["植入式心脏起搏器（磁共振条件安全）", "磁共振兼容植入式心脏起搏器", "MRI兼容脊柱融合器",
                                  "植入式脑深部神经刺激器"])
def test_mr_conditional_hardware_gets_no_mr_modality(name):
    result = classify_device(name=name, description="该产品在规定条件下可进行1.5T磁共振扫描")
    assert "medical_imaging.mr" not in result.codes("area")


def test_an_mr_scanner_and_mr_software_keep_the_modality():
    assert classify_device(name="医用磁共振成像系统").codes("area") == ["medical_imaging.mr"]
    assert classify_device(name="颅内肿瘤磁共振影像辅助诊断软件").codes("area") == ["medical_imaging.mr"]


@pytest.mark.parametrize("name", ["心电图机", "十二导心电图机", "多参数监护仪", "动态心电图记录器", "脑电图机"])
def test_ecg_and_monitoring_hardware_is_no_decision_support(name):
    result = classify_device(name=name)
    assert "clinical_decision_support" not in result.codes("area")
    assert not result.is_ai


@pytest.mark.parametrize("name, area", [("口腔曲面体层X射线机", "medical_imaging.xray"),
                                        ("数字化口腔曲面体层摄影设备", "medical_imaging.xray"),
                                        ("口腔颌面锥形束计算机体层摄影设备", "medical_imaging.ct"),
                                        ("口腔颌面锥形束CT", "medical_imaging.ct")])
def test_dental_panoramic_is_xray_and_cone_beam_is_ct(name, area):
    assert classify_device(name=name).codes("area") == [area]


def test_ffr_is_tagged_ct_only_when_ct_is_mentioned():
    name = "冠脉血流储备分数计算软件"
    assert classify_device(name=name).codes("area") == []
    with_ct = classify_device(name=name, scope="基于冠状动脉CT血管造影图像，计算血流储备分数")
    assert with_ct.codes("area") == ["medical_imaging.ct"]
    assert evidence_of(with_ct, "area", "medical_imaging.ct") == (ev("scope", ("CT",), "area.ct"),)
    assert with_ct.tag("area", "medical_imaging.ct").confidence == pytest.approx(0.9 * FIELD_WEIGHT["scope"])
    assert ev("name", ("血流储备分数",), "disease.coronary_stenosis") in evidence_of(
        with_ct, "disease", "coronary_stenosis")


def test_class3_category21_assist_software_is_ai_only_with_class_and_catalogue():
    name = "眼底病变辅助软件"
    assert not classify_device(name=name).is_ai
    assert not classify_device(name=name, mgmt_class=2, catalogue_code="21-04-02").is_ai
    result = classify_device(name=name, mgmt_class=3, catalogue_code="21-04-02")
    assert result.is_ai and result.ai_confidence == 0.8
    # The certificate-number category ("21") counts like a catalogue code.
    assert classify_device(name=name, mgmt_class=3, category="21").is_ai
    assert evidence_of(result, "ai", "ai") == (
        ev("name", ("辅助",), "ai.class3.cat21_assist"),
        ev("mgmt_class", ("3",), "ai.class3.cat21_assist"),
        ev("catalogue_code", ("21",), "ai.class3.cat21_assist"),
    )


@pytest.mark.parametrize("name", ["医学影像处理软件", "医学影像存档与传输系统软件", "PACS影像工作站软件", "智能影像处理软件"])
def test_plain_image_handling_software_is_not_ai_by_default(name):
    result = classify_device(name=name)
    assert not result.is_ai and result.ai_confidence < AI_THRESHOLD
    assert result.codes("ai") == []


def test_a_named_technique_overrides_the_plain_imaging_veto():
    result = classify_device(name="医学影像处理软件", structure="包含基于深度学习的病灶分割模块")
    assert result.is_ai
    assert evidence_of(result, "ai", "ai") == (ev("structure", ("深度学习",), "ai.text.technique"),)


def test_description_words_weigh_less_than_name_words():
    by_name = classify_device(name="人工智能心电软件")
    by_text = classify_device(name="心电软件", description="人工智能")
    assert by_name.ai_confidence > by_text.ai_confidence >= AI_THRESHOLD
    assert evidence_of(by_text, "ai", "ai") == (ev("description", ("人工智能",), "ai.text.technique"),)


def test_a_sub_area_replaces_its_parent_but_a_bare_imaging_product_keeps_it():
    assert classify_device(name="医学影像辅助诊断软件").codes("area") == ["medical_imaging"]
    assert "medical_imaging" not in classify_device(name="肺结节CT影像辅助检测软件").codes("area")


def test_ascii_terms_must_stand_alone():
    oct_device = classify_device(name="光学相干断层扫描仪OCT图像分析软件")
    assert oct_device.codes("area") == ["medical_imaging.fundus"]
    assert "medical_imaging.ct" in classify_device(name="PET/CT图像融合软件").codes("area")


def test_masked_and_cancelled_words():
    assert classify_device(name="X射线计算机体层摄影设备").codes("function") == []  # 计算 inside 计算机
    assert classify_device(name="癌胚抗原定量检测试剂盒").codes("function") == []  # a reagent, not an assessment


def test_text_is_nfkc_normalised():
    half = classify_device(name="肺结节CT影像辅助检测软件")
    full = classify_device(name="肺结节ＣＴ影像辅助检测软件")
    assert full.to_json() == half.to_json()
    assert normalize("  ＡＩ\u3000大模型 ") == "ai 大模型"


def test_to_json_shape_and_rows():
    result = classify_device(name="肺结节CT影像辅助检测软件")
    data = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    assert data["ai"] is True
    assert data["areas"] == ["medical_imaging.ct"]
    assert data["functions"] == ["detection"] and data["sites"] == ["chest_lung"]
    assert data["diseases"] == ["lung_nodule"] and data["signals"] == []
    assert {"facet": "area", "code": "medical_imaging.ct", "field": "name", "words": ["CT"], "rule_id": "area.ct",
            "rule_version": RULES_VERSION} in data["evidence"]
    assert len(data["evidence"]) == sum(len(t.evidence) for t in result.tags)
    assert data["rules_version"] == RULES_VERSION and data["taxonomy_version"] == taxonomy.TAXONOMY_VERSION


# --- policies ---------------------------------------------------------------------------------------------------

def test_policy_issuer_from_doc_no_prefix():
    state = classify_policy(title="国务院关于印发新一代人工智能发展规划的通知", doc_no="国发〔2017〕35号")
    assert state.codes("issuer") == ["state_council"]
    assert ev("doc_no", ("国发",), "issuer.state_council") in evidence_of(state, "issuer", "state_council")
    assert state.codes("policy_type") == ["normative", "plan"]
    assert state.is_ai and evidence_of(state, "ai", "ai") == (ev("title", ("人工智能",), "ai.policy.terms"),)

    office = classify_policy(title="关于促进“互联网+医疗健康”发展的意见", doc_no="国办发〔2018〕26号")
    assert office.codes("issuer") == ["state_council_office"]
    nhc = classify_policy(title="关于印发医疗机构管理办法的通知", doc_no="国卫医发〔2018〕20号")
    assert nhc.codes("issuer") == ["nhc"]


@pytest.mark.parametrize("issuer, doc_no, expected", [
    ("国家药品监督管理局", None, ["nmpa"]),
    ("国家药品监督管理局医疗器械技术审评中心", None, ["cmde"]),
    ("国务院办公厅", None, ["state_council_office"]),
    ("科技部、工业和信息化部、国家卫生健康委", None, ["nhc", "miit", "most"]),
    ("中共中央办公厅 国务院办公厅", None, ["state_council_office", "cpc_general_office"]),
    ("国家医疗保障局", None, ["nhsa"]),
    ("国家发展改革委", None, ["ndrc"]),
    ("上海市人民政府", None, ["other_issuer"]),
    (None, "2021年第47号", ["nmpa"]),
    (None, None, []),
])
def test_policy_issuer_codes(issuer, doc_no, expected):
    result = classify_policy(title="某文件", issuer=issuer, doc_no=doc_no)
    assert result.codes("issuer") == expected


def test_bare_announcement_number_is_weak_nmpa_evidence_and_unmatched_issuer_is_other():
    bare = classify_policy(title="某文件", doc_no="2021年第47号")
    assert bare.tag("issuer", "nmpa").confidence == 0.5
    other = classify_policy(title="某文件", issuer="上海市人民政府")
    assert evidence_of(other, "issuer", "other_issuer") == (ev("issuer", (), "issuer.other"),)


def test_issuer_named_before_guanyu_in_the_title():
    result = classify_policy(title="国家药监局关于发布人工智能医疗器械注册审查指导原则的通告")
    assert result.codes("issuer") == ["nmpa"]
    assert evidence_of(result, "issuer", "nmpa") == (ev("title", ("国家药监局",), "issuer.nmpa"),)
    # A body named after 关于 is the subject, not the issuer.
    assert classify_policy(title="关于贯彻落实国务院决定的通知").codes("issuer") == []


@pytest.mark.parametrize("title, types, stage", [
    ("人工智能医疗器械注册审查指导原则", ["guidance"], "issued"),
    ("深度学习辅助决策医疗器械软件审评要点", ["review_points"], "issued"),
    ("人工智能医用软件产品分类界定指导原则（征求意见稿）", ["guidance", "consultation"], "draft"),
    ("关于公开征求《医疗器械监督管理条例（修订草案）》意见的通知", ["law", "normative", "consultation"], "draft"),
    ("《新一代人工智能发展规划》政策解读", ["interpretation", "plan"], "issued"),
    ("国家药监局关于废止部分规范性文件的公告", ["announcement"], "issued"),
    ("医疗器械临床评价技术指导原则（已废止）", ["guidance"], "repealed"),
    ("医疗器械分类目录（2022年修订）", [], "revised"),
    ("国家药监局关于修订医疗器械分类目录部分内容的公告", ["announcement"], "issued"),
])
def test_policy_type_and_stage(title, types, stage):
    result = classify_policy(title=title)
    assert result.codes("policy_type") == types
    assert result.codes("stage") == [stage]


def test_policy_stage_draft_evidence_and_issued_fallback():
    draft = classify_policy(title="人工智能医用软件产品分类界定指导原则（征求意见稿）")
    assert ev("title", ("征求意见稿", "征求意见"), "stage.draft") in evidence_of(draft, "stage", "draft")
    issued = classify_policy(title="人工智能医疗器械注册审查指导原则")
    assert evidence_of(issued, "stage", "issued") == (ev("title", (), "stage.issued"),)
    assert classify_policy(title="").codes("stage") == []


def test_policy_areas_scenarios_and_ai_come_from_title_and_body():
    result = classify_policy(
        title="卫生健康行业人工智能应用场景参考指引",
        body="包括AI+医疗服务管理、AI+基层卫生服务、AI+健康产业发展、AI+医学教学科研，涵盖医学影像智能辅助诊断、互联网医院。",
        issuer="国家卫生健康委员会",
    )
    assert result.codes("scenario") == [
        "nhc.medical_service_mgmt", "nhc.primary_care", "nhc.health_industry", "nhc.education_research"]
    assert result.codes("area") == ["medical_imaging", "internet_hospital"]
    assert ev("body", ("基层卫生", "基层"), "scenario.primary_care") in evidence_of(result, "scenario",
                                                                                 "nhc.primary_care")
    assert result.tag("scenario", "nhc.primary_care").confidence == pytest.approx(0.7 * FIELD_WEIGHT["body"])
    # Policies never get device facets, however their text reads.
    for facet in ("function", "site", "disease", "signal"):
        assert result.codes(facet) == []


def test_policy_ai_from_body_only_is_weaker_than_from_title():
    title = classify_policy(title="关于促进医疗大模型应用的通知")
    body = classify_policy(title="关于促进医疗服务的通知", body="探索人工智能在诊疗中的应用")
    none = classify_policy(title="关于加强医疗器械监督管理的通知", body="做好质量管理")
    assert title.ai_confidence > body.ai_confidence >= AI_THRESHOLD
    assert evidence_of(body, "ai", "ai") == (ev("body", ("人工智能",), "ai.policy.terms"),)
    assert not none.is_ai and none.ai_confidence == 0.0


# --- the rule table -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_is_well_formed_and_names_a_taxonomy_code(rule):
    if rule.facet == "ai":
        assert rule.code == "ai"
    else:
        assert taxonomy.get(rule.code).facet == rule.facet
    assert rule.fields and set(rule.fields) <= KNOWN_FIELDS
    assert set(rule.fields) <= set(FIELD_WEIGHT)
    assert set(rule.requires) <= CONDITIONS
    assert 0 < rule.confidence <= 1
    assert rule.kind in ("tag", "veto", "block", "fallback")
    assert bool(rule.words) is (rule.kind != "fallback")
    assert rule.kind != "veto" or rule.facet == "ai"
    assert len(set(rule.words)) == len(rule.words)


def test_rule_ids_are_unique():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))


def test_every_taxonomy_code_can_be_reached_by_some_rule():
    # in_force needs an effective date, which no text rule can see.
    unreachable = {"in_force"}
    covered = {r.code for r in RULES}
    for node in taxonomy.all_nodes():
        if node.code not in unreachable:
            assert node.code in covered, node.code


# --- robustness ---------------------------------------------------------------------------------------------------

def test_classification_is_deterministic():
    kwargs = dict(name="肺炎CT影像辅助分诊与评估软件", description="采用深度学习算法", mgmt_class=3, catalogue_code="21")
    first = classify_device(**kwargs)
    for _ in range(3):
        assert classify_device(**kwargs) == first
    assert classify_policy(title="国务院关于印发新一代人工智能发展规划的通知") == classify_policy(
        title="国务院关于印发新一代人工智能发展规划的通知")


@pytest.mark.parametrize("text", ["", " ", "<script>alert('肺结节CT')</script>", "\x00\ufeff\u200b", "𠀀" * 50])
def test_hostile_input_does_not_crash(text):
    for result in (
        classify_device(name=text, description=text, structure=text, scope=text, catalogue_code=text, category=text),
        classify_policy(title=text, body=text, issuer=text, doc_no=text),
    ):
        assert all(taxonomy.is_valid(t.code) for t in result.tags if t.facet != "ai")
        json.dumps(result.to_json())


def test_very_long_text_is_searched_to_the_end():
    body = "无关内容。" * 200_000 + "肺结节"
    result = classify_device(name="软件", description=body)
    assert result.codes("disease") == ["lung_nodule"]
    assert classify_policy(title="通知", body=body * 2).codes("ai") == []


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=60), body=st.text(max_size=200))
def test_any_text_gives_valid_tags_and_confidences(name, body):
    for result in (classify_device(name=name, description=body), classify_policy(title=name, body=body)):
        assert 0.0 <= result.ai_confidence <= 1.0
        assert result.is_ai is (result.ai_confidence >= AI_THRESHOLD)
        assert result.is_ai is ("ai" in result.codes("ai"))
        for tag in result.tags:
            assert 0.0 < tag.confidence <= 1.0 and tag.evidence
            assert tag.facet == "ai" or taxonomy.get(tag.code).facet == tag.facet
        assert len(result.codes("stage")) <= 1
