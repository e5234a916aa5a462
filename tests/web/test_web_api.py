"""The read-only JSON API under /api/v1/: same filters and paging as the pages, details with provenance and
history, tags with counts, runs, and an OpenAPI document that covers every filter argument."""
from __future__ import annotations

import dataclasses

import pytest

from tracker.read import filters


def test_root_lists_collections(client):
    body = client.get("/api/v1/").get_json()
    assert body["collections"] == {"devices": "/api/v1/devices", "policies": "/api/v1/policies",
                                   "tags": "/api/v1/tags", "runs": "/api/v1/runs"}


def test_device_list_filters_and_pages_like_the_html_list(client):
    body = client.get("/api/v1/devices?ai=1&area=medical_imaging&sort=cert&per_page=3").get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["per_page"] == 3
    assert [d["cert_no"] for d in body["items"]] == ["国械注准20193219904", "国械注准20203219901", "国械注准20213219902"]
    assert body["filter"] == {"ai": "1", "area": "medical_imaging", "sort": "cert", "per_page": "3"}
    assert body["prev"] is None
    second = client.get(body["next"]).get_json()
    assert [d["cert_no"] for d in second["items"]] == ["国械注准20243219906"] and second["next"] is None
    assert second["items"][0]["is_sample"] is True


def test_device_list_search_and_json_is_utf8(client):
    response = client.get("/api/v1/devices", query_string={"q": "肺结"})
    assert "肺结节CT影像辅助检测软件".encode() in response.get_data()  # not \\u escapes
    item = response.get_json()["items"][0]
    assert item["tags"] == ["ai:ai", "area:medical_imaging.ct", "function:detection", "site:chest_lung",
                            "disease:lung_nodule"]
    assert item["first_seen"] == "2026-11-10T02:00:00+00:00"


def test_device_detail_has_provenance_history_and_as_of(client, web_env):
    lung = web_env.ids.devices["lung"]
    body = client.get(f"/api/v1/devices/{lung}?asof=2026-11-14").get_json()
    assert body["identifiers"] == ["06970000099011", "06970000099012"]
    assert body["events"][0]["acceptance_no"] == "CSZ2600123"
    reason = body["news"][0]["reason"]
    assert reason["code"] == "news.certificate" and reason["params"] == {"cert": "国械注准20203219901"}
    assert reason["en"] == "certificate 国械注准20203219901 named in the article"
    assert reason["zh"] == "文章提及注册证 国械注准20203219901"
    assert {p["title"] for p in body["policies"]} >= {"人工智能医疗器械注册审查指导原则"}
    assert {s["url"] for s in body["sources"]} == {"https://udi.nmpa.gov.cn/download.html",
                                                   "https://www.nmpa.gov.cn/zwfw/sdxx/x/1.html"}
    assert any(s["raw_url"] == f"/documents/{web_env.ids.documents['udi']}/raw" for s in body["sources"])
    assert body["revisions"][0]["changed_at"] >= body["revisions"][-1]["changed_at"]
    disease = next(t for t in body["tag_details"] if t["code"] == "lung_nodule")
    assert disease["effective"] and disease["evidence"][0]["words"] == ["肺结节"]
    assert body["as_of"]["existed"] and "issued_on" not in body["as_of"]["fields"]
    assert body["as_of"]["identifiers"] == ["06970000099011", "06970000099012"]


def test_policy_list_and_detail(client, web_env):
    body = client.get("/api/v1/policies?stage=draft").get_json()
    assert [p["title"] for p in body["items"]] == ["肺结节CT图像辅助检测软件注册审查指导原则（征求意见稿）"]
    assert "body" not in body["items"][0]
    detail = client.get(f"/api/v1/policies/{web_env.ids.policies['ai_guidance']}").get_json()
    assert "第一章 适用范围" in detail["body"]
    assert detail["attachments"][0]["url"] == "https://www.nmpa.gov.cn/a.pdf"
    assert any(d["product_name"] == "肺结节CT影像辅助检测软件" and d["reason"]["code"].startswith("link.")
               and d["reason"]["zh"].startswith("器械标签") and d["reason"]["en"].startswith("device tags")
               for d in detail["devices"])
    total = detail["devices_total"]
    assert total == len(detail["devices"]) >= 2 and detail["devices_page"] == 1


def test_policy_detail_pages_its_linked_devices(client, web_env):
    url = f"/api/v1/policies/{web_env.ids.policies['ai_guidance']}"
    whole = client.get(url).get_json()["devices"]
    pages = [client.get(f"{url}?devices_per_page=1&devices_page={n}").get_json() for n in (1, 2, len(whole))]
    assert [p["devices"][0]["id"] for p in pages] == [whole[0]["id"], whole[1]["id"], whole[-1]["id"]]
    beyond = client.get(f"{url}?devices_per_page=1&devices_page={len(whole) + 1}")  # past the end: no other rows
    assert beyond.status_code == 404 and beyond.mimetype == "application/problem+json"
    assert f"the last page is {len(whole)}" in beyond.get_json()["detail"]
    bad = client.get(f"{url}?devices_per_page=x&devices_page=-3")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert {p["name"] for p in bad.get_json()["invalid_params"]} == {"devices_per_page", "devices_page"}


def test_tags_with_counts(client):
    items = {t["code"]: t for t in client.get("/api/v1/tags").get_json()["items"]}
    assert items["medical_imaging"]["devices"] == 4 and items["medical_imaging"]["reports"]
    assert items["medical_imaging.ct"]["policies"] == 1
    assert items["guidance"]["policies"] == 1 and items["draft"]["policies"] == 1
    only = client.get("/api/v1/tags?facet=disease").get_json()["items"]
    assert {t["facet"] for t in only} == {"disease"}
    assert client.get("/api/v1/tags?facet=bogus").status_code == 400


def test_runs_filter_and_page(client):
    body = client.get("/api/v1/runs?source=govcn_policy").get_json()
    assert [r["outcome"] for r in body["items"]] == ["failed", "ok"]
    assert body["items"][0]["error"] == "LayoutChanged: searchVO not found"
    assert client.get("/api/v1/runs?outcome=blocked").get_json()["items"][0]["source"] == "nmpa_notices"
    assert len(client.get("/api/v1/runs?per_page=2").get_json()["items"]) == 2


def test_unknown_ids_are_json_404(client):
    response = client.get("/api/v1/devices/987654")
    assert response.status_code == 404 and response.get_json()["status"] == 404
    assert response.mimetype == "application/problem+json" and response.get_json()["title"] == "Not Found"
    assert client.get("/api/v1/policies/987654").status_code == 404


def test_api_is_read_only(client):
    assert client.post("/api/v1/devices").status_code in (400, 405)
    deleted = client.delete("/api/v1/devices/1")
    assert deleted.status_code == 405 and deleted.headers["Allow"] and "GET" in deleted.headers["Allow"]
    assert deleted.mimetype == "application/problem+json" and deleted.get_json()["status"] == 405


def _arg_names(filter_class) -> set[str]:
    return {f.metadata.get("arg", f.name) for f in dataclasses.fields(filter_class)}


@pytest.mark.parametrize(("path", "filter_class"), [("/devices", filters.DeviceFilter),
                                                    ("/policies", filters.PolicyFilter)])
def test_openapi_documents_every_filter_argument(client, path, filter_class):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    params = {p["name"] for p in doc["paths"][path]["get"]["parameters"]}
    assert params == _arg_names(filter_class)


def test_openapi_paths_all_answer(client, web_env):
    doc = client.get("/api/v1/openapi.json").get_json()
    base = doc["servers"][0]["url"]
    for path in doc["paths"]:
        url = base + path.replace("{device_id}", str(web_env.ids.devices["lung"])).replace(
            "{policy_id}", str(web_env.ids.policies["draft"]))
        assert client.get(url).status_code == 200, url
