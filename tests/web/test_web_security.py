"""App-wide protections on a fresh app: CSRF tokens on state-changing requests, request size limit, no scheduler or
environment reads at import, parameterised queries (a hostile search leaves the data intact)."""
from __future__ import annotations

import importlib
import sys

from bs4 import BeautifulSoup
from flask import render_template_string, request
from sqlalchemy import func, select

from tracker.config import Settings
from tracker.store.models import Device
from web import create_app


def _app_with_form(settings):
    """The real app plus one state-changing form, as any later blueprint (e.g. reviewer decisions) would add."""
    app = create_app(settings)

    @app.route("/_test/form", methods=["GET", "POST"])
    def form():
        if request.method == "POST":
            return "changed: " + request.form.get("value", "")
        return render_template_string(
            '<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
            '<input name="value"></form>')

    return app


def test_post_without_csrf_token_is_refused(settings):
    client = _app_with_form(settings).test_client()
    assert client.post("/_test/form", data={"value": "x"}).status_code == 400
    assert client.post("/_test/form", data={"value": "x", "csrf_token": "forged"}).status_code == 400


def test_post_with_the_form_token_is_accepted(settings):
    client = _app_with_form(settings).test_client()
    token = BeautifulSoup(client.get("/_test/form").get_data(as_text=True), "lxml").find(
        "input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/_test/form", data={"value": "ok", "csrf_token": token})
    assert response.status_code == 200 and response.get_data(as_text=True) == "changed: ok"


def test_oversized_request_body_is_refused(settings):
    client = _app_with_form(settings).test_client()
    response = client.post("/_test/form", data={"value": "x" * (200 * 1024)})
    assert response.status_code == 413


def test_sql_injection_attempts_are_data(settings, sessions, clock):
    from tracker.ingest.write import write_records
    from tracker.records import DeviceRecord
    from tracker.store.write import WriteContext

    with sessions.begin() as session:
        write_records(session, [DeviceRecord(cert_no="国械注准20203219911", product_name="测试软件'; DROP TABLE device; --")],
                      WriteContext(source="udi", now=clock()))
    client = create_app(settings).test_client()
    for q in ("' OR 1=1 --", "'; DROP TABLE device; --", '" OR ""="', "%' OR '1'='1", "1); DELETE FROM device; --"):
        for url in ("/devices", "/policies", "/companies", "/api/v1/devices"):
            assert client.get(url, query_string={"q": q}).status_code == 200
    found = client.get("/api/v1/devices", query_string={"q": "'; DROP TABLE device; --"}).get_json()
    assert [d["cert_no"] for d in found["items"]] == ["国械注准20203219911"]
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Device)).scalar_one() == 1


def test_importing_web_reads_no_settings_and_starts_nothing(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("settings read at import time")

    monkeypatch.setattr(Settings, "from_env", classmethod(refuse))
    for name in [m for m in sys.modules if m == "web" or m.startswith("web.")]:
        monkeypatch.delitem(sys.modules, name)
    before = set(sys.modules)
    web = importlib.import_module("web")  # imports every blueprint module too
    assert all(hasattr(module, "bp") for module in web.BLUEPRINTS)
    assert not [m for m in set(sys.modules) - before if m.startswith(("apscheduler", "tracker.schedule.scheduler"))]


def test_create_app_uses_the_given_settings(settings, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    assert app.extensions["tracker"].settings is settings
    assert app.config["SECRET_KEY"] == "test-secret"
    assert app.test_client().get("/devices").status_code == 200


def test_spreadsheet_exports_neutralise_formulas(settings, sessions, clock):
    import csv
    import io

    from openpyxl import load_workbook

    from tracker.ingest.write import write_records
    from tracker.records import DeviceRecord
    from tracker.store.write import WriteContext

    name = '=HYPERLINK("http://evil.example","点击")'
    with sessions.begin() as session:
        write_records(session, [DeviceRecord(cert_no="国械注准20203219912", product_name=name, registrant="+cmd|calc")],
                      WriteContext(source="udi", now=clock()))
    client = create_app(settings).test_client()
    row = next(csv.DictReader(io.StringIO(client.get("/export/devices.csv?headers=codes").get_data().decode("utf-8-sig"))))
    assert row["product_name"] == "'" + name and row["registrant"] == "'+cmd|calc"
    sheet = load_workbook(io.BytesIO(client.get("/export/devices.xlsx?headers=codes").get_data())).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("product_name") + 1)
    assert cell.value == name and cell.data_type == "s"  # a text cell by type: shown as scraped, never run
