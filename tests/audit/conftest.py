"""Fixtures for the audit/administration tests: devices stored through the real write path, accounts, a web client."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tracker.audit import users
from tracker.ingest.write import write_records
from tracker.records import DeviceRecord
from tracker.store.models import Device
from tracker.store.write import WriteContext

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PASSWORD = "correct horse battery"


def store_devices(sessions, clock, *products: tuple[str, str | None], source: str = "udi") -> list[int]:
    """Store synthetic devices (serial 99xx) through the real writer, classifier included; returns their ids."""
    records = [
        DeviceRecord(cert_no=f"国械注准2026321{9900 + i:04d}", product_name=name, description=description,
                     registrant="示例医疗科技有限公司", catalogue_code="21-04")
        for i, (name, description) in enumerate(products)
    ]
    with sessions.begin() as session:
        write_records(session, records, WriteContext(source=source, now=clock()))
        return [session.execute(select(Device.id).where(Device.cert_no == r.cert_no)).scalar_one() for r in records]


@pytest.fixture
def accounts(sessions, clock) -> dict[str, str]:
    """One active account per role (username = role name) plus a disabled reviewer; all share PASSWORD."""
    with sessions.begin() as session:
        for role in users.ROLES:
            users.create_user(session, role, PASSWORD, role, actor="test", now=clock())
        users.create_user(session, "retired", PASSWORD, "reviewer", actor="test", now=clock())
        users.disable_user(session, "retired", actor="test", now=clock())
    return {role: role for role in users.ROLES}


def login(client, username: str, password: str = PASSWORD, **extra):
    """Log in through the real form (fetching the CSRF token from the login page first)."""
    page = client.get("/auth/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token,
                                            **extra})


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


@pytest.fixture
def store(sessions, clock):
    """`store(*(name, description))` → device ids (see store_devices)."""
    return lambda *products, **kw: store_devices(sessions, clock, *products, **kw)


@pytest.fixture
def log_in():
    """`log_in(client, username, password=PASSWORD)` → the login response."""
    return login


@pytest.fixture
def csrf():
    """`csrf(html)` → the CSRF token of the page's first form."""
    return csrf_from
