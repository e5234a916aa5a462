"""Synthetic but realistic store for the web benchmark: N class-III certificates and M policies, written through
the real write path (`tracker.ingest.write.write_records`: upserts, revisions, provenance, classification, tags, links).

    .venv/bin/python bench/web_seed.py [--devices 100000] [--policies 10000]

Product names follow NMPA naming practice: AI software is `<target><modality>影像辅助<function>软件` and variants
(肺结节CT影像辅助检测软件), about 12 % of the certificates; the rest are ordinary class-III products (冠状动脉药物洗脱
支架系统, 人工髋关节假体, 一次性使用无菌注射器 …) with a material or variant word. Registrants, certificate numbers
(serial 9xxx: 国械注准20233219001), UDI-DIs (prefix 0699) and URLs (*.bench.invalid) are synthetic. Policies mix the
ten document types of TAXONOMY.md §4 in roughly the proportions the NMPA, CMDE, NHC and State Council sites show
(notices and guidance most, laws fewest); about 0.5 % concern AI (about 50 of 10,000, the order of what
the real sources hold).

The database is cached as bench/out/web_<devices>_<policies>_v<SEED_VERSION>.sqlite3: bump SEED_VERSION when the
generator or what the write path stores changes (classification, links); a schema change is migrated in place. `ensure_store` builds it once (into a temporary name, renamed when complete).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from sqlalchemy import func, select, text  # noqa: E402

from tracker.ingest.write import write_records  # noqa: E402
from tracker.records import DeviceRecord, PolicyRecord  # noqa: E402
from tracker.store.engine import make_engine, make_session_factory  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402
from tracker.store.models import Device, Policy, PolicyDevice, Revision, Tag  # noqa: E402
from tracker.store.write import WriteContext, record_document  # noqa: E402

SEED_VERSION = 4
DEVICE_BATCH = 5000  # one write_records call (one "source document") per batch, as a UDI part would be
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc)

# ------------------------------------------------------------------------------------------------ AI software
# (modality word, catalogue code, targets that make sense with it)
AI_MODALITIES = (
    ("CT", "21-04-02", ("肺结节", "肺炎", "新冠肺炎", "肋骨骨折", "颅内出血", "脑卒中", "冠脉狭窄", "肝脏肿瘤", "肺癌",
                        "主动脉夹层", "肺栓塞", "胸部", "头颅", "颅内肿瘤")),
    ("磁共振", "21-04-02", ("脑卒中", "颅内肿瘤", "前列腺癌", "乳腺癌", "膝关节", "脑白质病变", "肝脏肿瘤")),
    ("X射线", "21-04-02", ("骨折", "骨龄", "肺结核", "肺炎", "气胸", "脊柱侧弯", "胸部")),
    ("乳腺X射线", "21-04-02", ("乳腺癌", "乳腺钙化", "乳腺肿块")),
    ("超声", "21-04-02", ("甲状腺结节", "乳腺结节", "肝脏肿瘤", "胎儿", "颈动脉斑块")),
    ("眼底", "21-04-01", ("糖尿病视网膜病变", "青光眼", "黄斑变性", "视网膜病变")),
    ("数字病理", "21-04-02", ("宫颈癌", "乳腺癌", "胃癌", "结直肠癌", "肺癌", "淋巴结转移")),
    ("宫颈细胞学", "21-04-02", ("宫颈癌", "宫颈病变")),
    ("内窥镜", "21-04-02", ("肠息肉", "早期胃癌", "食管癌", "结直肠息肉")),
    ("皮肤镜", "21-04-02", ("黑色素瘤", "皮肤病变")),
    ("PET/CT", "21-04-02", ("肺癌", "淋巴瘤", "全身")),
)
AI_FUNCTIONS = ("辅助检测", "辅助诊断", "辅助分诊", "辅助评估", "辅助分诊与评估", "定量分析", "辅助诊断与评估")
AI_TEMPLATES = (
    "{target}{modality}影像{fn}软件",
    "{target}{modality}图像{fn}软件",
    "{modality}{target}{fn}软件",
    "{target}{modality}影像人工智能{fn}软件",
)
AI_OTHER = (  # non-image AI and planning/reconstruction products
    ("冠脉CT血流储备分数计算软件", "21-04-03"), ("心电图自动分析软件", "21-04-03"), ("动态心电图人工智能分析软件", "21-04-03"),
    ("心律失常心电图辅助诊断软件", "21-04-03"), ("脑电图癫痫波辅助检测软件", "21-04-03"), ("放射治疗靶区自动勾画软件", "21-04-02"),
    ("骨科手术规划三维重建软件", "21-04-02"), ("肺部CT三维重建与手术规划软件", "21-04-02"), ("睡眠呼吸监测辅助分析软件", "21-04-03"),
)
AI_DESCRIPTIONS = (
    ("结构及组成：由安装光盘和加密锁组成，功能模块包括图像读取、{target}识别、标注与报告。适用范围：用于{target}的{fn}，"
     "基于深度学习算法，不能单独作为临床诊断依据。"),
    ("结构及组成：软件由客户端和服务器端组成，采用卷积神经网络对{modality}图像进行处理。适用范围：供经培训的医师使用，"
     "对{target}进行{fn}。"),
    ("结构及组成：由算法模块、数据接口模块和结果显示模块组成，算法采用人工智能技术。适用范围：用于成人{modality}影像中"
     "{target}的{fn}。"),
)

# ---------------------------------------------------------------------------------------------------- other class III
# (product stem, certificate category, catalogue code, variant words put before the stem)
PLAIN_PRODUCTS = (
    ("冠状动脉药物洗脱支架系统", "13", "13-06-02", ("雷帕霉素", "依维莫司", "可降解涂层", "钴铬合金", "")),
    ("外周血管支架系统", "13", "13-06-03", ("自膨式", "球囊扩张式", "镍钛合金", "")),
    ("颅内动脉瘤栓塞弹簧圈", "13", "13-06-05", ("可解脱", "电解脱", "")),
    ("人工髋关节假体", "13", "13-03-01", ("陶瓷对陶瓷", "生物型", "骨水泥型", "")),
    ("人工膝关节假体", "13", "13-03-02", ("单髁", "后稳定型", "")),
    ("椎间融合器", "13", "13-04-01", ("聚醚醚酮", "钛合金", "3D打印", "")),
    ("金属接骨板系统", "13", "13-02-01", ("锁定", "钛合金", "")),
    ("人工心脏瓣膜", "13", "13-07-01", ("经导管主动脉", "生物", "机械", "")),
    ("植入式心脏起搏器", "12", "12-01-01", ("双腔", "单腔", "磁共振兼容", "")),
    ("植入式心律转复除颤器", "12", "12-01-02", ("双腔", "皮下", "")),
    ("人工耳蜗植入体", "12", "12-03-01", ("",)),
    ("人工晶状体", "16", "16-06-01", ("非球面", "多焦点", "散光矫正型", "")),
    ("角膜塑形用硬性透气接触镜", "16", "16-06-02", ("",)),
    ("一次性使用无菌注射器", "14", "14-01-01", ("带针", "自毁型", "")),
    ("一次性使用输液器", "14", "14-02-01", ("精密过滤", "避光", "")),
    ("中心静脉导管", "14", "14-03-01", ("抗感染", "多腔", "")),
    ("血液透析器", "10", "10-04-01", ("中空纤维", "高通量", "")),
    ("胰岛素泵", "14", "14-04-02", ("",)),
    ("心脏射频消融导管", "03", "03-13-01", ("压力感知", "冷盐水灌注", "")),
    ("医用电子直线加速器", "05", "05-01-01", ("",)),
    ("质子治疗系统", "05", "05-01-04", ("",)),
    ("体外除颤器", "09", "09-01-01", ("自动", "")),
    ("呼吸机", "08", "08-01-01", ("重症", "转运", "无创", "")),
    ("可吸收止血材料", "14", "14-08-01", ("明胶", "氧化再生纤维素", "")),
    ("交联透明质酸钠凝胶", "13", "13-09-01", ("含利多卡因", "")),
    ("可吸收外科缝线", "02", "02-13-01", ("聚乙醇酸", "倒刺", "")),
    ("乳房植入体", "13", "13-09-02", ("硅凝胶", "")),
    ("血管内超声诊断系统", "06", "06-07-03", ("",)),
    ("磁共振成像系统", "06", "06-09-01", ("超导", "3.0T", "1.5T", "")),
    ("X射线计算机体层摄影设备", "06", "06-03-01", ("64排", "能谱", "")),
)
PLAIN_DESCRIPTIONS = (
    "结构及组成：由{stem}主体及配套输送系统组成，采用医用级材料制造，经环氧乙烷灭菌，一次性使用。适用范围：适用于{use}。",
    "结构及组成：产品由主机、附件及配套软件组成。适用范围：供医疗机构用于{use}。",
    "结构及组成：由植入体及专用工具组成，无菌提供。适用范围：用于{use}。",
)
USES = ("冠状动脉原发病变的治疗", "成人患者的临床治疗", "外科手术中的止血", "关节置换手术", "心律失常患者的治疗",
        "住院患者的生命支持", "肿瘤患者的放射治疗", "血液净化治疗", "白内障摘除术后的视力矫正", "临床诊断成像")

# ---------------------------------------------------------------------------------------------------- registrants
CITIES = ("北京", "上海", "深圳", "杭州", "苏州", "广州", "成都", "武汉", "南京", "天津", "无锡", "常州", "西安", "厦门", "珠海",
          "长沙", "重庆", "青岛", "合肥", "济南")
SYLLABLES = ("康", "瑞", "华", "科", "泰", "联", "迈", "医", "影", "智", "微", "创", "普", "信", "安", "德", "明", "远", "博",
             "锐", "图", "睿", "新", "恒", "元", "鑫", "捷", "达", "晟", "宁")
SUFFIXES = ("医疗科技有限公司", "医疗器械股份有限公司", "生物科技有限公司", "智能科技有限公司", "医学科技有限公司",
            "医疗器械有限公司")
FOREIGN = ("Medical GmbH", "Healthcare Inc.", "Medtech AG", "Surgical Ltd.", "Imaging B.V.", "Vascular Inc.")
FOREIGN_STEMS = ("Alvora", "Brenton", "Celmar", "Dorvik", "Elstra", "Fenwick", "Galdor", "Helmar", "Istra", "Jorvik",
                 "Kelton", "Lumora", "Marvel", "Norden", "Orvia", "Pellin", "Quorra", "Rendal", "Solvik", "Tarvos")


def registrants(rng: random.Random, domestic: int = 3000, foreign: int = 400) -> tuple[list[str], list[str]]:
    """Synthetic registrant names: (domestic companies, foreign companies)."""
    names: set[str] = set()
    while len(names) < domestic:
        names.add(rng.choice(CITIES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(SUFFIXES))
    abroad: set[str] = set()
    while len(abroad) < foreign:
        abroad.add(f"{rng.choice(FOREIGN_STEMS)}{rng.choice(('', 'a', 'is', 'on'))} {rng.choice(FOREIGN)}")
    return sorted(names), sorted(abroad)


class CertNumbers:
    """Unique synthetic certificate numbers, serial 9000-9999 per (origin, year, category)."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, int, str], int] = {}

    def take(self, origin: str, year: int, category: str) -> str | None:
        """A fresh number, or None when that (origin, year, category) is used up."""
        key = (origin, year, category)
        serial = self.next.get(key, 9000)
        if serial > 9999:
            return None
        self.next[key] = serial + 1
        return f"国械注{origin}{year}3{category}{serial:04d}"


def ai_product(rng: random.Random) -> tuple[str, str, str, str, str]:
    """(name, catalogue code, target, modality, function) of an AI software product."""
    if rng.random() < 0.15:
        name, catalogue = rng.choice(AI_OTHER)
        return name, catalogue, name[:4], "", "分析"
    modality, catalogue, targets = rng.choice(AI_MODALITIES)
    target, fn = rng.choice(targets), rng.choice(AI_FUNCTIONS)
    return rng.choice(AI_TEMPLATES).format(target=target, modality=modality, fn=fn), catalogue, target, modality, fn


def plain_product(rng: random.Random) -> tuple[str, str, str, str]:
    """(name, certificate category, catalogue code, stem) of an ordinary class-III product."""
    stem, category, catalogue, variants = rng.choice(PLAIN_PRODUCTS)
    return rng.choice(variants) + stem, category, catalogue, stem


def device_records(n: int, seed: int = 20261124) -> list[DeviceRecord]:
    """N certificate records, about 12 % AI software, the same for the same (n, seed)."""
    rng = random.Random(seed)
    domestic, foreign = registrants(rng)
    certs = CertNumbers()
    out: list[DeviceRecord] = []
    di = 0
    while len(out) < n:
        origin = rng.choices(("准", "进", "许"), (75, 23, 2))[0]
        if rng.random() < 0.12:
            name, catalogue, target, modality, fn = ai_product(rng)
            category, year = "21", rng.randint(2016, 2026)
            description = rng.choice(AI_DESCRIPTIONS).format(target=target, modality=modality or "医学", fn=fn)
            spec = f"V{rng.randint(1, 4)}.{rng.randint(0, 9)}"
        else:
            name, category, catalogue, stem = plain_product(rng)
            year = rng.randint(2014, 2026)
            description = rng.choice(PLAIN_DESCRIPTIONS).format(stem=stem, use=rng.choice(USES))
            spec = "、".join(f"{rng.choice('ABCDEFGHKMPRSTX')}{rng.randint(10, 999)}" for _ in range(rng.randint(1, 4)))
        cert = certs.take(origin, year, category)
        if cert is None:
            continue
        registrant = rng.choice(foreign if origin == "进" else domestic)
        issued = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
        if rng.random() < 0.3:  # renewed certificates: issued again five years on, same number
            issued = issued + timedelta(days=5 * 365)
        dis = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            di += 1
            dis.append(f"0699{di:010d}")
        out.append(DeviceRecord(
            cert_no=cert, product_name=name, registrant=registrant,
            registrant_en=registrant if origin == "进" else None, mgmt_class=3, catalogue_code=catalogue,
            model_spec=spec, description=description, issued_on=min(issued, date(2026, 11, 20)),
            udi_di=tuple(dis), source_url=f"https://udi.bench.invalid/device/{len(out)}",
        ))
    return out


# ---------------------------------------------------------------------------------------------------- policies
TOPICS_AI = ("人工智能医疗器械注册审查", "人工智能辅助诊断技术临床应用管理", "卫生健康行业人工智能应用场景", "医疗器械软件注册审查",
             "深度学习辅助决策医疗器械软件审评", "人工智能医用软件产品分类界定", "医疗人工智能数据安全管理",
             "智慧医院建设与人工智能应用", "医疗健康大模型应用管理")
TOPICS = ("医疗器械注册与备案管理", "医疗器械临床试验质量管理", "医疗器械唯一标识系统实施", "医疗器械生产质量管理规范",
          "医疗器械不良事件监测", "医疗器械网络销售监督管理", "创新医疗器械特别审查", "医疗器械分类目录调整",
          "公立医院高质量发展", "互联网诊疗监管", "远程医疗服务管理", "医疗机构病历管理", "药品集中带量采购",
          "医保支付方式改革", "基层医疗卫生服务能力提升", "传染病监测预警", "医疗器械标准管理", "医用耗材集中采购",
          "医疗器械注册自检管理", "医疗器械说明书和标签管理", "医疗器械召回管理", "医疗器械经营质量管理",
          "医疗器械检验机构资质认定", "进口医疗器械注册管理", "医疗器械应急审批", "临床急需医疗器械附条件批准")
ISSUERS = ("国家药监局", "器审中心", "国家卫健委", "国务院办公厅", "国家医保局", "工信部", "科技部", "发改委")
# (doc type, weight, title templates); weights follow what the listing pages of the sources roughly show
POLICY_KINDS = (
    ("公告通告", 33, ("{issuer}关于发布{topic}有关事项的公告（{year}年第{n}号）", "{issuer}关于{topic}有关工作的通告（{year}年第{n}号）")),
    ("规范性文件", 20, ("关于印发{topic}工作方案的通知（{year}-{n}）", "{issuer}关于加强{topic}工作的通知（{year}-{n}）")),
    ("征求意见稿", 12, ("关于公开征求《{topic}规定（征求意见稿）》意见的通知（{year}-{n}）",)),
    ("政策解读", 10, ("《{topic}规定》政策解读（{year}-{n}）", "一图读懂{topic}（{year}-{n}）")),
    ("标准", 10, ("YY/T {n}—{year}《{product}通用技术要求》",)),
    ("指导原则", 5, ("{product}注册审查指导原则（{year}年修订版）", "{product}临床评价注册审查指导原则（{year}年第{n}号）")),
    ("审评要点", 2, ("{product}技术审评要点（{year}年第{n}号）",)),
    ("部门规章", 3, ("{topic}办法（{year}年第{n}号令）",)),
    ("发展规划", 3, ("“十四五”{topic}发展规划（{year}-{n}）",)),
    ("法律法规", 2, ("医疗器械监督管理条例（{year}年修订第{n}次）",)),
)
STAGE_OF = {"征求意见稿": "draft", "政策解读": "issued"}


def policy_records(n: int, seed: int = 20261125) -> list[PolicyRecord]:
    """N policy records (about 0.5 % about AI), each with its own URL and document number."""
    rng = random.Random(seed)
    kinds, weights = zip(*((k, w) for k, w, _ in POLICY_KINDS), strict=True)
    templates = {k: t for k, _, t in POLICY_KINDS}
    out: list[PolicyRecord] = []
    for i in range(n):
        doc_type = rng.choices(kinds, weights)[0]
        ai = rng.random() < 0.005
        year = rng.randint(2015, 2026)
        issuer = "器审中心" if doc_type in ("指导原则", "审评要点") else rng.choice(ISSUERS)
        topic = rng.choice(TOPICS_AI if ai else TOPICS)
        product = (ai_product(rng) if ai else plain_product(rng))[0]
        title = rng.choice(templates[doc_type]).format(issuer=issuer, topic=topic, product=product, year=year,
                                                       n=1000 + i)
        published = date(year, 1, 1) + timedelta(days=rng.randint(0, 330))
        body = (f"为贯彻落实{topic}有关要求，{issuer}组织制定了本文件。"
                + ("本文件适用于采用人工智能技术的医疗器械软件。" if ai else "本文件适用于相关医疗器械及医疗机构。"))
        out.append(PolicyRecord(
            title=title, url=f"https://policy.bench.invalid/{year}/{i}.html", issuer=issuer,
            doc_no=f"{issuer}〔{year}〕{9000 + i}号", doc_type=doc_type, stage=STAGE_OF.get(doc_type, "issued"),
            published_on=published, summary=body[:60], body=body,
        ))
    return out


# ---------------------------------------------------------------------------------------------------- the store

def store_path(devices: int, policies: int) -> Path:
    """Where the seeded SQLite file for these sizes is cached."""
    return OUT / f"web_{devices}_{policies}_v{SEED_VERSION}.sqlite3"


def _document(session, source: str, url: str, now: datetime) -> int:
    return record_document(session, source=source, url=url, fetched_at=now,
                           sha256=hashlib.sha256(url.encode()).hexdigest(), size=1, http_status=200,
                           content_type="application/zip")


def seed(url: str, devices: int, policies: int, log=print) -> dict[str, float]:
    """Migrate `url` (SQLite or PostgreSQL) and fill it through `write_records`; returns seconds per phase."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    t = time.perf_counter()
    records = device_records(devices)
    policy_list = policy_records(policies)
    timings["generate"] = time.perf_counter() - t
    t = time.perf_counter()
    for start in range(0, len(records), DEVICE_BATCH):
        now = T0 + timedelta(minutes=start // DEVICE_BATCH)
        with sessions.begin() as session:
            doc = _document(session, "bench", f"https://udi.bench.invalid/part/{start // DEVICE_BATCH}.zip", now)
            write_records(session, records[start:start + DEVICE_BATCH],
                          WriteContext(source="bench", now=now, document_id=doc))
        log(f"  devices {min(start + DEVICE_BATCH, len(records)):>7,} / {len(records):,}  "
            f"{time.perf_counter() - t:6.1f} s")
    timings["devices"] = time.perf_counter() - t
    # Policies last and in one call: linking guidance to devices reads every device's tags once per call.
    t = time.perf_counter()
    now = T0 + timedelta(days=1)
    with sessions.begin() as session:
        doc = _document(session, "bench", "https://policy.bench.invalid/list.html", now)
        write_records(session, policy_list, WriteContext(source="bench", now=now, document_id=doc))
    timings["policies"] = time.perf_counter() - t
    log(f"  policies {len(policy_list):,}  {timings['policies']:6.1f} s")
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    timings["total"] = time.perf_counter() - started
    return timings


def describe(url: str) -> dict[str, int]:
    """Row counts of the seeded store (devices, AI devices, policies, tags, revisions, policy links)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        count = lambda stmt: conn.execute(stmt).scalar_one()  # noqa: E731
        out = {
            "devices": count(select(func.count()).select_from(Device)),
            "ai_devices": count(select(func.count()).select_from(Device).where(Device.is_ai.is_(True))),
            "policies": count(select(func.count()).select_from(Policy)),
            "tags": count(select(func.count()).select_from(Tag)),
            "revisions": count(select(func.count()).select_from(Revision)),
            "policy_links": count(select(func.count()).select_from(PolicyDevice)),
        }
    engine.dispose()
    return out


def ensure_store(devices: int, policies: int, log=print) -> Path:
    """The cached store for these sizes (migrated to the current schema), seeded first when missing."""
    path = store_path(devices, policies)
    if path.exists():
        upgrade(f"sqlite:///{path}")  # a store seeded before a schema change gets it the way a real one would
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in OUT.glob(partial.name + "*"):
        leftover.unlink()
    log(f"seeding {devices:,} devices and {policies:,} policies into {path.name} (once) …")
    timings = seed(f"sqlite:///{partial}", devices, policies, log)
    log("  seeded in " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    partial.rename(path)
    return path


def main() -> None:
    """Seed (or reuse) the store and print what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=10_000)
    args = parser.parse_args()
    path = ensure_store(args.devices, args.policies)
    print(path, describe(f"sqlite:///{path}"))


if __name__ == "__main__":
    main()
