"""As-of views rebuilt from revisions match snapshots taken during a sequence of ingests and reviewer decisions."""
from __future__ import annotations

from sqlalchemy import select

from tracker.audit import review
from tracker.ingest.write import write_records
from tracker.read.asof import as_of
from tracker.records import DeviceRecord
from tracker.store.models import Device
from tracker.store.tags import effective_codes
from tracker.store.write import WriteContext, as_text

FIELDS = ("product_name", "description", "model_spec", "registrant", "is_ai")


def ingest(sessions, clock, records):
    with sessions.begin() as session:
        write_records(session, records, WriteContext(source="udi", now=clock()))


def snapshot(sessions) -> dict[int, dict]:
    """The live state of every device: the fields above as the history writes them, and the effective tags."""
    with sessions() as session:
        return {
            d.id: {"fields": {f: as_text(getattr(d, f)) for f in FIELDS},
                   "tags": effective_codes(session, "device", d.id)}
            for d in session.execute(select(Device)).scalars()
        }


def rebuilt(sessions, moment) -> dict[int, dict]:
    with sessions() as session:
        out = {}
        for device_id in session.execute(select(Device.id)).scalars():
            state = as_of(session, "device", device_id, moment)
            if state.existed:
                # A false flag is the column default, never written as a revision of a new row.
                fields = {f: state.fields.get(f, "false" if f == "is_ai" else None) for f in FIELDS}
                out[device_id] = {"fields": fields, "tags": state.tags}
        return out


def record(n: int, name: str, description: str | None, model: str = "V1.0") -> DeviceRecord:
    return DeviceRecord(cert_no=f"国械注准2026321{9950 + n}", product_name=name, description=description,
                        model_spec=model, registrant="示例医疗科技有限公司", catalogue_code="21-04")


def test_as_of_matches_snapshots_through_ingests_and_decisions(sessions, clock):
    moments, snapshots = [], []

    def take():
        moments.append(clock())
        snapshots.append(snapshot(sessions))
        clock.advance(days=1)

    ingest(sessions, clock, [record(0, "肺结节CT影像辅助检测软件", "基于深度学习"), record(1, "髋关节假体", None)])
    take()
    ingest(sessions, clock, [record(0, "肺结节CT影像辅助检测软件", "基于深度学习的肺结节检测", "V2.0"),
                             record(2, "心电分析软件", None)])
    take()
    with sessions.begin() as session:
        lung = session.execute(select(Device.id).where(Device.cert_no == "国械注准20263219950")).scalar_one()
        review.decide(session, entity_type="device", entity_id=lung, facet="ai", code="ai", decision="remove",
                      reason="post-processing only", reviewer="rita", now=clock())
        hip = session.execute(select(Device.id).where(Device.cert_no == "国械注准20263219951")).scalar_one()
        review.decide(session, entity_type="device", entity_id=hip, facet="area", code="medical_robotics",
                      decision="add", reason="robot-assisted", reviewer="rita", now=clock())
    take()
    ingest(sessions, clock, [record(0, "肺结节CT影像辅助检测软件", "人工智能 深度学习 肺结节", "V3.0")])
    take()

    assert len({repr(s) for s in snapshots}) == 4  # every step changed something
    for moment, expected in zip(moments, snapshots, strict=True):
        assert rebuilt(sessions, moment) == expected, moment
    assert snapshots[2][lung]["fields"]["is_ai"] == "false" and "ai:ai" not in snapshots[3][lung]["tags"]
