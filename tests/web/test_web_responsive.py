"""Every page of tests/web/pagemap.py in real headless Chromium, on a phone (390×844) and a desktop (1366×768), in
Chinese and English: the page never scrolls sideways (the document is no wider than the window; wide tables become
stacked cards or scroll inside their own box), and links and buttons are big enough to tap on the phone.

A screenshot of each goes to /tmp/screens/responsive/<page>-<lang>-<size>.png, to be looked at, not only taken.
Skips only when Chromium or Playwright is truly absent and TRACKER_REQUIRE_REAL is not "1".
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from pagemap import ADMIN, PAGES, prepare
from webseed import build_env

from tests.audit.conftest import PASSWORD
from tests.conftest import served

SCREENS = Path("/tmp/screens/responsive")
SIZES = {"phone": (390, 844), "desktop": (1366, 768)}
MIN_TAP = 24  # px: WCAG 2.2 target size (minimum); inline links inside running text are exempt there too

# What the page measures: its width against the window's, and every link or button a finger is meant to hit (those
# outside running text: navigation, pagers, buttons, chips) that is smaller than MIN_TAP in both directions.
MEASURE = r"""([minTap, screenWidth]) => {
  const doc = document.documentElement;
  const small = [];
  for (const el of document.querySelectorAll('a, button, select, input:not([type=hidden]), summary')) {
    // A checkbox or radio button is hit through its label, which is the target to measure.
    const target = (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) || el;
    const r = target.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;            // not shown
    if (el.closest('p, li.prose, td, th, dd, .small, footer')) continue;  // a link inside running text or a cell
    if (r.width < minTap && r.height < minTap) small.push((el.innerText || el.name || el.tagName).trim().slice(0, 40));
  }
  // The outermost elements reaching past the screen's width, outside boxes that scroll on their own: where to look
  // when the page is too wide.
  const scrollsInside = el => { for (let a = el.parentElement; a; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.getBoundingClientRect().right > screenWidth + 1 && !wide.some(w => w.contains(el)) && !scrollsInside(el))
      wide.push(el);
  }
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ?
                                                 '.' + el.className.trim().split(/\s+/).join('.') : '');
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, small: small,
          wide: wide.slice(0, 8).map(el => name(el) + ' ' + Math.round(el.getBoundingClientRect().width) + 'px')};
}"""


@pytest.fixture(scope="module", params=["sqlite"])
def site(request, tmp_path_factory):
    """The seeded app (with pagemap's additions) served by werkzeug on 127.0.0.1 in a thread."""
    prepared = prepare(build_env(request, tmp_path_factory.mktemp("responsive")))
    with served(prepared.env.app) as url:
        yield prepared, url



@pytest.fixture(scope="module")
def contexts(browser, site) -> Iterator[dict]:
    """One browser context per (size, logged in), reused across pages; the logged-in ones went through the form."""
    _, base = site
    made: dict = {}

    def get(size: str, logged_in: bool):
        if (size, logged_in) not in made:
            width, height = SIZES[size]
            context = browser.new_context(viewport={"width": width, "height": height}, base_url=base,
                                          is_mobile=size == "phone", has_touch=size == "phone")
            if logged_in:
                page = context.new_page()
                page.goto("/auth/login")
                page.fill("#username", ADMIN)
                page.fill("#password", PASSWORD)
                with page.expect_navigation():
                    page.click("form.form-stack button[type=submit]")
                page.close()
            made[size, logged_in] = context
        return made[size, logged_in]

    yield get
    for context in made.values():
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_spec", PAGES, ids=[p.name for p in PAGES])
def test_page_fits_the_window(site, contexts, page_spec, lang, size):
    prepared, _ = site
    page = contexts(size, page_spec.login).new_page()
    try:
        url = page_spec.path(prepared.site)
        response = page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert response is not None and response.status == page_spec.status
        page.wait_for_load_state("load")
        measured = page.evaluate(MEASURE, [MIN_TAP, SIZES[size][0]])
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"{page_spec.name}-{lang}-{size}.png"), full_page=True)
    finally:
        page.close()
    # Against the device's width, not innerWidth: a mobile browser widens its layout viewport to fit a page that
    # overflows (and zooms out), so innerWidth grows with the very overflow this test looks for.
    width = SIZES[size][0]
    assert measured["scrollWidth"] <= width and measured["innerWidth"] <= width, (
        f"{url} is {measured['scrollWidth']} px wide (layout viewport {measured['innerWidth']} px) on a {width} px "
        f"screen; too wide: {measured['wide']}")
    if size == "phone":
        assert measured["small"] == [], f"tap targets under {MIN_TAP} px: {measured['small']}"
