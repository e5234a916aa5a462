"""Write the sample attachments of the AI device guidance: the draft for comment (征求意见稿, DOCX) and the final
text (PDF), laid out as the real documents are (title, chapters 第X章, articles 第X条, numbered items).

    .venv/bin/python samples/make_guidance_attachments.py

The texts are written by the project (a short paraphrase of the guideline's structure, marked 样例), not the
published wording. Between draft and final, articles are changed, one is removed, one moved and one added
(数据漂移监测 appears only in the final's PDF), so `make run` shows every kind of change in the comparison view
and a search for 数据漂移监测 finds the PDF. The output is committed; run this again only after changing the text.
Needs fpdf2 (a dev dependency), python-docx and the Noto CJK font of Debian's fonts-noto-cjk.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import docx
from fpdf import FPDF

OUT = Path(__file__).resolve().parent / "nmpa_notices" / "directory" / "web" / "nmpa" / "images"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FIXED_DATE = datetime(2022, 3, 9, tzinfo=timezone.utc)  # same bytes on every run

TITLE = "人工智能医疗器械注册审查指导原则"
NOTE = "（样例：本项目编写的示意文本，非官方原文）"

# (chapter, [(article key, text)]); the key only lines the two versions up for this script.
DRAFT: list[tuple[str, list[tuple[str, str]]]] = [
    ("第一章 总则", [
        ("purpose", "为指导注册申请人规范人工智能医疗器械的注册申报，同时为技术审评部门提供参考，制定本指导原则。"),
        ("scope", "本指导原则适用于基于深度学习技术的人工智能医疗器械软件的注册申报，包括独立软件和软件组件。"),
        ("principle", "人工智能医疗器械应当基于风险开展全生命周期质量控制，确保产品安全有效。"),
    ]),
    ("第二章 基本要求", [
        ("data", "数据采集应当考虑数据来源的合规性和多样性，训练集、调优集、测试集应当相互独立。"
                 "（一）数据来源应当明确；（二）数据标注应当有质量控制；（三）数据集应当有代表性。"),
        ("algorithm", "算法设计应当考虑算法选用、算法训练、算法性能评估等活动，并明确算法的可解释性。"),
        ("cybersecurity", "网络安全应当符合医疗器械网络安全注册审查指导原则的要求。"),
        ("risk", "风险管理应当覆盖数据质量、算法泛化能力和使用错误等风险，并在说明书中提示。"),
    ]),
    ("第三章 验证与确认", [
        ("validation", "算法性能评估应当使用测试集，评价指标包括灵敏度、特异度、受试者工作特征曲线等。"),
        ("clinical", "临床评价可采用同品种比对或临床试验路径，临床试验应当符合相关规定。"),
        ("update", "软件更新应当评估对安全有效性的影响，重大软件更新应当申请变更注册。"),
    ]),
    ("第四章 注册申报资料", [
        ("documents", "注册申报资料应当包括软件研究资料、算法研究资料、用户界面研究资料和临床评价资料。"),
        ("instructions", "说明书应当明确软件的预期用途、使用限制、算法性能和注意事项。"),
    ]),
]

FINAL: list[tuple[str, list[tuple[str, str]]]] = [
    ("第一章 总则", [
        ("purpose", "为指导注册申请人规范人工智能医疗器械的注册申报，同时为技术审评部门提供参考，制定本指导原则。"),
        ("scope", "本指导原则适用于人工智能医疗器械的注册申报，包括人工智能独立软件和人工智能软件组件，"
                  "其他人工智能医疗器械可参照执行。"),
        ("principle", "人工智能医疗器械应当基于风险开展全生命周期质量控制，确保产品安全有效。"),
        ("risk", "风险管理应当覆盖数据质量、算法泛化能力和使用错误等风险，并在说明书中提示。"),
    ]),
    ("第二章 基本要求", [
        ("data", "数据采集应当考虑数据来源的合规性和多样性，训练集、调优集、测试集应当相互独立，"
                 "测试集应当为第三方数据库或多中心数据。"
                 "（一）数据来源应当明确；（二）数据标注应当有质量控制；（三）数据集应当有代表性；（四）数据预处理应当记录。"),
        ("algorithm", "算法设计应当考虑算法选用、算法训练、算法性能评估等活动，并明确算法的可解释性。"),
        ("cybersecurity", "网络安全与数据安全应当符合医疗器械网络安全注册审查指导原则的要求。"),
    ]),
    ("第三章 验证与确认", [
        ("validation", "算法性能评估应当使用测试集，评价指标包括灵敏度、特异度、受试者工作特征曲线等。"),
        ("clinical", "临床评价可采用同品种比对或临床试验路径，临床试验应当符合相关规定。"),
        ("drift", "上市后应当开展数据漂移监测，当真实世界数据分布与训练数据分布出现显著差异时，"
                  "注册人应当评估算法性能并采取纠正措施。"),
        ("update", "软件更新应当评估对安全有效性的影响，重大软件更新应当申请变更注册。"),
    ]),
    ("第四章 注册申报资料", [
        ("documents", "注册申报资料应当包括软件研究资料、算法研究资料、用户界面研究资料和临床评价资料。"),
    ]),
]

NUMERALS = "一二三四五六七八九十"


def numeral(n: int) -> str:
    """Chinese numeral of 1..999 (第十一条, 第二十条, 第一百零五条)."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    if hundreds:
        head = NUMERALS[hundreds - 1] + "百"
        if rest == 0:
            return head
        return head + ("零" + NUMERALS[ones - 1] if tens == 0 else NUMERALS[tens - 1] + "十" +
                       ("" if ones == 0 else NUMERALS[ones - 1]))
    head = "" if tens == 0 else ("十" if tens == 1 else NUMERALS[tens - 1] + "十")
    return head + ("" if ones == 0 else NUMERALS[ones - 1])


def lines(structure, draft: bool) -> list[tuple[str, str]]:
    """(style, text) lines of a version: title, note, chapters as headings, numbered articles as paragraphs."""
    out = [("title", TITLE + ("（征求意见稿）" if draft else "")), ("note", NOTE)]
    number = 0
    for chapter, articles in structure:
        out.append(("heading", chapter))
        for _key, text in articles:
            number += 1
            out.append(("article", f"第{numeral(number)}条 {text}"))
    return out


def write_docx(path: Path, structure, draft: bool) -> None:
    """The version as Word: Title and Heading 1 styles, one paragraph per article."""
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED_DATE.replace(tzinfo=None)
    for style, text in lines(structure, draft):
        if style == "title":
            document.add_heading(text, level=0)
        elif style == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    document.save(path)


def write_pdf(path: Path, structure, draft: bool) -> None:
    """The version as a PDF with a text layer (Noto Sans CJK embedded), A4, several pages."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_font("noto", fname=str(FONT), collection_font_number=2)  # 2: the SC (simplified Chinese) face
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    for style, text in lines(structure, draft):
        if style == "title":
            pdf.set_font("noto", size=18)
            pdf.multi_cell(0, 12, text, align="C", wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        elif style == "note":
            pdf.set_font("noto", size=10)
            pdf.multi_cell(0, 8, text, align="C", wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        elif style == "heading":
            pdf.set_font("noto", size=15)
            pdf.ln(4)
            pdf.multi_cell(0, 10, text, wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("noto", size=14)
            # Long articles and big type: the final runs to several pages, as the real one does.
            pdf.multi_cell(0, 11, text, wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def main() -> None:
    """Write the draft (DOCX and PDF) and the final (PDF) under samples/nmpa_notices/."""
    OUT.mkdir(parents=True, exist_ok=True)
    write_docx(OUT / "sample-2021-ai-device-guidance-draft.docx", DRAFT, draft=True)
    write_pdf(OUT / "sample-2022-8-ai-device-guidance.pdf", FINAL, draft=False)
    for path in sorted(OUT.iterdir()):
        print(path.relative_to(OUT.parents[3]), path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
