"""The taxonomy of /work/shared/TAXONOMY.md as data: application areas (a two-level tree) and flat facets.

Every approval and policy is tagged against these codes. Codes are stable ASCII identifiers and never change without
a data migration; labels may be improved. Each node names the industry reports (file stems under shared/seeds/) that
describe it, so a reader can go back to the source.

Codes are unique across all facets, so `get(code)` needs no facet. Only the area facet is a tree: a sub-area's code is
``<parent>.<child>`` (``medical_imaging.ct``) and its `parent` is set. The NHC scenario codes (``nhc.*``) are dotted
after the guideline that defines them; they are flat (no parent node).
"""
from __future__ import annotations

from dataclasses import dataclass

TAXONOMY_VERSION = "2026.1"

FACETS = ("area", "function", "signal", "site", "disease", "policy_type", "issuer", "stage", "scenario")

# The five seed reports, by file stem.
BLUEBOOK_2020 = "2020_ai_medical_bluebook_36kr"
INSIGHT_2022 = "2022_china_medical_ai_insight_36kr"
ATLAS_2023 = "2023_china_ai_health_atlas_analysys"
TRENDS_2024 = "2024_ai_medical_trends_report"
JIAZI_2024 = "2024_china_ai_medical_report_jiazi"
REPORTS = (BLUEBOOK_2020, INSIGHT_2022, ATLAS_2023, TRENDS_2024, JIAZI_2024)


@dataclass(frozen=True)
class Node:
    """One taxonomy code with its Chinese and English labels, facet, parent code (areas only) and source reports."""

    code: str
    zh: str
    en: str
    facet: str
    parent: str | None
    reports: tuple[str, ...]


def _n(facet: str, code: str, zh: str, en: str, *reports: str, parent: str | None = None) -> Node:
    return Node(code=code, zh=zh, en=en, facet=facet, parent=parent, reports=tuple(reports))


_B, _I, _A, _T, _J = BLUEBOOK_2020, INSIGHT_2022, ATLAS_2023, TRENDS_2024, JIAZI_2024
_IMG = "medical_imaging"

_NODES: tuple[Node, ...] = (
    # 1. Application areas (TAXONOMY.md §1)
    _n("area", "public_health", "公共卫生", "Public health", _B),
    _n("area", "hospital_management", "医院管理 / 医疗信息化", "Hospital management & health IT", _B, _I),
    _n("area", "medical_imaging", "医学影像", "Medical imaging", _B, _I, _A, _J, _T),
    _n("area", "medical_robotics", "医疗机器人", "Medical robots", _B, _I, _T),
    _n("area", "drug_discovery", "药物研发", "Drug discovery", _B, _I, _A, _T),
    _n("area", "health_management", "健康管理 / 慢病管理", "Health & chronic-disease management", _B, _A, _T),
    _n("area", "precision_medicine", "精准医疗", "Precision medicine & genomics", _B, _A),
    _n("area", "medical_payment", "医疗支付", "Medical payment & insurance", _B),
    _n("area", "clinical_decision_support", "辅助诊疗 / 临床决策支持", "Clinical decision support", _I, _A),
    _n("area", "brain_computer_interface", "脑科学 / 脑机接口", "Brain science & BCI", _I),
    _n("area", "medical_llm", "医疗大模型 / 生成式AI", "Medical large models & generative AI", _A, _T),
    _n("area", "internet_hospital", "互联网医院 / 智能问诊", "Internet hospitals & AI consultation", _T, _A),
    # 2. Medical-imaging sub-areas (TAXONOMY.md §2)
    _n("area", "medical_imaging.ct", "CT影像", "CT", _J, _I, _B, _A, _T, parent=_IMG),
    _n("area", "medical_imaging.mr", "磁共振影像", "MRI", _J, _I, _B, _T, parent=_IMG),
    _n("area", "medical_imaging.xray", "X线 / DR / 乳腺X射线", "X-ray, DR, mammography", _I, _B, _A, parent=_IMG),
    _n("area", "medical_imaging.ultrasound", "超声", "Ultrasound", _I, _B, _A, _T, parent=_IMG),
    _n("area", "medical_imaging.fundus", "眼底 / 眼科影像", "Fundus & ophthalmic imaging", _J, _B, _A, parent=_IMG),
    _n("area", "medical_imaging.pathology", "病理影像", "Digital pathology & cytology", _J, _A, _B, parent=_IMG),
    _n("area", "medical_imaging.endoscopy", "内窥镜影像", "Endoscopy", _J, _B, parent=_IMG),
    _n("area", "medical_imaging.dermatology", "皮肤影像", "Dermatology imaging", _J, parent=_IMG),
    _n("area", "medical_imaging.nuclear", "核医学 (PET, SPECT)", "Nuclear medicine", parent=_IMG),
    # 3. Device facets (TAXONOMY.md §3); functions follow the blue book 2.3.1 and certificate naming practice
    _n("function", "detection", "辅助检测", "Detection", _B, _I),
    _n("function", "diagnosis", "辅助诊断", "Diagnosis", _B, _I),
    _n("function", "triage", "辅助分诊", "Triage", _B),
    _n("function", "assessment", "辅助评估 / 定量分析", "Assessment & quantification", _B, _I),
    _n("function", "planning", "靶区勾画 / 治疗规划", "Treatment & surgical planning", _B, _I),
    _n("function", "reconstruction", "三维重建", "3D reconstruction", _B),
    _n("function", "monitoring", "监测", "Monitoring", _B, _T),
    _n("signal", "ecg", "心电", "ECG", _B),
    _n("signal", "eeg", "脑电", "EEG", _B),
    _n("signal", "other", "其他生理信号", "Other physiological signal"),
    _n("site", "chest_lung", "胸肺", "Chest & lung", _B),
    _n("site", "heart_coronary", "心脏冠脉", "Heart & coronary", _T),
    _n("site", "head_brain", "头颅脑", "Head & brain", _B),
    _n("site", "breast", "乳腺", "Breast", _B),
    _n("site", "bone_joint", "骨骼关节", "Bone & joint", _B, _T),
    _n("site", "eye", "眼", "Eye", _B, _J),
    _n("site", "abdomen_liver", "腹部肝脏", "Abdomen & liver", _I),
    _n("site", "thyroid", "甲状腺", "Thyroid", _B),
    _n("site", "cervix", "宫颈", "Cervix", _A),
    _n("site", "skin", "皮肤", "Skin", _J),
    _n("site", "whole_body", "全身", "Whole body", _A),
    _n("disease", "lung_nodule", "肺结节", "Lung nodule", _B),
    _n("disease", "pneumonia", "肺炎 (含新冠肺炎)", "Pneumonia (incl. COVID-19)", _B, _I),
    _n("disease", "diabetic_retinopathy", "糖尿病视网膜病变", "Diabetic retinopathy", _B, _T),
    _n("disease", "glaucoma", "青光眼", "Glaucoma"),
    _n("disease", "fracture", "骨折", "Fracture", _A),
    _n("disease", "bone_age", "骨龄", "Bone age", _B),
    _n("disease", "stroke_ich", "脑卒中 / 颅内出血", "Stroke & intracranial haemorrhage", _B, _T),
    _n("disease", "intracranial_tumor", "颅内肿瘤", "Intracranial tumour", _B),
    _n("disease", "coronary_stenosis", "冠心病 / 冠脉狭窄", "Coronary heart disease & stenosis", _B, _T),
    _n("disease", "breast_cancer", "乳腺癌", "Breast cancer", _B),
    _n("disease", "cervical_cancer", "宫颈癌", "Cervical cancer", _B, _A),
    _n("disease", "colorectal_polyp", "肠息肉", "Colorectal polyp", _T),
    _n("disease", "arrhythmia", "心律失常", "Arrhythmia"),
    # 4. Policy facets (TAXONOMY.md §4)
    _n("policy_type", "law", "法律法规", "Law or regulation"),
    _n("policy_type", "dept_rule", "部门规章", "Departmental rule"),
    _n("policy_type", "normative", "规范性文件", "Normative document"),
    _n("policy_type", "announcement", "公告通告", "Announcement"),
    _n("policy_type", "guidance", "指导原则", "Guidance principle"),
    _n("policy_type", "review_points", "审评要点", "Review points"),
    _n("policy_type", "standard", "标准", "Standard"),
    _n("policy_type", "consultation", "征求意见稿", "Draft for comment"),
    _n("policy_type", "interpretation", "政策解读", "Policy interpretation"),
    _n("policy_type", "plan", "发展规划", "Development plan"),
    _n("issuer", "state_council", "国务院", "State Council", _B, _A),
    _n("issuer", "state_council_office", "国务院办公厅", "General Office of the State Council", _B, _A),
    _n("issuer", "nhc", "国家卫生健康委员会", "National Health Commission", _B, _A, _T),
    _n("issuer", "nmpa", "国家药品监督管理局", "National Medical Products Administration", _B, _T),
    _n("issuer", "cmde", "国家药监局医疗器械技术审评中心", "Center for Medical Device Evaluation (CMDE)", _B),
    _n("issuer", "miit", "工业和信息化部", "Ministry of Industry and Information Technology", _B, _A),
    _n("issuer", "ndrc", "国家发展和改革委员会", "National Development and Reform Commission", _B, _A),
    _n("issuer", "most", "科学技术部", "Ministry of Science and Technology", _B, _A),
    _n("issuer", "nhsa", "国家医疗保障局", "National Healthcare Security Administration", _B),
    _n("issuer", "cpc_general_office", "中共中央办公厅", "General Office of the CPC Central Committee", _A),
    _n("issuer", "other_issuer", "其他机关", "Other issuer"),
    _n("stage", "draft", "征求意见", "Draft for comment"),
    _n("stage", "issued", "发布", "Issued"),
    _n("stage", "in_force", "施行", "In force"),
    _n("stage", "revised", "修订", "Revised"),
    _n("stage", "repealed", "废止", "Repealed"),
    # The four categories of NHC's 《卫生健康行业人工智能应用场景参考指引》 (2024 trends report 1.1).
    _n("scenario", "nhc.medical_service_mgmt", "AI+医疗服务管理", "AI in medical service management", _T),
    _n("scenario", "nhc.primary_care", "AI+基层卫生服务", "AI in primary health care", _T),
    _n("scenario", "nhc.health_industry", "AI+健康产业发展", "AI in health industry development", _T),
    _n("scenario", "nhc.education_research", "AI+医学教学科研", "AI in medical education & research", _T),
)

_BY_CODE: dict[str, Node] = {node.code: node for node in _NODES}
if len(_BY_CODE) != len(_NODES):  # a duplicated code would make get() ambiguous
    raise RuntimeError("duplicate taxonomy code")

# The 2024 trends report (1.2): 热门病种 (心脑血管, 骨关节: more than 15 similar products, several with class-III
# certificates) against 冷门病种 (e.g. 肠息肉). Diseases the report does not place are in neither set.
CROWDING_REPORT = TRENDS_2024
CROWDED_DISEASES = frozenset({"coronary_stenosis", "stroke_ich", "fracture", "bone_age"})
OPEN_DISEASES = frozenset({"colorectal_polyp"})


def get(code: str) -> Node:
    """The node for `code`; raises KeyError for a code the taxonomy does not define."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        raise KeyError(f"unknown taxonomy code: {code!r}") from None


def is_valid(code: str) -> bool:
    """True when `code` is a code of this taxonomy version."""
    return isinstance(code, str) and code in _BY_CODE


def nodes(facet: str) -> tuple[Node, ...]:
    """All nodes of one facet, in the order of TAXONOMY.md; raises ValueError for an unknown facet."""
    if facet not in FACETS:
        raise ValueError(f"unknown facet: {facet!r}")
    return tuple(node for node in _NODES if node.facet == facet)


def all_nodes() -> tuple[Node, ...]:
    """Every node of every facet, in definition order."""
    return _NODES


def children(code: str) -> tuple[Node, ...]:
    """The direct children of `code` (empty for a leaf); raises KeyError for an unknown code."""
    get(code)
    return tuple(node for node in _NODES if node.parent == code)


def label(code: str, lang: str = "zh") -> str:
    """The display label of `code` in "zh" or "en"; KeyError for an unknown code, ValueError for another language."""
    node = get(code)
    if lang == "zh":
        return node.zh
    if lang == "en":
        return node.en
    raise ValueError(f"unsupported label language: {lang!r}")


def is_crowded(code: str) -> bool:
    """True for a disease the 2024 trends report calls 热门 (crowded); KeyError unless `code` is a disease."""
    if get(code).facet != "disease":
        raise KeyError(f"not a disease code: {code!r}")
    return code in CROWDED_DISEASES
