"""The policy page lists its linked devices a page at a time: a general AI guidance is linked to every AI device
(13,000 of them in production), so the page shows the count, one page of rows and page links that keep the URL
shareable (as-of date included), on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select
from webseed import NOW, build_env

from tracker.ingest.write import write_records
from tracker.records import DeviceRecord
from tracker.store.models import PolicyDevice
from tracker.store.write import WriteContext
from web.policies import LINKS_PER_PAGE

EXTRA = LINKS_PER_PAGE + 12  # more AI devices than one page holds


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def paged_env(request, tmp_path_factory):
    """The seeded database plus EXTRA AI devices, which the classifier links to the general AI guidance."""
    env = build_env(request, tmp_path_factory.mktemp("paging"))
    records = [DeviceRecord(cert_no=f"国械注准2025321{9000 + i:04d}", product_name=f"肺结节CT影像辅助检测软件 型号{i:03d}",
                            registrant="示例分页医疗科技有限公司", catalogue_code="21-04-02",
                            description="基于深度学习的肺结节检测") for i in range(EXTRA)]
    with env.sessions.begin() as session:
        write_records(session, records, WriteContext(source="udi", now=NOW - timedelta(days=1)))
    yield env
    env.app.extensions["tracker"].engine.dispose()
    env.sessions.kw["bind"].dispose()


def linked_total(env) -> int:
    with env.sessions() as session:
        return session.execute(select(func.count()).select_from(PolicyDevice).where(
            PolicyDevice.policy_id == env.ids.policies["ai_guidance"])).scalar_one()


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return BeautifulSoup(response.get_data(as_text=True), "lxml").select_one("#links")


def test_policy_page_counts_links_and_pages_them(paged_env):
    client = paged_env.app.test_client()
    total = linked_total(paged_env)
    assert total > EXTRA > LINKS_PER_PAGE  # the seeded AI devices and the extra ones
    base = f"/policies/{paged_env.ids.policies['ai_guidance']}"

    first = page(client, base)
    assert first.select_one("h2 .count").get_text() == str(total)
    rows = first.select("tbody tr")
    assert len(rows) == LINKS_PER_PAGE
    assert "policy_link.ai_general" in first.get_text()  # the one reason, said once above the rows
    assert first.select_one(".pager .current").get_text() == "1"
    nxt = first.select_one(".pager a[rel=next]")["href"]
    assert urlsplit(nxt).path == base and parse_qs(urlsplit(nxt).query) == {"page": ["2"]}
    assert urlsplit(nxt).fragment == "links"

    second = page(client, nxt)
    second_rows = second.select("tbody tr")
    assert len(second_rows) == min(LINKS_PER_PAGE, total - LINKS_PER_PAGE)
    names = lambda rs: [r.select_one("td.name a").get_text() for r in rs]  # noqa: E731
    assert not set(names(rows)) & set(names(second_rows))
    assert second.select_one(".pager a[rel=prev]")["href"].split("#")[0] == base
    assert "第 51–" in second.get_text()  # which rows these are

    # every linked device is on exactly one page (the order has a tie-breaker, so pages never overlap)
    pages = -(-total // LINKS_PER_PAGE)
    everything = []
    for n in range(1, pages + 1):
        everything += names(page(client, f"{base}?page={n}").select("tbody tr"))
    assert len(everything) == len(set(everything)) == total


def test_page_links_keep_the_as_of_date_and_bad_pages_are_refused(paged_env):
    client = paged_env.app.test_client()
    base = f"/policies/{paged_env.ids.policies['ai_guidance']}"
    nxt = page(client, f"{base}?asof=2026-11-20").select_one(".pager a[rel=next]")["href"]
    assert parse_qs(urlsplit(nxt).query) == {"page": ["2"], "asof": ["2026-11-20"]}
    assert client.get(f"{base}?page=abc").status_code == 400
    last = -(-linked_total(paged_env) // LINKS_PER_PAGE)
    beyond = client.get(f"{base}?page={last + 1}&lang=en")  # past the end: no rows, a link to the last page
    soup = BeautifulSoup(beyond.get_data(as_text=True), "lxml")
    assert beyond.status_code == 404 and f"the last page is {last}" in soup.get_text()
    assert not soup.select("tbody tr")
    assert page(client, f"{base}?page={last}").select_one(".pager a[rel=next]") is None


def test_a_policy_with_few_links_has_no_pager(paged_env):
    client = paged_env.app.test_client()
    links = page(client, f"/policies/{paged_env.ids.policies['draft']}")
    assert links.select_one(".pager") is None
