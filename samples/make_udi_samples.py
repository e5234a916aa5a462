"""Writes the offline UDI samples (samples/udi/): download.html plus the ZIPs it lists, byte-for-byte reproducibly.

Run `python samples/make_udi_samples.py` after changing the data below; it rewrites the ZIPs and download.html (with
the MD5s, sizes and record counts of the files it just wrote). `make run` serves samples/udi/ as the UDI site, so
the real scraper downloads these files through the real fetch layer.

SAMPLE DATA. The three first class-III AI approvals named by the 2020 blue book (昆仑医云/科亚 深脉分数 FFR, 乐普
AI-ECG, 安德医智 BioMind 天医智) appear under their real company and product names; every certificate number is
synthetic (serial 99xx), as are all other companies (named 样例…/Sample…), DIs, credit codes and dates.
Tag names are the UDI database's; the parser relies only on those listed in SOURCES.md §1.

What the files exercise: the daily ZIP holds an XML part and a nested ZIP with the second part, a certificate whose
DIs are spread over both parts, a DI in two versions (the higher must win), a row without a certificate number, a
row with an unreadable one, a control character that is not legal XML, class-II registrations and filings (备案)
that the default scope leaves out, and nine class-III AI software products plus non-AI class-III devices.
The functions `device_xml`, `udid_document` and `write_zip` are reused by tests and bench/udi_ingest.py.
"""
from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parent / "udi"

# Top-level tags of a UDI <device>, in the order the database writes them; nested lists follow.
TAGS = ("deviceRecordKey", "zxxsdycpbs", "zxxsdyzsydydsl", "sydycpbs", "cpbsbmtxmc", "sfyzcbayz", "zczbhhzbapzbh",
        "cpmctymc", "spmc", "ggxh", "sfwblztlcp", "cpms", "cphhhbh", "qxlb", "yflbm", "flbm", "ylqxzcrbarmc",
        "ylqxzcrbarywmc", "tyshxydm", "sfbjwycxsy", "zdcfsycs", "sfwwjbz", "syqsfxyjxmj", "mjfs", "qtxxdwzlj", "ybbm",
        "cpbsfbrq", "tsrq", "scbssfbhph", "scbssfbhxlh", "scbssfbhscrq", "scbssfbhsxrq", "tscchcztj", "tsccsm",
        "versionNumber", "versionTime", "versionStauts")
DEFAULTS = {"zxxsdyzsydydsl": "1", "cpbsbmtxmc": "GS1", "sfyzcbayz": "是", "sfwblztlcp": "否", "qxlb": "器械",
            "sfbjwycxsy": "否", "zdcfsycs": "0", "sfwwjbz": "否", "syqsfxyjxmj": "否", "scbssfbhph": "否",
            "scbssfbhxlh": "是", "scbssfbhscrq": "否", "scbssfbhsxrq": "否", "versionNumber": "1",
            "versionStauts": "新增"}
FIXED_ZIP_TIME = (2026, 11, 20, 6, 0, 0)


def gtin14(serial: int, prefix: str = "0697") -> str:
    """A synthetic GS1 GTIN-14 (valid check digit) from a running number; 0697… is not a real company prefix."""
    body = f"{prefix}{serial:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def device_xml(fields: dict[str, str | None], *, contact: str = "400-000-0000") -> str:
    """One `<device>` element with every top-level tag (empty when not given) and the four nested lists."""
    values = {**DEFAULTS, **fields}
    lines = ["<device>"]
    for tag in TAGS:
        value = values.get(tag)
        lines.append(f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag}/>")
    di = values.get("zxxsdycpbs") or ""
    lines += [
        f"<contactList><contactInfo><qylxrcz/><qylxryx>udi@example.invalid</qylxryx><qylxrdh>{contact}</qylxrdh>"
        "</contactInfo></contactList>",
        f"<packingList><packingInfo><bzcpbs>{escape(di)}</bzcpbs><bznhxyjbzcpbs>{escape(di)}</bznhxyjbzcpbs>"
        "<bznhxyjcpbssl>1</bznhxyjcpbssl><cpbzjb>盒</cpbzjb></packingInfo></packingList>",
        "<storageList><storageInfo><cchcztj>常温</cchcztj><zdz>-20</zdz><zgz>55</zgz><jldw>℃</jldw></storageInfo>"
        "</storageList>",
        "<clinicalList/>",
        "</device>",
    ]
    return "\n".join(lines)


def udid_document(devices: list[str]) -> bytes:
    """A whole UDI XML part around already rendered `<device>` elements, UTF-8 encoded."""
    body = "\n".join(devices)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<udid version="1.0">\n<devices>\n{body}\n</devices>\n</udid>\n' \
        .encode("utf-8")


def write_zip(target: Path | None, members: list[tuple[str, bytes]]) -> bytes:
    """A deflated ZIP of (name, bytes) members with fixed timestamps and attributes; written to `target` if given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    content = buf.getvalue()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return content


# --- the certificates -----------------------------------------------------------------------------------------------
# key: (cert number, product name, brand, registrant, registrant_en, credit code, flbm, description)
AI = "人工智能"
CERTS = {
    "ffr": ("国械注准20203219901", "冠脉血流储备分数计算软件", "深脉分数", "北京昆仑医云科技有限公司",
            None, "91110108SAMPLE0001", "21-02",
            "该产品由软件安装光盘组成。基于冠状动脉CT血管造影图像，采用深度学习算法计算冠脉血流储备分数（CT-FFR）。"),
    "ecg": ("国械注准20203219902", "心电图分析软件", "AI-ECG Platform", "乐普(北京)医疗器械股份有限公司",
            "Lepu Medical Technology (Beijing) Co., Ltd.", "91110000SAMPLE0002", "21-04",
            "该产品由分析软件组成，采用人工智能算法对静态心电图进行自动分析，辅助医生识别心律失常。"),
    "brain": ("国械注准20203219903", "颅内肿瘤磁共振影像辅助诊断软件", "天医智 BioMind", "北京安德医智科技有限公司",
              None, "91110108SAMPLE0003", "21-04",
              "该产品基于深度学习技术，对头颅磁共振影像中的颅内肿瘤进行检测与分类，供经培训的医师辅助诊断使用。"),
    "nodule": ("国械注准20213219904", "肺结节CT影像辅助检测软件", "影智肺结节", "样例影智医疗科技有限公司",
               "Sample Yingzhi Medical Technology Co., Ltd.", "91310000SAMPLE0004", "21-04",
               "该产品采用深度学习算法，对胸部CT影像中的疑似肺结节进行自动识别与标注，供医生参考。"),
    "fundus": ("国械注准20223219905", "糖尿病视网膜病变眼底图像辅助诊断软件", "明眸", "样例明眸智能科技有限公司",
               "Sample Mingmou AI Co., Ltd.", "91440300SAMPLE0005", "21-04",
               "该产品基于人工智能算法，对眼底彩色照相图像进行分析，\x0b提示是否存在中度及以上非增殖期糖尿病视网膜病变。"),
    "fracture": ("国械注准20223219906", "骨折X射线图像辅助检测软件", "骨智", "样例骨智科技有限公司",
                 "Sample Guzhi Technology Co., Ltd.", "91330100SAMPLE0006", "21-04",
                 "该产品采用深度学习算法，对四肢X射线图像中的疑似骨折区域进行识别与提示。"),
    "pneumonia": ("国械注准20213219907", "肺炎CT影像辅助分诊与评估软件", "影智肺炎", "样例影智医疗科技有限公司",
                  "Sample Yingzhi Medical Technology Co., Ltd.", "91310000SAMPLE0004", "21-04",
                  "该产品对胸部CT影像进行肺炎病灶分割与定量评估，辅助医生进行分诊。"),
    "ccta": ("国械注准20233219908", "冠状动脉CT血管造影图像血管狭窄辅助分诊软件", "心影", "样例心影智能医疗科技有限公司",
             "Sample Xinying AI Medical Co., Ltd.", "91110105SAMPLE0008", "21-04",
             "该产品采用深度学习算法，对冠状动脉CTA图像中的血管狭窄进行检测，辅助分诊。"),
    "mammo": ("国械注进20233219909", "乳腺X射线图像计算机辅助检测软件", "SampleMammo AI", "Sample Imaging AI, Inc.",
              "Sample Imaging AI, Inc.", None, "21-04",
              "The software uses a deep learning algorithm to mark suspicious lesions on mammograms. 人工智能辅助检测。"),
    "stent": ("国械注准20193139910", "药物洗脱冠状动脉支架系统", "样例心脉", "样例心脉医疗器械有限公司",
              "Sample Xinmai Medical Devices Co., Ltd.", "91310115SAMPLE0010", "13-06",
              "该产品由支架和输送系统组成，支架表面涂覆药物涂层，用于改善冠状动脉缺血性心脏病患者的管腔直径。"),
    "pacemaker": ("国械注进20183129911", "植入式心脏起搏器", "SampleRhythm", "Sample Cardio Systems GmbH",
                  "Sample Cardio Systems GmbH", None, "12-01", "植入式双腔心脏起搏器，由脉冲发生器组成。"),
    "iol": ("国械注许20203169912", "人工晶状体", "样例视清", "样例视光(香港)有限公司",
            "Sample Optics (Hong Kong) Limited", None, "16-06", "一件式疏水性丙烯酸酯非球面人工晶状体。"),
    "hip": ("国械注准20173139913", "髋关节假体", "样例骨科", "样例骨科器械有限公司",
            "Sample Orthopaedics Co., Ltd.", "91320500SAMPLE0013", "13-09", "由股骨柄、股骨头、髋臼杯和内衬组成。"),
    # out of scope by default: class II registrations and class I filings
    "imaging2": ("京械注准20222219914", "医学影像处理软件", "样例云影", "样例云影科技有限公司",
                 "Sample Yunying Technology Co., Ltd.", "91110108SAMPLE0014", "21-02", "用于医学影像的显示、测量与传输。"),
    "ecgcart": ("国械注进20222079915", "心电图机", "SampleECG", "Sample Diagnostics Ltd.", "Sample Diagnostics Ltd.",
                None, "07-03", "十二导联心电图机。"),
    "thermo": ("粤械注准20232079916", "医用电子体温计", "样例体温", "样例健康电子有限公司",
               "Sample Health Electronics Co., Ltd.", "91440300SAMPLE0016", "07-03", "腋下测温电子体温计。"),
    "gloves": ("京海械备20239917", "医用检查手套", "样例护手", "样例卫材有限公司", "Sample Hygiene Co., Ltd.",
               "91110108SAMPLE0017", "14-13", "一次性使用非灭菌检查手套。"),
    "film": ("国械备20239918", "医用X射线胶片", "SampleFilm", "Sample Film Co., Ltd.", "Sample Film Co., Ltd.",
             None, "06-17", "医用干式X射线胶片。"),
}

_dis: dict[tuple[str, str, str | None], str] = {}  # reset by build(), so every build numbers the DIs the same way


def row(cert_key: str, model: str, published: str, *, di: str | None = None, version: int = 1,
        version_time: str = "2026-11-20", status: str = "新增", withdrawn: str | None = None,
        cert_override: str | None = None, record_key: str | None = None) -> str:
    """A device row of certificate `cert_key`; one model of one certificate keeps its DI across files."""
    cert, name, brand, company, company_en, credit, flbm, desc = CERTS[cert_key]
    di = di or _dis.setdefault((cert_key, model, cert_override), gtin14(len(_dis) + 1))
    return device_xml({
        "deviceRecordKey": record_key or f"SAMPLE-{di}", "zxxsdycpbs": di,
        "zczbhhzbapzbh": cert if cert_override is None else cert_override, "cpmctymc": name, "spmc": brand,
        "ggxh": model, "cpms": desc, "cphhhbh": model, "flbm": flbm, "ylqxzcrbarmc": company,
        "ylqxzcrbarywmc": company_en, "tyshxydm": credit, "cpbsfbrq": published, "tsrq": withdrawn,
        "versionNumber": str(version), "versionTime": version_time, "versionStauts": status,
    })


def build() -> dict[str, bytes]:
    """All sample files, name → bytes (download.html last, since it lists the others' MD5s)."""
    _dis.clear()
    nodule_di = gtin14(9001)
    daily_part1 = udid_document([
        row("ffr", "V1.0 单机版", "2020-06-12"),
        row("ffr", "V1.0 网络版", "2020-06-12"),
        row("ecg", "V1.0", "2020-06-20"),
        row("ecg", "V1.1", "2021-03-02"),
        row("brain", "V1.0", "2020-06-28"),
        row("brain", "V1.0 服务器版", "2020-06-28"),
        row("brain", "V1.0 工作站版", "2020-07-15"),
        row("nodule", "V1.0", "2021-05-10", di=nodule_di, version=1, version_time="2021-05-10"),
        row("nodule", "V2.0 网络版", "2021-05-10"),
        row("fundus", "V1", "2022-08-01"),
        row("fundus", "V1 网络版", "2022-08-01"),
        row("fracture", "V1.0", "2022-09-09"),
        row("fracture", "V1.0 院内部署版", "2022-09-09"),
        row("imaging2", "V3.0", "2022-04-01"),
        row("imaging2", "V3.1", "2022-04-01"),
        row("gloves", "S", "2023-02-01"),
        row("gloves", "M", "2023-02-01"),
        row("ffr", "V1.0", "2020-06-12", cert_override=""),  # malformed: no certificate number
    ])
    daily_part2 = udid_document([
        row("ffr", "V1.2 云端版", "2021-01-18"),  # same certificate as in part 1: DIs are grouped across parts
        row("nodule", "V2.0", "2021-05-10", di=nodule_di, version=2, version_time="2026-11-20", status="变更"),
        row("pneumonia", "V1.0", "2021-12-01"),
        row("pneumonia", "V1.0 网络版", "2021-12-01"),
        row("ccta", "V1", "2023-03-15"),
        row("ccta", "V1 网络版", "2023-03-15"),
        row("mammo", "1.2", "2023-06-01"),
        row("mammo", "1.3", "2024-02-01"),
        row("stent", "2.5×18mm", "2019-10-10"),
        row("stent", "3.0×24mm", "2019-10-10", withdrawn="2025-12-31"),
        row("stent", "3.5×30mm", "2019-10-10"),
        row("thermo", "T1", "2023-07-07"),
        row("ecgcart", "ECG-1200", "2022-05-05"),
        row("film", "35cm×43cm", "2023-01-01"),
        row("brain", "V1.0", "2020-06-28", cert_override="注册证编号待补充"),  # malformed: unreadable number
    ])
    day_prev = udid_document([
        row("fracture", "V1.1", "2026-11-19", version_time="2026-11-19"),
        row("thermo", "T2", "2026-11-19", version_time="2026-11-19"),
        row("gloves", "L", "2026-11-19", version_time="2026-11-19"),
    ])
    weekly_a = udid_document([
        row("pacemaker", "SR-100", "2018-09-01", version_time="2026-11-10"),
        row("pacemaker", "DR-200", "2018-09-01", version_time="2026-11-10"),
        row("iol", "SV-1", "2020-11-11", version_time="2026-11-10"),
        row("iol", "SV-2", "2020-11-11", version_time="2026-11-10"),
        row("imaging2", "V2.9", "2022-04-01", version_time="2026-11-10"),
    ])
    weekly_b = udid_document([
        row("hip", "A型", "2017-08-08", withdrawn="2026-06-30", version_time="2026-11-13"),
        row("hip", "B型", "2017-08-08", withdrawn="2026-06-30", version_time="2026-11-13"),
        row("ecg", "V1.2", "2026-11-13", version_time="2026-11-13"),
        row("gloves", "XL", "2023-02-01", version_time="2026-11-13"),
    ])
    full_1 = udid_document([
        row("ffr", "V1.0 单机版", "2020-06-12", version_time="2026-11-01"),
        row("ecg", "V1.0", "2020-06-20", version_time="2026-11-01"),
        row("brain", "V1.0", "2020-06-28", version_time="2026-11-01"),
        row("stent", "2.5×18mm", "2019-10-10", version_time="2026-11-01"),
        row("imaging2", "V3.0", "2022-04-01", version_time="2026-11-01"),
    ])
    full_2 = udid_document([
        row("iol", "SV-1", "2020-11-11", version_time="2026-11-01"),
        row("hip", "A型", "2017-08-08", version_time="2026-11-01"),
        row("film", "35cm×43cm", "2023-01-01", version_time="2026-11-01"),
        row("gloves", "S", "2023-02-01", version_time="2026-11-01"),
    ])
    # A control character that is not legal XML, as real parts sometimes carry; the reader removes and counts it.
    assert b"\x0b" in daily_part1

    inner = write_zip(None, [("UDID_INCREMENTAL_DOWNLOAD_PART2_Of_2_2026-11-20.xml", daily_part2)])
    files = {
        "attachments/UDID_FULL_RELEASE_20261101.zip": write_zip(None, [
            ("UDID_FULL_DOWNLOAD_PART1_Of_2_2026-11-01.xml", full_1),
            ("UDID_FULL_DOWNLOAD_PART2_Of_2_2026-11-01.xml", full_2)]),
        "attachments/UDID_WEEKLY_UPDATE_20261109_20261115.zip": write_zip(None, [
            ("UDID_INCREMENTAL_DOWNLOAD_PART1_Of_1_2026-11-10.xml", weekly_a),
            ("UDID_INCREMENTAL_DOWNLOAD_PART1_Of_1_2026-11-13.xml", weekly_b)]),
        "attachments/UDID_DAY_UPDATE_20261119.zip": write_zip(None, [
            ("UDID_INCREMENTAL_DOWNLOAD_PART1_Of_1_2026-11-19.xml", day_prev)]),
        "attachments/UDID_DAY_UPDATE_20261120.zip": write_zip(None, [
            ("UDID_INCREMENTAL_DOWNLOAD_PART1_Of_2_2026-11-20.xml", daily_part1),
            ("UDID_INCREMENTAL_DOWNLOAD_PART2_Of_2_2026-11-20.zip", inner)]),
    }
    counts = {
        "attachments/UDID_FULL_RELEASE_20261101.zip": _rows(full_1, full_2),
        "attachments/UDID_WEEKLY_UPDATE_20261109_20261115.zip": _rows(weekly_a, weekly_b),
        "attachments/UDID_DAY_UPDATE_20261119.zip": _rows(day_prev),
        "attachments/UDID_DAY_UPDATE_20261120.zip": _rows(daily_part1, daily_part2),
    }
    created = {"attachments/UDID_FULL_RELEASE_20261101.zip": "2026-11-01",
               "attachments/UDID_WEEKLY_UPDATE_20261109_20261115.zip": "2026-11-16",
               "attachments/UDID_DAY_UPDATE_20261119.zip": "2026-11-19",
               "attachments/UDID_DAY_UPDATE_20261120.zip": "2026-11-20"}
    newest_first = ["attachments/UDID_DAY_UPDATE_20261120.zip", "attachments/UDID_DAY_UPDATE_20261119.zip",
                    "attachments/UDID_WEEKLY_UPDATE_20261109_20261115.zip",
                    "attachments/UDID_FULL_RELEASE_20261101.zip"]
    blocks = [_block(path, files[path], created[path], counts[path]) for path in newest_first]
    files["download.html"] = LISTING.format(blocks="\n".join(blocks)).encode("utf-8")
    return files


def _rows(*docs: bytes) -> int:
    return sum(doc.count(b"<device>") for doc in docs)


def _block(path: str, content: bytes, created: str, count: int) -> str:
    name = path.rsplit("/", 1)[-1]
    size = f"{len(content) / 1024:.1f} KB"
    md5 = hashlib.md5(content).hexdigest()
    return (f'      <div class="els-down-con-info">\n'
            f'        <a href="{path}" download="{name}">{name}</a>\n'
            f'        <div class="els-down-con-info-file"><span>创建时间：</span><span>{created}</span>'
            f'<span>记录数：</span><span>{count}</span><span>文件大小：</span><span>{size}</span></div>\n'
            f'        <div class="els-down-con-info-md5"><span>MD5：</span><span>{md5}</span></div>\n'
            f'      </div>')


LISTING = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>数据下载 - 医疗器械唯一标识数据库（样例数据）</title>
</head>
<body>
  <div class="sample-banner">样例数据 / SAMPLE DATA: synthetic files for offline runs of the tracker, not NMPA data.</div>
  <div class="els-down">
    <h3>数据下载</h3>
    <div class="els-down-con">
{blocks}
    </div>
  </div>
</body>
</html>
"""


def main(argv: list[str]) -> int:
    """Write every sample file below samples/udi/ (or the directory given as the only argument)."""
    out = Path(argv[1]) if len(argv) > 1 else OUT
    for name, content in build().items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        print(f"{target}  {len(content)} bytes  md5 {hashlib.md5(content).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
