"""The two ways a tag filter finds rows (tracker.read.tags.TAG_LOOKUPS) give the same rows, reviewer decisions
included, on SQLite and PostgreSQL; and a list's count and page agree with a plain reading of the effective tags."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from tracker.audit.review import decide
from tracker.ingest.write import write_records
from tracker.read import filters, lists
from tracker.read import tags as read_tags
from tracker.records import DeviceRecord, PolicyRecord
from tracker.store.models import Device, Policy
from tracker.store.write import WriteContext, record_document

NAMES = ["肺结节CT影像辅助检测软件", "肺炎CT影像辅助分诊与评估软件", "颅内肿瘤磁共振影像辅助诊断软件",
         "糖尿病视网膜病变眼底图像辅助诊断软件", "心电分析软件", "冠状动脉药物洗脱支架系统", "骨折X射线影像辅助检测软件"]
FILTERS = [
    dict(sub="medical_imaging.ct"), dict(area="medical_imaging"), dict(ai=True, sub="medical_imaging.ct"),
    dict(disease="lung_nodule"), dict(disease="pneumonia"), dict(function="detection"),
    dict(function="diagnosis", area="medical_imaging"), dict(signal="ecg"), dict(site="chest_lung"), dict(q="软件", sub="medical_imaging.mr"),
]


@pytest.fixture
def store(sessions, clock):
    """21 devices of seven kinds and two policies, then reviewer decisions that remove and add tags."""
    records = [DeviceRecord(cert_no=f"国械注准2023321{9000 + i}", product_name=name, registrant=f"样例公司{i % 4}",
                            catalogue_code="21-04", description="深度学习" if i % 2 else None)
               for i, name in enumerate(itertools.islice(itertools.cycle(NAMES), 21))]
    policies = [PolicyRecord(title="肺结节CT图像辅助检测软件注册审查指导原则", issuer="国家药品监督管理局",
                             url="https://example.invalid/p1.html"),
                PolicyRecord(title="关于促进智慧医院建设的通知", issuer="国家卫生健康委员会", url="https://example.invalid/p2.html")]
    with sessions.begin() as session:
        doc = record_document(session, source="udi", url="https://udi.example/f.zip", fetched_at=clock(),
                              sha256="0" * 64, size=1)
        write_records(session, records + policies, WriteContext(source="udi", now=clock(), document_id=doc))
    with sessions.begin() as session:
        ids = list(session.execute(select(Device.id).order_by(Device.id)).scalars())
        for device_id, facet, code, decision in ((ids[0], "area", "medical_imaging.ct", "remove"),
                                                 (ids[7], "disease", "lung_nodule", "remove"),
                                                 (ids[5], "area", "medical_imaging.ct", "add"),
                                                 (ids[12], "function", "detection", "add")):
            decide(session, entity_type="device", entity_id=device_id, facet=facet, code=code, decision=decision,
                   reason="checked the certificate", reviewer="r1", now=clock())
    return ids


def _ids(session, f, lookup):
    stmt = lists.list_select(f, lookup).with_only_columns(Device.id if isinstance(f, filters.DeviceFilter)
                                                            else Policy.id)
    return list(session.execute(stmt).scalars())


def _expected(session, f: filters.DeviceFilter) -> list[int]:
    """The filter read naively: effective tags per device from all tag rows, then the test in Python."""
    rows = session.execute(read_tags.tags_for("device", _all_ids(session))).scalars()
    tags = read_tags.effective_by_entity(rows)
    wanted = [(facet, code) for facet, code in (("area", f.area), ("area", f.sub), ("disease", f.disease),
                                                ("function", f.function), ("signal", f.signal), ("site", f.site))
              if code]

    def has(pairs, facet, code):
        return any(fc == facet and (c == code or facet == "area" and c.startswith(code + ".")) for fc, c in pairs)

    keep = {i for i, pairs in tags.items() if all(has(pairs, facet, code) for facet, code in wanted)}
    others = filters.DeviceFilter(q=f.q, ai=f.ai, sort=f.sort)  # the filter without its tag conditions
    return [i for i in _ids(session, others, "exists") if i in keep]


def _all_ids(session):
    return list(session.execute(select(Device.id)).scalars())


@pytest.mark.parametrize("args", FILTERS, ids=lambda a: "&".join(f"{k}={v}" for k, v in a.items()))
def test_both_lookups_give_the_rows_of_the_effective_tags(store, sessions, args):
    f = filters.DeviceFilter(**args)
    with sessions() as session:
        expected = _expected(session, f)
        assert expected, "every filter here matches some devices"
        assert _ids(session, f, "exists") == expected == _ids(session, f, "in")
        assert session.execute(lists.list_count(f)).scalar_one() == len(expected)
    if args == dict(sub="medical_imaging.ct"):
        assert store[0] not in expected and store[5] in expected  # a reviewer removal and an addition count
    if args == dict(disease="lung_nodule"):
        assert store[7] not in expected and store[0] in expected


def test_a_page_is_the_same_whichever_lookup_reads_it(store, sessions):
    f = filters.DeviceFilter(area="medical_imaging", per_page=4, page=2)
    with sessions() as session:
        total = session.execute(lists.list_count(f)).scalar_one()
        pages = [list(session.execute(lists.list_select(f, lookup).limit(4).offset(4)).scalars())
                 for lookup in read_tags.TAG_LOOKUPS]
        chosen = list(session.execute(lists.list_page(f, total)).scalars())
    assert total > 8 and pages[0] == pages[1] == chosen and len(chosen) == 4
    few = read_tags.FEW_ROWS
    assert read_tags.page_lookup(few) == "in" and read_tags.page_lookup(few + 1) == "exists"


def test_policy_tag_filters_agree(store, sessions):
    with sessions() as session:
        for f in (filters.PolicyFilter(area="medical_imaging"), filters.PolicyFilter(issuer="nhc"),
                  filters.PolicyFilter(scenario="nhc.medical_service_mgmt")):
            assert _ids(session, f, "exists") == _ids(session, f, "in")
            assert session.execute(lists.list_count(f)).scalar_one() == len(_ids(session, f, "exists"))
