"""In real headless Chromium: an administrator adds a signed webhook channel on /admin/channels, sends the test
message (the local receiver checks its signature), adds a watch on /admin/watches, and the deliveries page lists the
message; screenshots at phone (390 px) and desktop width go to /tmp/screens/."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.conftest import PASSWORD
from tests.conftest import served
from tracker.audit import users
from tracker.clock import utcnow
from tracker.dev.chatsinks import ChatSinks

SCREENS = Path("/tmp/screens")


@pytest.fixture
def live(settings, sessions):
    """The app on the test database (the wall clock: the receiver checks signature times), served in a thread."""
    from web import create_app

    with sessions.begin() as session:
        users.create_user(session, "admin", PASSWORD, "admin", actor="test", now=utcnow())
    with served(create_app(settings)) as url:
        yield url


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_admin_adds_a_webhook_tests_it_and_adds_a_watch_in_chromium(live, browser, db_url):
    receiver = ChatSinks().start()
    try:
        url = receiver.webhook_url("ra", "a-shared-secret-0123456789")
        SCREENS.mkdir(parents=True, exist_ok=True)
        for width, suffix in ((1366, "desktop"), (390, "phone")):
            context = browser.new_context(viewport={"width": width, "height": 900}, base_url=live)
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e, seen=problems: seen.append(str(e)))
            page.goto("/auth/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.goto("/admin/channels")
            if suffix == "desktop":
                form = page.locator("form[action$='/admin/channels']")
                form.locator("input[name=name]").fill("ra-hook")
                form.locator("select[name=kind]").select_option("webhook")
                form.locator("input[name=url]").fill(url)
                form.locator("input[name=secret]").fill("a-shared-secret-0123456789")
                form.locator("button[type=submit]").click()
                assert "ra-hook" in page.content() and "0123456789" not in page.content()
                page.locator("form[action$='/ra-hook/test'] button").click()
                assert page.locator("p.notice").first.inner_text().startswith("频道 ra-hook 的测试消息已送达")
                page.goto("/admin/watches")
                form = page.locator("form[action$='/admin/watches']")
                form.locator("input[name=name]").fill("影像")
                form.locator("select[name=area]").select_option("medical_imaging")
                form.locator("input[name=certificates]").fill("国械注准20213219904")
                form.locator("select[name=frequency]").select_option("daily")
                form.locator("select[name=hour]").select_option("8")
                form.locator("input[name=channel][value=ra-hook]").check()
                form.locator("button[type=submit]").click()
                listed = page.locator("table.list").inner_text()
                assert "影像" in listed and "国械注准20213219904" in listed and "08:00" in listed
            for path, lang in (("channels", "zh"), ("watches", "zh"), ("watches", "en"), ("deliveries", "zh")):
                page.goto(f"/admin/{path}?lang={lang}")
                assert page.locator("h1").count() == 1
                # No sideways scrolling at phone width: the page is as wide as the screen.
                assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (path, suffix)
                page.screenshot(path=str(SCREENS / f"admin-{path}-{lang}-{suffix}.png"), full_page=True)
            assert problems == []
            context.close()
        assert len(receiver.messages("webhook:ra")) == 1 and receiver.refused == []
    finally:
        receiver.stop()
