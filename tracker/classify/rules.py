"""The classification rules as data: which words, in which fields, give which taxonomy tag with what confidence.

`tracker.classify.classifier` is the engine; this module is only the rule table. Any change to a rule (a word, a field, a
confidence) changes what the machine would tag, so it must bump RULES_VERSION: stored tags carry the version that
made them, and a re-classification can tell old decisions from new ones.

Words are matched on NFKC-normalised, case-folded text. A word made only of ASCII letters/digits/punctuation (CT,
MRI, AI) must stand alone (no ASCII letter or digit either side), so "CT" does not fire inside "OCT" or "DICT".

Naming practice of NMPA AI software (SOURCES.md §5): `<modality/site><disease><function>软件`, functions 辅助诊断 /
辅助检测 / 辅助分诊 / 辅助分诊与评估 / 计算 / 分析; 深度学习 and 人工智能 usually appear in 结构及组成 or the description.
"""
from __future__ import annotations

from dataclasses import dataclass

RULES_VERSION = "2"

DEVICE_FIELDS = ("name", "description", "structure", "scope")
POLICY_TEXT = ("title", "body")
KNOWN_FIELDS = frozenset(
    {"name", "description", "structure", "scope", "category", "catalogue_code", "mgmt_class",
     "title", "body", "issuer", "doc_no", "title_prefix"}
)

# How much a match in a field is worth relative to one in the name or title: a word in the product name is the
# registrant's own claim; a word somewhere in a long policy body may be incidental.
FIELD_WEIGHT = {
    "name": 1.0, "title": 1.0, "issuer": 1.0, "doc_no": 1.0, "catalogue_code": 1.0, "mgmt_class": 1.0,
    "category": 1.0, "title_prefix": 0.9, "structure": 0.9, "scope": 0.9, "description": 0.8, "body": 0.6,
}

# Conditions a rule may require, evaluated on the whole entity by the engine:
#   software      - the name or category says 软件/software, or the catalogue code is category 21 (医用软件)
#   class3_cat21  - management class III and catalogue category 21
CONDITIONS = frozenset({"software", "class3_cat21"})


@dataclass(frozen=True)
class Rule:
    """One rule. `kind` is "tag" (emit facet/code), "veto" (AI only: cap name-only AI evidence at `confidence`),
    "block" (a negative rule: facet/code is not given, whatever other rule or field found it; for what a word in one
    field says of the whole product, such as an implant's name against "磁共振" in its description) or "fallback"
    (emit when no other rule of the facet fired and the rule's fields are non-empty).

    `unless`: words that, found in the same field, cancel the match (an IVD 试剂 name says 检测 but is no AI
    function). `mask`: longer words blanked out before matching, so a rule word inside them does not count (计算 in
    计算机断层). `beats_veto`: an AI rule whose evidence is explicit enough (深度学习 in 结构及组成) that a veto does not
    cap it.
    """

    id: str
    facet: str
    code: str
    words: tuple[str, ...]
    fields: tuple[str, ...]
    confidence: float
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()
    kind: str = "tag"
    beats_veto: bool = False


def _r(rule_id: str, facet: str, code: str, words: str, fields: tuple[str, ...], confidence: float, *,
       mask: str = "", **kw) -> Rule:
    # Word lists are written space-separated to keep the table readable.
    return Rule(id=rule_id, facet=facet, code=code, words=tuple(words.split()), fields=fields,
                confidence=confidence, mask=tuple(mask.split()), **kw)


_D, _N, _P = DEVICE_FIELDS, ("name",), POLICY_TEXT
_AREA_FIELDS = DEVICE_FIELDS + POLICY_TEXT
_DEVICE_TEXT = ("description", "structure", "scope")
_NOT_REAGENT = ("试剂",)  # IVD reagent names say 检测/定量 but are not AI functions
# "title_prefix" is the part of a title before its first 关于 ("国务院办公厅关于…"): there, a body's name is the issuer.
_ISSUER = ("issuer", "doc_no", "title_prefix")

# Words that make 磁共振/MR a property of an implant (MR conditional), masked before the modality is read.
MR_CONDITIONAL = ("磁共振兼容 磁共振条件 磁共振安全 核磁共振兼容 核磁共振条件 核磁兼容 核磁条件 MR兼容 MRI兼容 MR条件"
                  " MRI条件 MR安全 MRI安全")
IMPLANT = ("起搏器", "除颤器", "植入式", "植入物", "神经刺激器", "人工耳蜗", "心律转复")

AI_TECHNIQUE = "深度学习 人工智能 神经网络 机器学习 卷积神经 AI算法"

RULES: tuple[Rule, ...] = (
    # --- AI decision (facet "ai", code "ai") ---------------------------------------------------------------
    _r("ai.name.explicit", "ai", "ai", "人工智能 AI 深度学习", _N, 0.95, beats_veto=True),
    _r("ai.name.assist_software", "ai", "ai", "辅助诊断 辅助检测 辅助分诊 辅助评估 辅助决策 辅助筛查 辅助识别"
       " 辅助勾画 辅助分析", _N, 0.9, requires=("software",)),
    _r("ai.name.smart_software", "ai", "ai", "智能", _N, 0.7, requires=("software",), mask="人工智能"),
    _r("ai.name.assist_device", "ai", "ai", "辅助诊断 辅助检测 辅助分诊 辅助评估 辅助决策 辅助筛查", _N, 0.6,
       unless=("软件",)),
    _r("ai.text.technique", "ai", "ai", AI_TECHNIQUE, _DEVICE_TEXT, 0.95, beats_veto=True),
    _r("ai.class3.cat21_assist", "ai", "ai", "辅助", _N, 0.8, requires=("class3_cat21",)),
    # SOURCES §5 lists 计算 / 分析 as AI naming functions, but rule-based software says so just as often (dose
    # calculation, FFR from a flow model, karyotype analysis): by itself such a word is no evidence of machine
    # learning, so it stays below the AI threshold, in the review queue's range (0.3-0.8). Verbs of image
    # understanding (勾画, 分割, 识别) are the uncertain middle (0.5); class III in category 21 (NMPA 2021年第47号)
    # tips either a little further, the weak words still not to AI.
    _r("ai.name.weak_function", "ai", "ai", "分析 计算 量化", _N, 0.4, requires=("software",), mask="计算机"),
    _r("ai.name.image_function", "ai", "ai", "勾画 分割 识别", _N, 0.5, requires=("software",)),
    _r("ai.class3.cat21_function", "ai", "ai", "分析 计算 量化", _N, 0.45, requires=("class3_cat21",),
       mask="计算机"),
    _r("ai.class3.cat21_image_function", "ai", "ai", "勾画 分割 识别", _N, 0.65, requires=("class3_cat21",)),
    # Genetic, chromosome and planning/dose software is rule-based unless its text names a technique: assistance
    # words in such a name (辅助分析) are capped like plain image handling.
    _r("ai.veto.rule_based", "ai", "ai", "基因 染色体 核型 测序 生物信息 治疗计划 放疗计划 剂量计算 剂量验证", _N,
       0.3, kind="veto"),
    _r("ai.veto.plain_imaging", "ai", "ai", "影像处理 图像处理 图像存档 影像存档 存档与传输 PACS 后处理 工作站"
       " 影像浏览 图像浏览", _N, 0.3, kind="veto"),
    _r("ai.policy.terms", "ai", "ai", "人工智能 AI 大模型 深度学习 机器学习 神经网络 生成式", _P, 0.95),
    _r("ai.policy.smart", "ai", "ai", "智能", ("title",), 0.6, mask="人工智能"),
    # --- application areas ----------------------------------------------------------------------------------
    # Cone-beam CT (口腔颌面锥形束) is CT; a dental panoramic (口腔曲面体层) is an X-ray image.
    _r("area.ct", "area", "medical_imaging.ct", "CT CTA 计算机断层 计算机体层 锥形束 CBCT", _AREA_FIELDS, 0.9),
    # "磁共振兼容" / "磁共振条件安全" (MR conditional) says an implant or a pacemaker may go into an MR scanner: a
    # property of the implant, not the imaging modality; a field that speaks of an implant is read the same way.
    _r("area.mr", "area", "medical_imaging.mr", "磁共振 MR MRI 核磁", _AREA_FIELDS, 0.9, mask=MR_CONDITIONAL,
       unless=IMPLANT),
    _r("area.mr.block_implant", "area", "medical_imaging.mr", MR_CONDITIONAL + " " + " ".join(IMPLANT), _N, 1.0,
       kind="block"),
    _r("area.xray", "area", "medical_imaging.xray", "X射线 X线 X光 DR 钼靶 胸片 数字化摄影 曲面体层 口腔全景",
       _AREA_FIELDS, 0.9, mask="X射线计算机体层 X射线计算机断层"),  # a CT scanner is named after X-rays but is CT
    _r("area.ultrasound", "area", "medical_imaging.ultrasound", "超声 彩超 B超", _AREA_FIELDS, 0.9),
    _r("area.fundus", "area", "medical_imaging.fundus", "眼底 视网膜 眼科影像 OCT 眼科光学相干", _AREA_FIELDS, 0.9),
    # OCT is also an intravascular modality: a coronary OCT product images vessels, not the eye.
    _r("area.fundus.block_vessel", "area", "medical_imaging.fundus", "冠状动脉 冠脉 血管内", _N, 1.0, kind="block"),
    _r("area.pathology", "area", "medical_imaging.pathology", "病理 细胞学 免疫组化 切片 TCT", _AREA_FIELDS, 0.9),
    _r("area.endoscopy", "area", "medical_imaging.endoscopy", "内窥镜 内镜 胃镜 肠镜 结肠镜 支气管镜",
       _AREA_FIELDS, 0.9),
    _r("area.dermatology", "area", "medical_imaging.dermatology", "皮肤镜 皮肤影像 皮肤图像", _AREA_FIELDS, 0.9),
    _r("area.nuclear", "area", "medical_imaging.nuclear", "PET SPECT 核医学 正电子 单光子", _AREA_FIELDS, 0.9),
    _r("area.imaging", "area", "medical_imaging", "医学影像 医疗影像 影像 图像", _AREA_FIELDS, 0.6),
    _r("area.cds", "area", "clinical_decision_support", "临床决策 决策支持 CDSS 辅助诊疗 靶区 放疗计划 治疗计划 预后",
       _AREA_FIELDS, 0.8),
    # An ECG or EEG signal supports decisions through software that reads it; the machine that records it (心电图机,
    # a monitor) is no decision support.
    _r("area.cds.signal", "area", "clinical_decision_support", "心电 脑电", _AREA_FIELDS, 0.8,
       requires=("software",)),
    _r("area.robotics", "area", "medical_robotics", "机器人 手术导航 导航定位", _AREA_FIELDS, 0.9),
    _r("area.public_health", "area", "public_health", "公共卫生 传染病 疫情 疫苗接种 卫生监督", _AREA_FIELDS, 0.8),
    _r("area.hospital_mgmt", "area", "hospital_management", "医院管理 医疗信息化 电子病历 智慧医院 导诊 病历质控",
       _AREA_FIELDS, 0.8),
    _r("area.drug_discovery", "area", "drug_discovery", "药物研发 新药研发 药物发现 药物研究 化合物筛选",
       _AREA_FIELDS, 0.8),
    _r("area.health_mgmt", "area", "health_management", "健康管理 慢病 慢性病 可穿戴", _AREA_FIELDS, 0.8),
    _r("area.precision", "area", "precision_medicine", "精准医疗 精准医学 基因 测序", _AREA_FIELDS, 0.8),
    _r("area.payment", "area", "medical_payment", "医疗支付 医保支付 医保控费 商业保险 商业健康保险", _AREA_FIELDS, 0.8),
    _r("area.bci", "area", "brain_computer_interface", "脑机接口 脑-机接口 脑科学", _AREA_FIELDS, 0.9),
    _r("area.llm", "area", "medical_llm", "大模型 大语言模型 生成式 GPT LLM", _AREA_FIELDS, 0.9),
    _r("area.internet_hospital", "area", "internet_hospital", "互联网医院 互联网诊疗 智能问诊 在线问诊",
       _AREA_FIELDS, 0.9),
    # --- functions (device only) ----------------------------------------------------------------------------
    _r("function.detection", "function", "detection", "辅助检测 检出 辅助筛查 筛查 病灶识别", _D, 0.9,
       unless=_NOT_REAGENT),
    _r("function.diagnosis", "function", "diagnosis", "辅助诊断 辅诊 辅助判读", _D, 0.9),
    _r("function.triage", "function", "triage", "分诊", _D, 0.9),
    _r("function.assessment", "function", "assessment", "评估 定量 量化 计算 测量 血流储备分数", _D, 0.8,
       unless=_NOT_REAGENT, mask="计算机"),
    _r("function.planning", "function", "planning", "勾画 靶区 治疗计划 放疗计划 手术规划 术前规划", _D, 0.9),
    _r("function.reconstruction", "function", "reconstruction", "三维重建 3D重建 重建", _D, 0.8),
    _r("function.monitoring", "function", "monitoring", "监测 监护 预警", _D, 0.8),
    # --- signals (device only) ------------------------------------------------------------------------------
    _r("signal.ecg", "signal", "ecg", "心电 ECG EKG", _D, 0.9),
    _r("signal.eeg", "signal", "eeg", "脑电 EEG", _D, 0.9),
    _r("signal.other", "signal", "other", "心音 血氧 脉搏波 睡眠呼吸 多导睡眠 肌电", _D, 0.7),
    # --- body sites (device only) ---------------------------------------------------------------------------
    _r("site.chest_lung", "site", "chest_lung", "肺 胸部 胸片 胸腔", _D, 0.9),
    _r("site.heart_coronary", "site", "heart_coronary", "心脏 冠脉 冠状动脉 心血管 心肌 心电", _D, 0.9),
    _r("site.head_brain", "site", "head_brain", "颅 脑 头部", _D, 0.9),
    _r("site.breast", "site", "breast", "乳腺 乳房", _D, 0.9),
    _r("site.bone_joint", "site", "bone_joint", "骨 关节 脊柱 椎", _D, 0.9),
    _r("site.eye", "site", "eye", "眼 视网膜", _D, 0.9),
    _r("site.abdomen_liver", "site", "abdomen_liver", "腹部 腹腔 肝脏 肝癌 肝硬化 肝纤维化 胆囊 胆道 胰腺 胃 肠",
       _D, 0.8),
    _r("site.thyroid", "site", "thyroid", "甲状腺", _D, 0.9),
    _r("site.cervix", "site", "cervix", "宫颈", _D, 0.9),
    _r("site.skin", "site", "skin", "皮肤", _D, 0.9),
    _r("site.whole_body", "site", "whole_body", "全身", _D, 0.9),
    # --- diseases (device only; only when named, never inferred from a modality) ------------------------------
    _r("disease.lung_nodule", "disease", "lung_nodule", "肺结节 肺部结节", _D, 0.95),
    _r("disease.pneumonia", "disease", "pneumonia", "肺炎 COVID-19", _D, 0.9),
    _r("disease.diabetic_retinopathy", "disease", "diabetic_retinopathy", "糖尿病视网膜病变 糖尿病性视网膜病变 糖网",
       _D, 0.95),
    _r("disease.glaucoma", "disease", "glaucoma", "青光眼", _D, 0.95),
    _r("disease.fracture", "disease", "fracture", "骨折", _D, 0.95),
    _r("disease.bone_age", "disease", "bone_age", "骨龄", _D, 0.95),
    _r("disease.stroke_ich", "disease", "stroke_ich", "脑卒中 卒中 颅内出血 脑出血 脑梗 中风", _D, 0.9),
    _r("disease.intracranial_tumor", "disease", "intracranial_tumor", "颅内肿瘤 脑肿瘤 脑瘤 胶质瘤 脑膜瘤", _D, 0.95),
    _r("disease.coronary_stenosis", "disease", "coronary_stenosis", "冠心病 冠脉狭窄 冠状动脉狭窄 血流储备分数 FFR"
       " 冠状动脉粥样硬化", _D, 0.9),
    _r("disease.breast_cancer", "disease", "breast_cancer", "乳腺癌", _D, 0.95),
    _r("disease.cervical_cancer", "disease", "cervical_cancer", "宫颈癌 宫颈病变 宫颈上皮内瘤变", _D, 0.9),
    _r("disease.colorectal_polyp", "disease", "colorectal_polyp", "肠息肉 结肠息肉 结直肠息肉 大肠息肉", _D, 0.95),
    _r("disease.arrhythmia", "disease", "arrhythmia", "心律失常 房颤 心房颤动 早搏", _D, 0.9),
    # --- policy type (a draft is tagged both with its kind and as a consultation) --------------------------------
    _r("ptype.law", "policy_type", "law", "条例 中华人民共和国", ("title",), 0.8),
    _r("ptype.dept_rule.doc_no", "policy_type", "dept_rule", "令", ("doc_no",), 0.9),
    _r("ptype.dept_rule.title", "policy_type", "dept_rule", "管理办法 规定", ("title",), 0.5),
    _r("ptype.normative", "policy_type", "normative", "意见 通知 办法", ("title",), 0.5, mask="征求意见"),
    _r("ptype.announcement", "policy_type", "announcement", "公告 通告", ("title",), 0.8),
    _r("ptype.announcement.doc_no", "policy_type", "announcement", "公告 通告 年第", ("doc_no",), 0.7),
    _r("ptype.guidance", "policy_type", "guidance", "指导原则", ("title",), 0.95),
    _r("ptype.review_points", "policy_type", "review_points", "审评要点", ("title",), 0.95),
    _r("ptype.standard", "policy_type", "standard", "标准 YY/T GB/T YY GB", ("title", "doc_no"), 0.7),
    _r("ptype.consultation", "policy_type", "consultation", "征求意见稿 征求意见 公开征求", ("title",), 0.95),
    _r("ptype.interpretation", "policy_type", "interpretation", "政策解读 解读 答记者问", ("title",), 0.9),
    _r("ptype.plan", "policy_type", "plan", "规划 行动计划 三年行动", ("title",), 0.8),
    # --- issuer: from the issuer field and the document-number prefix ---------------------------------------
    _r("issuer.state_council", "issuer", "state_council", "国务院 国发", _ISSUER, 0.9,
       mask="国务院办公厅"),
    _r("issuer.state_council_office", "issuer", "state_council_office", "国务院办公厅 国办发 国办函",
       _ISSUER, 0.95),
    _r("issuer.nhc", "issuer", "nhc", "国家卫生健康委 国家卫健委 国家卫生计生委 国卫",
       _ISSUER, 0.95),
    _r("issuer.nmpa", "issuer", "nmpa", "国家药品监督管理局 国家药监局 国药监 NMPA", _ISSUER, 0.95,
       mask="国家药品监督管理局医疗器械技术审评中心 国家药监局医疗器械技术审评中心 国家药监局器审中心"),
    # A bare "2021年第47号" is how NMPA numbers its announcements, but other bodies number some notices the same way.
    _r("issuer.nmpa.announcement_no", "issuer", "nmpa", "年第", ("doc_no",), 0.5),
    _r("issuer.cmde", "issuer", "cmde", "器审中心 医疗器械技术审评中心 CMDE", _ISSUER, 0.95),
    _r("issuer.miit", "issuer", "miit", "工业和信息化部 工信部", _ISSUER, 0.95),
    _r("issuer.ndrc", "issuer", "ndrc", "国家发展和改革委员会 国家发展改革委 国家发改委", _ISSUER, 0.9),
    _r("issuer.most", "issuer", "most", "科学技术部 科技部 国科发", _ISSUER, 0.95),
    _r("issuer.nhsa", "issuer", "nhsa", "国家医疗保障局 国家医保局 医保发", _ISSUER, 0.95),
    _r("issuer.cpc_general_office", "issuer", "cpc_general_office", "中共中央办公厅 中办发", _ISSUER, 0.95),
    _r("issuer.other", "issuer", "other_issuer", "", ("issuer",), 0.5, kind="fallback"),
    # --- stage: one per policy, the strongest wins ------------------------------------------------------------
    # "关于废止/修订…的公告" is an issued notice that repeals or revises *another* document.
    _r("stage.draft", "stage", "draft", "征求意见稿 征求意见 公开征求 草案", ("title",), 0.95),
    _r("stage.repealed", "stage", "repealed", "废止 失效", ("title",), 0.9, mask="关于废止 关于宣布失效"),
    _r("stage.revised", "stage", "revised", "修订", ("title",), 0.85, mask="关于修订"),
    _r("stage.issued", "stage", "issued", "", ("title",), 0.6, kind="fallback"),
    # --- NHC 参考指引 scenario categories ----------------------------------------------------------------------
    _r("scenario.medical_service_mgmt", "scenario", "nhc.medical_service_mgmt", "医疗服务管理 智慧医院 医疗服务",
       _P, 0.7),
    _r("scenario.primary_care", "scenario", "nhc.primary_care", "基层卫生 基层医疗 家庭医生 基层", _P, 0.7),
    _r("scenario.health_industry", "scenario", "nhc.health_industry", "健康产业", _P, 0.7),
    _r("scenario.education_research", "scenario", "nhc.education_research", "医学教学 医学教育 医学科研 教学科研",
       _P, 0.7),
)

# Facets that hold one value per entity: the highest-confidence tag is kept.
SINGLE_VALUED = frozenset({"stage"})
