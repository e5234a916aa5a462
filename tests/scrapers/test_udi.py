"""Tests for scrapers.udi / scrapers.udi_xml: the UDI download listing, the streaming ZIP/XML reader and crawl.

The samples in samples/udi/ are the main inputs (their contents are described in samples/make_udi_samples.py);
fault cases are files in tests/fixtures/udi/ (see its README) or, where they need a temp path or caps (XXE, zip
bombs), are built here in tmp_path with the same generator functions. Certificate numbers are synthetic (99xx).
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from scrapers import udi
from scrapers.udi_xml import ArchiveLimits, UdiArchiveError
from tracker.fetch.base import Response
from tracker.fetch.http import HttpFetcher
from tracker.records import CrawlContext, LayoutChanged, ParseStats

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "udi"
FIXTURES = ROOT / "tests" / "fixtures" / "udi"
DAILY = SAMPLES / "attachments" / "UDID_DAY_UPDATE_20261120.zip"
WEEKLY = SAMPLES / "attachments" / "UDID_WEEKLY_UPDATE_20261109_20261115.zip"
BASE = "http://udi.test/site"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_udi_samples", ROOT / "samples" / "make_udi_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def device(cert: str | None, di: str, name: str = "测试软件", **extra: str) -> str:
    """A device row for fault cases (synthetic certificate numbers)."""
    return gen.device_xml({"zczbhhzbapzbh": cert, "zxxsdycpbs": di, "cpmctymc": name,
                           "deviceRecordKey": f"K-{di}", "ggxh": "V1", "cpbsfbrq": "2024-01-02", **extra})


CLASS3 = "国械注准20243219950"
CLASS2 = "京械注准20242219951"


def parse_path(path: Path, **kwargs) -> tuple[list, ParseStats]:
    stats = ParseStats()
    return list(udi.parse_file(path, stats, **kwargs)), stats


# --- listing ---------------------------------------------------------------------------------------------------------

def test_listing_gives_every_file_with_its_facts_and_resolved_url():
    files = udi.parse_listing((SAMPLES / "download.html").read_text(encoding="utf-8"), BASE)
    by_name = {f.name: f for f in files}
    assert [f.name for f in files][:2] == ["UDID_DAY_UPDATE_20261120.zip", "UDID_DAY_UPDATE_20261119.zip"]
    assert {f.kind for f in files} == {"daily", "weekly", "full"}
    daily = by_name["UDID_DAY_UPDATE_20261120.zip"]
    assert daily.url == f"{BASE}/attachments/UDID_DAY_UPDATE_20261120.zip"
    assert daily.created_on == date(2026, 11, 20)
    assert daily.md5 == hashlib.md5(DAILY.read_bytes()).hexdigest()
    with zipfile.ZipFile(DAILY) as outer:
        xml = outer.read("UDID_INCREMENTAL_DOWNLOAD_PART1_Of_2_2026-11-20.xml")
        nested = zipfile.ZipFile(io.BytesIO(outer.read("UDID_INCREMENTAL_DOWNLOAD_PART2_Of_2_2026-11-20.zip")))
        xml += nested.read(nested.namelist()[0])
    assert daily.record_count == xml.count(b"<device>")
    assert daily.size_text.endswith("KB")
    weekly = by_name["UDID_WEEKLY_UPDATE_20261109_20261115.zip"]
    assert weekly.kind == "weekly" and weekly.file_date == date(2026, 11, 15)


def test_listing_real_site_hrefs_stay_absolute():
    html = ('<div class="els-down-con-info"><a href="https://udid.nmpa.gov.cn/attachments/attachment/download.html'
            '?path=ABC123" download="UDID_DAY_UPDATE_20240105.zip">x</a><div><span>创建时间：</span>'
            '<span>2024-01-05 08:00:00</span><span>记录数：</span><span>1,234</span><span>文件大小：</span>'
            '<span>3.2M</span></div><div><span>MD5：</span><span>0123456789ABCDEF0123456789ABCDEF</span></div></div>')
    [f] = udi.parse_listing(html)
    assert f.url.startswith("https://udid.nmpa.gov.cn/attachments/attachment/download.html?path=ABC123")
    assert (f.created_on, f.record_count, f.size_text) == (date(2024, 1, 5), 1234, "3.2M")
    assert f.md5 == "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("html, missing", [
    ("<html><body><div class='els-down'>维护中</div></body></html>", ".els-down-con-info"),
    ("<div class='els-down-con-info'><span>UDID_DAY_UPDATE_20240105.zip</span></div>", "a[download]"),
    ("<div class='els-down-con-info'><a href='x.zip' download='UDID_DAY_UPDATE_20240105.zip'>x</a>"
     "<div>2024-01-05</div><div>MD5：</div></div>", "MD5 of UDID_DAY_UPDATE_20240105.zip"),
    ("<div class='els-down-con-info'><a href='x.pdf' download='数据字典.pdf'>x</a></div>", "UDID_* file names"),
])
def test_listing_layout_change_names_what_is_missing(html, missing):
    with pytest.raises(LayoutChanged) as err:
        udi.parse_listing(html, BASE)
    assert missing in err.value.what


@pytest.mark.parametrize("name, missing", [("download_maintenance.html", ".els-down-con-info"),
                                           ("download_no_md5.html", "MD5 of UDID_DAY_UPDATE_20261120.zip")])
def test_listing_fixtures_fail_loudly(name, missing):
    with pytest.raises(LayoutChanged) as err:
        udi.parse_listing((FIXTURES / name).read_text(encoding="utf-8"), BASE)
    assert missing in err.value.what


# --- parse_file on the samples ---------------------------------------------------------------------------------------

def test_daily_keeps_class3_registrations_and_leaves_out_class2_and_filings():
    records, stats = parse_path(DAILY)
    certs = {r.cert_no for r in records}
    assert len(certs) == len(records)
    assert all(r.mgmt_class == 3 for r in records)
    ai_software = [r for r in records if r.catalogue_code and r.catalogue_code.startswith("21")]
    assert len(ai_software) >= 5
    assert "国械注准20193139910" in certs  # a non-AI class-III device (stent) is kept too
    assert not any("械备" in c or not c.startswith("国") for c in certs)
    assert "国械注进20222079915" not in certs  # imported, but class II
    assert stats.skipped == 2  # the row without a certificate number and the one with an unreadable number
    assert stats.out_of_scope == 7  # class II rows (2 + 1 + 1) and filing rows (2 + 1)
    assert stats.complete is False


def test_dis_are_grouped_by_certificate_across_parts_and_nested_zips():
    records, _ = parse_path(DAILY)
    ffr = next(r for r in records if r.cert_no == "国械注准20203219901")
    assert ffr.product_name == "冠脉血流储备分数计算软件" and ffr.brand == "深脉分数"
    assert ffr.registrant == "北京昆仑医云科技有限公司"
    assert len(ffr.udi_di) == 3 and list(ffr.udi_di) == sorted(ffr.udi_di)
    assert ffr.model_spec == "V1.0 单机版；V1.0 网络版；V1.2 云端版"  # the last one comes from the nested ZIP
    assert ffr.di_published_on == date(2020, 6, 12)  # earliest cpbsfbrq of the group
    assert (ffr.origin, ffr.first_reg_year, ffr.mgmt_class) == ("domestic", 2020, 3)
    mammo = next(r for r in records if r.cert_no == "国械注进20233219909")
    assert mammo.origin == "imported" and mammo.credit_code is None


def test_highest_version_of_a_record_wins():
    records, stats = parse_path(DAILY)
    nodule = next(r for r in records if r.cert_no == "国械注准20213219904")
    assert len(nodule.udi_di) == 2
    assert "V1.0" not in nodule.model_spec.split("；")
    assert "V2.0" in nodule.model_spec.split("；")
    assert any("1 superseded" in n for n in stats.notes)


def test_version_order_does_not_matter(tmp_path):
    old = device(CLASS3, "06970000999993", versionNumber="1", ggxh="旧型号")
    new = device(CLASS3, "06970000999993", versionNumber="2", ggxh="新型号")
    for rows in ([old, new], [new, old]):
        path = tmp_path / "part.xml"
        path.write_bytes(gen.udid_document(rows))
        [record], _ = parse_path(path)
        assert record.model_spec == "新型号"


def test_only_a_full_release_read_to_its_end_is_complete():
    full = SAMPLES / "attachments" / "UDID_FULL_RELEASE_20261101.zip"
    stats = ParseStats()
    records = udi.parse_file(full, stats)
    first = next(records)
    assert first.cert_no and stats.complete is False  # not before the last record has been handed over
    assert len(list(records)) >= 4 and stats.complete is True
    assert parse_path(WEEKLY)[1].complete is False


def test_withdrawn_only_when_every_di_is_withdrawn():
    daily, _ = parse_path(DAILY)
    stent = next(r for r in daily if r.cert_no == "国械注准20193139910")
    assert stent.withdrawn_on is None  # one of three DIs has a 退市日期
    weekly, _ = parse_path(WEEKLY)
    hip = next(r for r in weekly if r.cert_no == "国械注准20173139913")
    assert hip.withdrawn_on == date(2026, 6, 30)


def test_wider_scope_adds_class2_registrations_but_never_filings():
    records, stats = parse_path(DAILY, scope="all_registrations")
    certs = {r.cert_no for r in records}
    assert {"京械注准20222219914", "国械注进20222079915", "粤械注准20232079916"} <= certs
    assert not any("械备" in c for c in certs)
    assert stats.out_of_scope == 3  # the filing rows only
    with pytest.raises(ValueError):
        list(udi.parse_file(DAILY, ParseStats(), scope="everything"))


def test_control_characters_are_removed_and_counted():
    records, stats = parse_path(DAILY)
    fundus = next(r for r in records if r.cert_no == "国械注准20223219905")
    assert "\x0b" not in fundus.description and "提示是否存在" in fundus.description
    assert any("removed 2 control characters" in n for n in stats.notes)


def test_bad_bytes_and_character_references_are_recovered():
    # bad_characters.xml: a raw U+0001 in a description, two non-UTF-8 bytes in a name, a reference &#1; in another
    [record], stats = parse_path(FIXTURES / "bad_characters.xml")
    assert set(record.udi_di) == {"06970000999986", "06970000999979"}
    assert record.description == "描述含控制字符"
    assert "\x01" not in record.product_name
    assert any("removed 1 control characters" in n for n in stats.notes)
    assert any("recovered from" in n for n in stats.notes)
    assert stats.skipped == 0


def test_parse_of_xml_text_of_the_listing_and_of_anything_else():
    text = gen.udid_document([device(CLASS3, "06970000999962"), device(CLASS2, "06970000999955")]).decode()
    [record] = udi.parse(text)
    assert record.cert_no == CLASS3 and record.udi_di == ("06970000999962",)
    assert udi.parse((SAMPLES / "download.html").read_text(encoding="utf-8"), BASE) == []  # a list page
    with pytest.raises(LayoutChanged, match="els-down-con-info"):
        udi.parse((FIXTURES / "download_maintenance.html").read_text(encoding="utf-8"), BASE)
    for other in ["", "not xml at all", "<p>an HTML fragment</p>",
                  (FIXTURES / "other_root.xml").read_text(encoding="utf-8")]:
        with pytest.raises(LayoutChanged) as err:
            udi.parse(other)
        assert err.value.what == "udid root"
    with pytest.raises(LayoutChanged, match="udid root"):
        parse_path(FIXTURES / "other_root.xml")


# --- grouping over a whole file (scratch store) ----------------------------------------------------------------------

OTHER_CLASS3 = "国械注准20243219952"


def test_a_certificate_spread_over_parts_and_versions_is_one_record(tmp_path):
    v = dict(versionNumber="1", versionTime="2024-01-01")
    part1 = [device(CLASS3, "06970000999801", name="旧名称", ggxh="A旧", **v),
             device(OTHER_CLASS3, "06970000999802", name="另一产品", **v),
             device(CLASS3, "06970000999803", ggxh="C", **v)]
    part2 = [device(CLASS3, "06970000999804", name="新名称", ggxh="B", versionNumber="1", versionTime="2024-06-01"),
             device(CLASS3, "06970000999801", name="中间名称", ggxh="A新", versionNumber="2", versionTime="2024-03-01")]
    part3 = [device(CLASS3, "06970000999801", name="旧名称", ggxh="A旧", **v),  # an older version listed again
             device(CLASS3, "06970000999803", versionNumber="2", versionTime="2024-02-01", versionStauts="删除")]
    path = tmp_path / "UDID_WEEKLY_UPDATE_20240601_20240607.zip"
    path.write_bytes(_zip([("p1.xml", gen.udid_document(part1)),
                           ("p2.zip", _zip([("p2.xml", gen.udid_document(part2))])),
                           ("p3.xml", gen.udid_document(part3))]))
    records, stats = parse_path(path)
    assert [r.cert_no for r in records] == sorted([CLASS3, OTHER_CLASS3])
    spread = records[[r.cert_no for r in records].index(CLASS3)]
    assert spread.udi_di == ("06970000999801", "06970000999804")  # the deleted DI is gone
    assert spread.model_spec == "B；A新"  # version 2 of the first DI, in the order the kept versions were read
    assert spread.product_name == "新名称"  # the facts of the newest versionTime
    assert "7 device rows read, 2 certificates kept, 3 superseded versions merged" in stats.notes


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """An empty folder that tempfile (and so the grouping's private scratch folder) uses for this test."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_scratch_store_is_on_disk_while_records_go_out_and_removed_after_the_last(scratch):
    records = udi.parse_file(DAILY, ParseStats())
    next(records)
    [folder] = list(scratch.iterdir())
    assert (folder / "grouping.sqlite3").stat().st_size > 0
    assert len(list(records)) > 1
    assert list(scratch.iterdir()) == []


def test_the_scratch_store_is_removed_when_the_consumer_stops_early(scratch):
    records = udi.parse_file(DAILY, ParseStats())
    next(records)
    records.close()  # as when a consumer stops early (a store error) and drops the generator
    assert list(scratch.iterdir()) == []


def test_the_scratch_store_is_removed_after_an_error_mid_file(scratch, tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(_zip([("p1.xml", gen.udid_document([device(CLASS3, "06970000999805")])),
                             ("p2.xml", (FIXTURES / "truncated_part.xml").read_bytes())]))
    with pytest.raises(UdiArchiveError, match="truncated XML"):
        parse_path(broken)
    assert list(scratch.iterdir()) == []


def test_a_small_document_is_grouped_in_memory(scratch):
    assert len(udi.parse(gen.udid_document([device(CLASS3, "06970000999805")]).decode())) == 1
    assert list(scratch.iterdir()) == []


# --- hostile input ---------------------------------------------------------------------------------------------------

def test_external_entities_are_never_resolved(tmp_path, httpserver):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    (tmp_path / "evil.dtd").write_text('<!ENTITY name "FROM-DTD">', encoding="utf-8")
    httpserver.expect_request("/x").respond_with_data("FROM-NETWORK")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE udid SYSTEM "{(tmp_path / "evil.dtd").as_uri()}" [\n'
           f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">\n<!ENTITY net SYSTEM "{httpserver.url_for("/x")}">\n]>\n'
           '<udid><devices>' + device(CLASS3, "06970000999948", name="软件ENTITIES")
           .replace("ENTITIES", "&xxe;&net;&name;") + '</devices></udid>')
    path = tmp_path / "xxe.xml"
    path.write_text(doc, encoding="utf-8")
    [record], _ = parse_path(path)
    dumped = repr(record)
    assert "TOP-SECRET" not in dumped and "FROM-NETWORK" not in dumped and "FROM-DTD" not in dumped
    assert record.product_name.startswith("软件")
    assert httpserver.log == []


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    return gen.write_zip(None, members)


def test_member_count_cap_counts_nested_members(tmp_path):
    part = gen.udid_document([device(CLASS3, "06970000999931")])
    inner = _zip([(f"p{i}.xml", part) for i in range(3)])
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip([("a.xml", part), ("b.xml", part), ("inner.zip", inner)]))
    assert len(parse_path(path, limits=ArchiveLimits(max_members=6))[0]) == 1
    with pytest.raises(UdiArchiveError, match="too many files"):
        parse_path(path, limits=ArchiveLimits(max_members=5))


def test_decompressed_size_cap_refuses_before_reading(tmp_path):
    part = gen.udid_document([device(CLASS3, "06970000999924", cpms="填充" * 20_000)])
    path = tmp_path / "big.zip"
    path.write_bytes(_zip([("big.xml", part)]))
    assert path.stat().st_size < len(part) // 20  # compresses well, like a bomb
    with pytest.raises(UdiArchiveError, match="over the cap"):
        parse_path(path, limits=ArchiveLimits(max_unpacked_bytes=len(part) - 1))
    assert len(parse_path(path, limits=ArchiveLimits(max_unpacked_bytes=len(part)))[0]) == 1


def test_nested_zips_deeper_than_the_limit_are_refused(tmp_path):
    payload = _zip([("p.xml", gen.udid_document([device(CLASS3, "06970000999917")]))])
    for level in range(3):
        payload = _zip([(f"level{level}.zip", payload)])
    path = tmp_path / "deep.zip"
    path.write_bytes(payload)
    with pytest.raises(UdiArchiveError, match="deeper than 3"):
        parse_path(path)
    assert len(parse_path(path, limits=ArchiveLimits(max_depth=4))[0]) == 1


def test_member_larger_than_its_declared_size_is_an_error(tmp_path):
    data = bytearray(_zip([("p.xml", gen.udid_document([device(CLASS3, "06970000999900")] * 50))]))
    central = data.index(b"PK\x01\x02")
    declared = int.from_bytes(data[central + 24:central + 28], "little")
    data[central + 24:central + 28] = (declared // 2).to_bytes(4, "little")  # lie about the uncompressed size
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(UdiArchiveError):
        parse_path(path)


def test_truncated_zip_and_truncated_xml_are_clear_errors(tmp_path):
    with pytest.raises(UdiArchiveError, match="truncated ZIP UDID_DAY_UPDATE_20261120_truncated.zip"):
        parse_path(FIXTURES / "UDID_DAY_UPDATE_20261120_truncated.zip")
    with pytest.raises(UdiArchiveError, match="truncated XML truncated_part.xml"):
        parse_path(FIXTURES / "truncated_part.xml")
    not_zip = tmp_path / "html.zip"
    not_zip.write_bytes(b"PK\x03\x04 then garbage")
    with pytest.raises(UdiArchiveError, match="truncated"):
        parse_path(not_zip)


# VmHWM is the peak RSS of this process image; ru_maxrss would also carry the (larger) pytest parent's peak over exec.
MEMORY_PROBE = """
import re, resource, sys
from scrapers import udi
from tracker.records import ParseStats
stats = ParseStats()
kept = sum(1 for _ in udi.parse_file(sys.argv[1], stats))
try:
    peak = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(kept, stats.out_of_scope, peak)
"""


def _many_rows(path: Path, count: int, cert_of=lambda i: CLASS3 if i % 5000 == 0 else CLASS2) -> None:
    template = ("<device><deviceRecordKey>K{i}</deviceRecordKey><zxxsdycpbs>{i:014d}</zxxsdycpbs>"
                "<zczbhhzbapzbh>{cert}</zczbhhzbapzbh><cpmctymc>产品</cpmctymc><ggxh>M{i}</ggxh>"
                "<cpms>" + "描述" * 60 + "</cpms><cpbsfbrq>2024-01-01</cpbsfbrq>"
                "<packingList><packingInfo><bzcpbs>{i}</bzcpbs></packingInfo></packingList></device>\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?><udid version="1.0"><devices>\n')
        for i in range(count):
            fh.write(template.format(i=i, cert=cert_of(i)))
        fh.write("</devices></udid>\n")


def test_streaming_memory_does_not_grow_with_out_of_scope_rows(tmp_path):
    # Peak RSS of a fresh interpreter: libxml2's own allocations are invisible to tracemalloc.
    peaks = {}
    for count in (15_000, 60_000):
        path = tmp_path / f"{count}.xml"
        _many_rows(path, count)
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], cwd=ROOT, check=True,
                             capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}).stdout.split()
        kept, out_of_scope, peaks[count] = map(int, out)
        assert kept == 1 and out_of_scope == count - len(range(0, count, 5000))
    # Keeping the elements would cost over 100 MB for the 45,000 extra rows; streaming stays flat.
    assert peaks[60_000] - peaks[15_000] < 16 * 1024, peaks


def _class3_of_three_rows(i: int) -> str:
    """A synthetic class-III certificate number (serial 9xxx) shared by rows i = 3n, 3n+1, 3n+2."""
    n = i // 3
    return f"国械注准{2000 + n // 1000}321{9000 + n % 1000}"


def test_grouping_memory_does_not_grow_with_in_scope_rows(tmp_path):
    peaks = {}
    for count in (6_000, 60_000):
        path = tmp_path / f"in_scope_{count}.xml"
        _many_rows(path, count, cert_of=_class3_of_three_rows)
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], cwd=ROOT, check=True,
                             capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}).stdout.split()
        kept, out_of_scope, peaks[count] = map(int, out)
        assert (kept, out_of_scope) == (count // 3, 0)
    # Grouped in memory, the 54,000 extra rows (18,000 certificates) cost 60 MB; spilled to the scratch file, 2 MB.
    assert peaks[60_000] - peaks[6_000] < 16 * 1024, peaks


# --- crawl -----------------------------------------------------------------------------------------------------------

class FakeFetcher:
    """Serves samples/udi/ (optionally with a replaced listing) and records every request."""

    def __init__(self, listing: str | None = None):
        self.listing = listing
        self.calls: list[tuple[str, dict, int | None]] = []

    def get(self, url, *, headers=None, max_bytes=None, conditional=False):
        self.calls.append((url, dict(headers or {}), max_bytes))
        rel = url.removeprefix(BASE + "/")
        if rel == "download.html" and self.listing is not None:
            body = self.listing.encode("utf-8")
        else:
            body = (SAMPLES / rel).read_bytes()
        return Response(url=url, status=200, headers={"content-type": "text/html; charset=utf-8"}, content=body,
                        fetched_at=datetime(2026, 11, 20, 8, tzinfo=timezone.utc))

    def close(self):
        pass


def test_crawl_ingests_unknown_updates_oldest_first_with_referer_and_size_cap():
    fetcher = FakeFetcher()
    ctx = CrawlContext(base_url=BASE + "/", known_keys=frozenset({"UDID_DAY_UPDATE_20261119.zip"}),
                       options={"udi_max_download_bytes": 10_000})
    pages = list(crawl_all(fetcher, ctx))
    assert pages[0][0] is None and pages[0][1] == []  # the listing, kept for provenance
    assert [key for key, _, _ in pages[1:]] == ["UDID_WEEKLY_UPDATE_20261109_20261115.zip",
                                                "UDID_DAY_UPDATE_20261120.zip"]
    assert all(not stats.complete for _, _, stats in pages[1:])
    for _url, headers, max_bytes in fetcher.calls[1:]:
        assert headers == {"Referer": BASE + "/download.html"} and max_bytes == 10_000
    daily_records = pages[2][1]
    assert "国械注准20203219901" in {r.cert_no for r in daily_records}
    assert all(r.source_url == BASE + "/attachments/UDID_DAY_UPDATE_20261120.zip" for r in daily_records)


def crawl_all(fetcher, ctx):
    """Run crawl as the runs layer does: consume each page's records before asking for the next page."""
    for page in udi.crawl(fetcher, ctx):
        yield page.key, list(page.records), page.stats


def test_bootstrap_starts_from_the_newest_full_release():
    pages = list(crawl_all(FakeFetcher(), CrawlContext(base_url=BASE, bootstrap=True)))
    assert [key for key, _, _ in pages[1:]] == [
        "UDID_FULL_RELEASE_20261101.zip", "UDID_WEEKLY_UPDATE_20261109_20261115.zip",
        "UDID_DAY_UPDATE_20261119.zip", "UDID_DAY_UPDATE_20261120.zip"]
    assert [stats.complete for _, _, stats in pages[1:]] == [True, False, False, False]
    limited = list(crawl_all(FakeFetcher(), CrawlContext(base_url=BASE, bootstrap=True, max_pages=2)))
    assert [key for key, _, _ in limited[1:]] == ["UDID_FULL_RELEASE_20261101.zip",
                                                  "UDID_WEEKLY_UPDATE_20261109_20261115.zip"]


def test_updates_older_than_an_ingested_full_release_are_skipped():
    files = udi.parse_listing((SAMPLES / "download.html").read_text(encoding="utf-8"), BASE)
    chosen = udi.select_files(files, {"UDID_FULL_RELEASE_20261115.zip"})
    assert [f.name for f in chosen] == ["UDID_DAY_UPDATE_20261119.zip", "UDID_DAY_UPDATE_20261120.zip"]
    assert udi.select_files(files, {f.name for f in files}) == []
    # bootstrap only applies to an empty store: with anything known, no full release is fetched again
    again = udi.select_files(files, {"UDID_DAY_UPDATE_20261119.zip"}, bootstrap=True)
    assert [f.kind for f in again] == ["weekly", "daily"]


def test_crawl_scope_option_widens_the_scope():
    ctx = CrawlContext(base_url=BASE, known_keys=frozenset({"UDID_FULL_RELEASE_20261115.zip",
                                                            "UDID_DAY_UPDATE_20261119.zip"}),
                       options={"udi_scope": "all_registrations"})
    [_, (key, records, _)] = list(crawl_all(FakeFetcher(), ctx))
    assert key == "UDID_DAY_UPDATE_20261120.zip"
    assert "京械注准20222219914" in {r.cert_no for r in records}


def test_wrong_md5_stops_the_crawl_before_the_file_is_yielded():
    listing = (SAMPLES / "download.html").read_text(encoding="utf-8")
    good = hashlib.md5(DAILY.read_bytes()).hexdigest()
    bad = "0" * 32
    fetcher = FakeFetcher(listing.replace(good, bad))
    seen = []
    with pytest.raises(UdiArchiveError, match=f"md5 mismatch for UDID_DAY_UPDATE_20261120.zip: expected {bad} "
                                              f"got {good}"):
        for page in udi.crawl(fetcher, CrawlContext(base_url=BASE)):
            seen.append(page.key)
    assert "UDID_DAY_UPDATE_20261120.zip" not in seen
    assert seen[-1] == "UDID_DAY_UPDATE_20261119.zip"  # older, verified files before it were fine


def test_crawl_through_real_http_against_the_samples(httpserver):
    for path in [SAMPLES / "download.html", *sorted((SAMPLES / "attachments").glob("*.zip"))]:
        rel = path.relative_to(SAMPLES).as_posix()
        kind = "text/html; charset=utf-8" if rel.endswith(".html") else "application/zip"
        httpserver.expect_request(f"/udi/{rel}").respond_with_data(path.read_bytes(), content_type=kind)
    fetcher = HttpFetcher(min_interval=0, max_attempts=1)
    try:
        pages = [(p.key, list(p.records)) for p in udi.crawl(
            fetcher, CrawlContext(base_url=httpserver.url_for("/udi"), bootstrap=True))]
    finally:
        fetcher.close()
    assert pages[-1][0] == "UDID_DAY_UPDATE_20261120.zip"
    assert len(pages[-1][1]) == 10
    referers = {req.headers.get("Referer") for req, _ in httpserver.log if req.path.endswith(".zip")}
    assert referers == {httpserver.url_for("/udi/download.html")}


def test_module_contract():
    assert udi.SLUG == "udi" and udi.KIND == "device" and udi.NEEDS_BROWSER is False
    assert re.fullmatch(r"https://udi\.nmpa\.gov\.cn", udi.DEFAULT_BASE_URL)
