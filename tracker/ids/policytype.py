"""Policy type, stage and issuer from what a source shows: the title and the column it is listed in (TAXONOMY.md §4).

Scrapers call `classify` so every source labels documents the same way, and the store reuses it when it re-derives
labels. Types are the closed list of TAXONOMY.md §4; stages are codes: draft (征求意见) → issued (发布) → in_force
(施行) → revised / repealed (修订 / 废止). A title alone never tells that a document is in force, so `classify` never
returns in_force; that stage is set from other evidence (an effective date) by whoever has it.
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

DOC_TYPES = ("法律法规", "部门规章", "规范性文件", "公告通告", "指导原则", "审评要点", "标准", "征求意见稿", "政策解读",
             "发展规划")
STAGES = ("draft", "issued", "in_force", "revised", "repealed")
DRAFT = "draft"


def is_draft(stage: str | None) -> bool:
    """A draft for comment (征求意见稿), not a final text."""
    return stage == DRAFT


# Column labels as the sites show them; a column can decide what a title cannot (a draft whose title only says
# "关于…的通知" is still a draft when the NMPA lists it under 征求意见).
DRAFT_COLUMNS = frozenset({"征求意见"})
INTERPRETATION_COLUMNS = frozenset({"政策解读"})

_DRAFT = re.compile(r"征求意见稿|(?:公开)?征求《.+》.*意见")
_REPEAL = re.compile(r"废止|失效")
_REVISE = re.compile(r"修订|修正|修改")
# "法" alone is too short to search for: 办法, 方法, 做法 and 法规 contain it. A law's title ends in 法, possibly
# followed by an edition in brackets, or names it in 《…法》.
_LAW = re.compile(r"条例|(?<![办方做])法(?:[(（][^)）]*[)）])?(?:》|$)")

# Full names and common short forms → the short label TAXONOMY.md §4 lists. Unknown issuers pass through unchanged.
ISSUER_ALIASES = {
    "中华人民共和国国务院": "国务院",
    "国家药品监督管理局": "国家药监局",
    "药监局": "国家药监局",
    "国家卫生健康委员会": "国家卫健委",
    "国家卫生健康委": "国家卫健委",
    "卫健委": "国家卫健委",
    "国家药品监督管理局医疗器械技术审评中心": "器审中心",
    "国家药监局器审中心": "器审中心",
    "国家药监局医疗器械技术审评中心": "器审中心",
    "医疗器械技术审评中心": "器审中心",
    "工业和信息化部": "工信部",
    "国家发展和改革委员会": "发改委",
    "国家发展改革委": "发改委",
    "科学技术部": "科技部",
    "国家医疗保障局": "国家医保局",
    "国家市场监督管理总局": "市场监管总局",
    "食品药品监管总局": "国家食品药品监督管理总局",  # CFDA signed its notices so
    "总局": "国家食品药品监督管理总局",  # titles of 2013–2018 CFDA notices open with "总局关于…"
}
_ISSUER_SEPARATORS = re.compile(r"[\s、，,;；]+")
_ISSUER_IN_TITLE = re.compile(r"^(?P<issuer>[\u4e00-\u9fff]{2,20}?)关于")


class PolicyClass(NamedTuple):
    """The type (one of DOC_TYPES) and stage (one of STAGES) of a policy document."""

    doc_type: str
    stage: str


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def classify(title: str, column: str | None = None) -> PolicyClass:
    """Type and stage of a document from its title and, when known, the site column listing it (e.g. "征求意见").

    Rules, first match wins: a draft marker or a 征求意见 column → 征求意见稿 / draft; 解读 or a 政策解读 column →
    政策解读 (an interpretation of a guidance is not the guidance); 审评要点; 指导原则; 规划 → 发展规划; 公告/通告 →
    公告通告; 条例 or a law's 法 → 法律法规; 办法/规定 → 部门规章; otherwise 规范性文件. 审评要点 and 指导原则
    come before 公告通告 because NMPA publishes guidance *as* a 通告 ("关于发布…指导原则的通告").
    The stage is draft for drafts, repealed / revised when the title says so (修订版 editions count), else issued.
    """
    t = _compact(title)
    col = _compact(column) if column else ""
    if _DRAFT.search(t) or col in DRAFT_COLUMNS:
        return PolicyClass("征求意见稿", "draft")
    if "解读" in t or col in INTERPRETATION_COLUMNS:
        doc_type = "政策解读"
    elif "审评要点" in t:
        doc_type = "审评要点"
    elif "指导原则" in t:
        doc_type = "指导原则"
    elif "规划" in t:
        doc_type = "发展规划"
    elif "公告" in t or "通告" in t:
        doc_type = "公告通告"
    elif _LAW.search(t):
        doc_type = "法律法规"
    elif "办法" in t or "规定" in t:
        doc_type = "部门规章"
    else:
        doc_type = "规范性文件"
    if _REPEAL.search(t):
        stage = "repealed"
    elif _REVISE.search(t):
        stage = "revised"
    else:
        stage = "issued"
    return PolicyClass(doc_type, stage)


def _one_issuer(compact: str) -> str:
    if compact in ISSUER_ALIASES:
        return ISSUER_ALIASES[compact]
    # "国家药品监督管理局综合司" → "国家药监局综合司": a department keeps its name under the short parent label.
    for full in sorted(ISSUER_ALIASES, key=len, reverse=True):
        if len(full) >= 6 and compact.startswith(full):
            return ISSUER_ALIASES[full] + compact[len(full):]
    return compact


def canonical_issuer(name: str | None) -> str | None:
    """The short issuer label for a name (aliases of ISSUER_ALIASES mapped), None for blank.

    Joint issuers, which sources separate by blanks or 、 ("中共中央办公厅 国务院办公厅"), come back joined by 、.
    """
    if not name:
        return None
    parts = [p for p in _ISSUER_SEPARATORS.split(unicodedata.normalize("NFKC", name)) if p]
    return "、".join(_one_issuer(p) for p in parts) or None


def issuer_words_in_title(title: str) -> str | None:
    """The words a title opens with before 关于, as printed (blanks squeezed: joint issuers keep one between them),
    or None when the title names no issuer ("国家药监局 国家卫生健康委关于…" → "国家药监局 国家卫生健康委")."""
    squeezed = " ".join(title.split())
    match = _ISSUER_IN_TITLE.match(_compact(title))
    if not match:
        return None
    head = squeezed.split("关于", 1)[0].strip()
    return head or None


def issuer_from_title(title: str) -> str | None:
    """The issuer a title opens with ("国家药监局关于发布…" → 国家药监局), canonical, or None when it names none."""
    match = _ISSUER_IN_TITLE.match(_compact(title))
    return canonical_issuer(match.group("issuer")) if match else None
