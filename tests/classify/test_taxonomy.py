"""Tests for tracker.classify.taxonomy: the codes of TAXONOMY.md, their labels, tree shape and lookups."""
from __future__ import annotations

import dataclasses
import re

import pytest

from tracker.classify import taxonomy

# Written out here rather than read from the module, so a code dropped or renamed there fails these tests.
TOP_AREAS = [
    "public_health", "hospital_management", "medical_imaging", "medical_robotics", "drug_discovery",
    "health_management", "precision_medicine", "medical_payment", "clinical_decision_support",
    "brain_computer_interface", "medical_llm", "internet_hospital",
]
IMAGING = ["ct", "mr", "xray", "ultrasound", "fundus", "pathology", "endoscopy", "dermatology", "nuclear"]
FACET_CODES = {
    "function": ["detection", "diagnosis", "triage", "assessment", "planning", "reconstruction", "monitoring"],
    "signal": ["ecg", "eeg", "other"],
    "site": ["chest_lung", "heart_coronary", "head_brain", "breast", "bone_joint", "eye", "abdomen_liver", "thyroid",
             "cervix", "skin", "whole_body"],
    "disease": ["lung_nodule", "pneumonia", "diabetic_retinopathy", "glaucoma", "fracture", "bone_age", "stroke_ich",
                "intracranial_tumor", "coronary_stenosis", "breast_cancer", "cervical_cancer", "colorectal_polyp",
                "arrhythmia"],
    "stage": ["draft", "issued", "in_force", "revised", "repealed"],
    "scenario": ["nhc.medical_service_mgmt", "nhc.primary_care", "nhc.health_industry", "nhc.education_research"],
}
SEED_STEMS = {
    "2020_ai_medical_bluebook_36kr", "2022_china_medical_ai_insight_36kr", "2023_china_ai_health_atlas_analysys",
    "2024_ai_medical_trends_report", "2024_china_ai_medical_report_jiazi",
}
ALL = taxonomy.all_nodes()


def test_version_is_pinned():
    assert taxonomy.TAXONOMY_VERSION == "2026.1"


def test_top_level_areas_are_the_twelve_of_the_spec():
    top = [n.code for n in taxonomy.nodes("area") if n.parent is None]
    assert top == TOP_AREAS


def test_imaging_sub_areas_hang_under_medical_imaging_and_carry_its_prefix():
    subs = taxonomy.children("medical_imaging")
    assert [n.code for n in subs] == [f"medical_imaging.{c}" for c in IMAGING]
    for node in subs:
        assert node.parent == "medical_imaging" and node.facet == "area"
        assert node.code.split(".")[0] == node.parent


@pytest.mark.parametrize("facet", sorted(FACET_CODES))
def test_flat_facets_hold_exactly_the_spec_codes(facet):
    assert [n.code for n in taxonomy.nodes(facet)] == FACET_CODES[facet]


def test_policy_facets_have_ten_types_and_the_named_issuers():
    assert len(taxonomy.nodes("policy_type")) == 10
    zh = {n.zh for n in taxonomy.nodes("policy_type")}
    assert {"指导原则", "审评要点", "征求意见稿", "政策解读", "发展规划", "公告通告"} <= zh
    issuers = {n.code for n in taxonomy.nodes("issuer")}
    assert {"state_council", "state_council_office", "nhc", "nmpa", "cmde", "miit", "ndrc", "most", "nhsa",
            "cpc_general_office", "other_issuer"} == issuers


@pytest.mark.parametrize("node", ALL, ids=lambda n: n.code)
def test_every_node_has_both_labels(node):
    assert taxonomy.label(node.code, "zh") == node.zh and node.zh.strip()
    assert taxonomy.label(node.code, "en") == node.en and node.en.strip()
    assert re.search(r"[\u4e00-\u9fff]", node.zh), "the zh label should be Chinese"
    assert node.en.isascii()


def test_label_defaults_to_chinese_and_rejects_other_languages():
    assert taxonomy.label("medical_imaging.ct") == "CT影像"
    assert taxonomy.label("medical_imaging.fundus", lang="en") == "Fundus & ophthalmic imaging"
    with pytest.raises(ValueError):
        taxonomy.label("medical_imaging", lang="fr")


def test_codes_are_unique_stable_ascii_and_facets_known():
    codes = [n.code for n in ALL]
    assert len(codes) == len(set(codes))
    for node in ALL:
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?", node.code), node.code
        assert node.facet in taxonomy.FACETS
        assert node.parent is None or taxonomy.get(node.parent).facet == node.facet


def test_reports_name_real_seed_files_and_every_area_cites_one():
    for node in ALL:
        assert set(node.reports) <= SEED_STEMS, node.code
        assert len(node.reports) == len(set(node.reports))
    for code in TOP_AREAS:
        assert taxonomy.get(code).reports, code
    assert taxonomy.get("brain_computer_interface").reports == ("2022_china_medical_ai_insight_36kr",)
    assert "2024_china_ai_medical_report_jiazi" in taxonomy.get("medical_imaging.pathology").reports


@pytest.mark.parametrize("bad", ["", "unknown", "medical_imaging.pet", "CT", "Medical_Imaging", " ct", None, 3])
def test_unknown_codes_are_rejected(bad):
    assert not taxonomy.is_valid(bad)
    with pytest.raises(KeyError):
        taxonomy.get(bad)
    with pytest.raises(KeyError):
        taxonomy.label(bad)


def test_lookups_of_known_codes():
    node = taxonomy.get("medical_imaging.mr")
    assert (node.zh, node.en, node.facet, node.parent) == ("磁共振影像", "MRI", "area", "medical_imaging")
    assert taxonomy.is_valid("nhc.primary_care")
    assert taxonomy.get("other").facet == "signal"
    assert taxonomy.get("other_issuer").facet == "issuer"


def test_children_of_a_leaf_is_empty_and_of_an_unknown_code_is_an_error():
    assert taxonomy.children("medical_imaging.ct") == ()
    assert taxonomy.children("lung_nodule") == ()
    with pytest.raises(KeyError):
        taxonomy.children("no_such_code")


def test_nodes_rejects_an_unknown_facet():
    with pytest.raises(ValueError):
        taxonomy.nodes("colour")


def test_nodes_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        taxonomy.get("medical_imaging").zh = "changed"


def test_crowded_and_open_diseases_follow_the_2024_trends_report():
    diseases = {n.code for n in taxonomy.nodes("disease")}
    assert taxonomy.CROWDED_DISEASES <= diseases and taxonomy.OPEN_DISEASES <= diseases
    assert not taxonomy.CROWDED_DISEASES & taxonomy.OPEN_DISEASES
    # 热门: 心脑血管 and 骨关节; 冷门: 肠息肉.
    for code in ("coronary_stenosis", "stroke_ich", "fracture", "bone_age"):
        assert taxonomy.is_crowded(code)
    assert not taxonomy.is_crowded("colorectal_polyp")
    assert "colorectal_polyp" in taxonomy.OPEN_DISEASES
    assert taxonomy.CROWDING_REPORT in taxonomy.get("colorectal_polyp").reports
    with pytest.raises(KeyError):
        taxonomy.is_crowded("medical_imaging.ct")
