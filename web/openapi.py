"""The OpenAPI 3.1 document of the JSON API, written as data (served at /api/v1/openapi.json).

The list parameters mirror tracker.read.filters.DeviceFilter / PolicyFilter argument by argument; a test checks that
every filter argument is documented, so the two cannot drift apart silently. The constraints here (minimum, maximum,
enum, maxLength, pattern, format) are the ones tracker.read.filters.Args enforces: a request outside them gets 400 with
a problem document (RFC 9457) naming each refused argument, and tests/web/test_web_openapi_contract.py runs
schemathesis against the app to keep it so.
"""
from __future__ import annotations

from typing import Any

from tracker.classify import taxonomy
from tracker.ids import certno
from tracker.read import filters
from tracker.read.health import RUN_OUTCOMES

_STR = {"type": "string"}
_INT = {"type": "integer"}
_DATE = {"type": "string", "format": "date", "pattern": filters.DATE_PATTERN,
         "description": f"A day from {filters.MIN_DATE} to {filters.MAX_DATE}."}
_FLAG = {"type": "string", "enum": list(filters.FLAG_VALUES)}
# The canonical shapes of a current registration number that tracker.ids.certno accepts: 国 issues classes II and
# III of every origin, a province class II domestic ones; the digits after the mark are year, class, category, serial.
_YEAR = "(199[0-9]|20[0-9]{2})"
CERT_PATTERN = f"^(国械注[准进许]{_YEAR}[23]|[{certno.PROVINCES}]械注准{_YEAR}2)[0-9]{{6}}$"
_ID = {"type": "integer", "minimum": 1, "maximum": filters.MAX_ID}


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": limit, "pattern": filters.TEXT_PATTERN}


def _codes(facet: str, top: bool | None = None) -> dict[str, Any]:
    return {"type": "string", "enum": [n.code for n in taxonomy.nodes(facet)
                                       if top is None or bool(n.parent) != top]}


_PAGE = {"type": "integer", "minimum": 1, "maximum": filters.MAX_PAGE, "default": 1}
PAGING = [
    ("page", _PAGE, "Page number."),
    ("per_page", {"type": "integer", "minimum": 1, "maximum": filters.MAX_PER_PAGE,
                  "default": filters.DEFAULT_PER_PAGE}, "Rows per page."),
]
LINK_PAGING = [
    ("devices_page", _PAGE, "Page of the linked devices (a general AI guidance is linked to thousands)."),
    ("devices_per_page", {"type": "integer", "minimum": 1, "maximum": filters.MAX_PER_PAGE,
                          "default": filters.DEFAULT_PER_PAGE},
     "Linked devices per page."),
]
DEVICE_PARAMS = [
    ("q", _text(filters.MAX_QUERY_CHARS),
     "Search product name, registrant, certificate no., brand and description; every blank-separated term must "
     "occur. Plain text: no operators or wildcards."),
    ("area", _codes("area", top=True), "Top-level application area (includes its sub-areas)."),
    ("sub", _codes("area", top=False), "Medical-imaging sub-area."),
    ("function", _codes("function"), "Function tag."),
    ("disease", _codes("disease"), "Disease tag."),
    ("site", _codes("site"), "Body-site tag."),
    ("signal", _codes("signal"), "Signal tag (non-image AI)."),
    ("ai", _FLAG, "Only devices classified as AI."),
    ("class", {"type": "integer", "enum": [1, 2, 3]}, "Management class."),
    ("origin", {"type": "string", "enum": list(filters.ORIGINS)}, "Domestic, imported or Hong Kong/Macao/Taiwan."),
    ("year", {"type": "integer", "minimum": 1980, "maximum": 2100},
     "First-registration year (from the certificate number)."),
    ("issued_from", _DATE, "Issue date on or after."),
    ("issued_to", _DATE, "Issue date on or before."),
    ("seen_from", _DATE, "First recorded by the tracker on or after."),
    ("event", {"type": "string", "enum": list(filters.EVENT_KINDS)},
     "The certificate had an event of this kind (registration, change, renewal, correction, cancellation, expiry)."),
    ("event_from", _DATE, "Certificate event dated on or after (any kind unless `event` is given)."),
    ("event_to", _DATE, "Certificate event dated on or before."),
    ("registrant", _text(filters.MAX_TEXT_CHARS), "Registrant name contains."),
    ("catalogue", _text(32), "Catalogue code starts with (e.g. 21-04)."),
    ("company", _ID, "Company id of the registrant."),
    ("cert", {"type": "string", "pattern": CERT_PATTERN},
     "Registration certificate number (国械注准…, 国械注进…, 国械注许…, or a province's 械注准 class II number; "
     "full-width digits and blanks are accepted too)."),
    ("data", {"type": "string", "enum": list(filters.DATA_KINDS)}, "Live or sample data only."),
    ("sort", {"type": "string", "enum": [p + s for s in filters.DEVICE_SORTS for p in ("", "-")],
              "default": "-issued"}, "Sort key; a leading '-' sorts descending."),
    *PAGING,
]
POLICY_PARAMS = [
    ("q", _text(filters.MAX_QUERY_CHARS),
     "Search title, document no., issuer and summary; plain text."),
    ("area", _codes("area"), "Application area (a top-level area includes its sub-areas)."),
    ("type", _codes("policy_type"), "Policy type."),
    ("issuer", _codes("issuer"), "Issuing authority."),
    ("stage", {"type": "string", "enum": list(filters.POLICY_STAGES)}, "Stage."),
    ("scenario", _codes("scenario"), "NHC AI application scenario."),
    ("date_from", _DATE, "Published on or after."),
    ("date_to", _DATE, "Published on or before."),
    ("ai", _FLAG, "Only AI-related policies."),
    ("data", {"type": "string", "enum": list(filters.DATA_KINDS)}, "Live or sample data only."),
    ("sort", {"type": "string", "enum": [p + s for s in filters.POLICY_SORTS for p in ("", "-")],
              "default": "-date"}, "Sort key; a leading '-' sorts descending."),
    *PAGING,
]


def _params(rows: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
    # An empty value counts as absent (a form's "any"), as tracker.read.filters.Args reads it.
    return [{"name": n, "in": "query", "required": False, "allowEmptyValue": True, "schema": s, "description": d}
            for n, s, d in rows]


def _id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


_ASOF = _params([("asof", _DATE, "Also return the record as it stood at the end of this day (Asia/Shanghai); "
                                   "`existed` is false, with no fields, when the tracker had not recorded it yet.")])[0]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


# What every operation can answer besides its 200 (405 for any method but GET is in the API description).
ERRORS = {
    "400": _problem("A parameter is malformed or out of range; `invalid_params` names each one."),
    "401": _problem("The site requires a login for its lists (TRACKER_REQUIRE_LOGIN_FOR_LISTS)."),
    "500": _problem("The server failed."),
}


def _list_response(item: str) -> dict[str, Any]:
    return {"200": {"description": "One page of results.", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "total", "page", "per_page"],
        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                       "total": _INT, "page": _INT, "per_page": _INT, "filter": {"type": "object"},
                       "next": {"type": ["string", "null"]}, "prev": {"type": ["string", "null"]}}}}}},
            **ERRORS, "404": _problem("The page is past the end of the list; `detail` names the last page.")}


def _object(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}},
            **ERRORS, "404": _problem("No such record (or, for linked devices, a page past their end).")}


def openapi_document(server: str) -> dict[str, Any]:
    """The OpenAPI document, with `server` (the API root path) as its server URL."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "NMPA AI device & policy tracker API", "version": "1.0.0",
                 "description": "Read-only access to tracked NMPA class-III (AI) device approvals and AI-in-healthcare "
                                "policies, with taxonomy tags, provenance and history. Every operation is a GET: "
                                "another method answers 405 with an `Allow` header and a problem document. Errors "
                                "are RFC 9457 problem documents (`application/problem+json`)."},
        "servers": [{"url": server.rstrip("/")}],
        "paths": {
            "/devices": {"get": {"summary": "List devices", "operationId": "listDevices",
                                 "parameters": _params(DEVICE_PARAMS), "responses": _list_response("Device")}},
            "/devices/{device_id}": {"get": {"summary": "One device with tags, provenance and history",
                                             "operationId": "getDevice",
                                             "parameters": [_id_param("device_id"), _ASOF],
                                             "responses": _object("The device.")}},
            "/policies": {"get": {"summary": "List policies", "operationId": "listPolicies",
                                  "parameters": _params(POLICY_PARAMS), "responses": _list_response("Policy")}},
            "/policies/{policy_id}": {"get": {"summary": "One policy with linked devices, provenance and history",
                                              "operationId": "getPolicy",
                                              "parameters": [_id_param("policy_id"), _ASOF,
                                                             *_params(LINK_PAGING)],
                                              "responses": _object("The policy.")}},
            "/tags": {"get": {"summary": "Taxonomy nodes with counts", "operationId": "listTags",
                              "parameters": _params([("facet", {"type": "string", "enum": list(taxonomy.FACETS)},
                                                      "Only the nodes of this facet.")]),
                              "responses": {"200": {"description": "Every node of the taxonomy (or of one facet).",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}},
                                            **ERRORS}}},
            "/runs": {"get": {"summary": "Scrape runs, newest first", "operationId": "listRuns",
                              "parameters": _params([
                                  ("source", _text(filters.MAX_SOURCE_CHARS), "Source slug."),
                                  ("outcome", {"type": "string", "enum": list(RUN_OUTCOMES)}, "Outcome."),
                                  *PAGING]),
                              "responses": _list_response("Run")}},
        },
        "components": {"schemas": {
            "Device": {"type": "object", "required": ["id", "cert_no", "product_name", "tags"],
                       "properties": {"id": _INT, "cert_no": _STR, "product_name": _STR,
                                      "registrant": {"type": ["string", "null"]}, "is_ai": {"type": "boolean"},
                                      "is_sample": {"type": "boolean"},
                                      "tags": {"type": "array", "items": _STR}}},
            "Policy": {"type": "object", "required": ["id", "title", "tags"],
                       "properties": {"id": _INT, "title": _STR, "issuer": {"type": ["string", "null"]},
                                      "issuer_printed": {"type": ["string", "null"]},
                                      "doc_no": {"type": ["string", "null"]},
                                      "doc_no_printed": {"type": ["string", "null"]},
                                      "published_on": {"type": ["string", "null"]}, "is_sample": {"type": "boolean"},
                                      "tags": {"type": "array", "items": _STR}}},
            "Problem": {"type": "object", "required": ["type", "title", "status"],
                        "properties": {"type": _STR, "title": _STR, "status": _INT, "detail": _STR,
                                       "invalid_params": {"type": "array", "items": {
                                           "type": "object", "required": ["name", "reason"],
                                           "properties": {"name": _STR, "reason": _STR}}}}},
            "Run": {"type": "object", "required": ["id", "source", "outcome"],
                    "properties": {"id": _INT, "source": _STR, "outcome": _STR, "started_at": _STR}},
        }},
    }
