"""Both languages everywhere: every page of tests/web/pagemap.py, in Chinese and in English, shows only words of its
own language, apart from the records' own text (names, titles, registrants as stored), codes and a short list of
names and units; and the catalogues have every message in both languages.

How a page is read: its visible text (not scripts or styles, not <code>/<kbd>/<samp> or class "mono", which show
codes and identifiers verbatim, not an element marked as another language with `lang` or as stored text not to be
translated with `translate="no"`, such as a history cell whose changed words are marked) and
the attributes people read (title, placeholder, aria-label, alt, value of buttons). Every string stored in the
database is cut out first, so a device's Chinese name on an English page or a German registrant on a Chinese page is
not a finding; what remains must be Chinese on a Chinese page and carry no Chinese on an English one. A message key
showing as itself (a string missing from the catalogue) is a finding in both.
"""
from __future__ import annotations

import json
import re

import pytest
from lxml import html as lxml_html
from pagemap import NOT_PAGES, PAGES, prepare, unlisted
from sqlalchemy import String, Text, select
from webseed import build_env

from tracker import i18n
from tracker.store.models import Base

# Names and units that stay Latin in Chinese text (as Chinese sites write them); acronyms in capitals (AI, UDI, CT,
# HTTP, XLSX) are names too and always allowed.
# Products named as they call themselves (the chat platforms and the notification library of the channels page).
LATIN_ALLOWED = {"Atom", "OpenAPI", "sha", "px", "Slack", "Webhook", "Apprise"}
ACRONYM = re.compile(r"^[A-Z][A-Z0-9]+$")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
KEY_LIKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
SKIP_TAGS = {  # and any element of class "mono", which shows identifiers and codes verbatim
"script", "style", "code", "kbd", "samp", "template"}


@pytest.fixture(scope="module", params=["sqlite"])
def prepared(request, tmp_path_factory):
    prepared = prepare(build_env(request, tmp_path_factory.mktemp("pages")))
    yield prepared
    prepared.env.app.extensions["tracker"].engine.dispose()


@pytest.fixture(scope="module")
def stored_text(prepared) -> re.Pattern:
    """A pattern of every string stored in the seeded database (JSON values opened up), longest first."""
    found: set[str] = set()
    with prepared.env.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text)) or "JSON" in type(c.type).__name__]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for value in row:
                    _collect(value, found)
    return stored_pattern(found)


def stored_pattern(values) -> re.Pattern:
    """One pattern matching any of `values`, longest first; a value starting or ending with a Latin letter or digit
    matches only as whole words there, so a stored "ok" does not cut the middle out of "book"."""
    parts = []
    for value in sorted((v for v in values if v.strip()), key=len, reverse=True):
        edge_before = r"(?<![A-Za-z0-9])" if re.match(r"[A-Za-z0-9]", value) else ""
        edge_after = r"(?![A-Za-z0-9])" if re.search(r"[A-Za-z0-9]$", value) else ""
        parts.append(edge_before + re.escape(value) + edge_after)
    return re.compile("|".join(parts))


def _collect(value, found: set[str]) -> None:
    if isinstance(value, str):
        found.add(value)
        found.update(line.strip() for line in value.splitlines())
        if value[:1] in "[{":
            try:
                _collect(json.loads(value), found)
            except ValueError:
                pass
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(k, found)
            _collect(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, found)


def _skipped(element, lang: str) -> bool:
    """Whether an element's own text is out of scope: code, scripts, or text declared in another language
    (`lang="en"` on the language switch of a Chinese page)."""
    return (element.tag in SKIP_TAGS or "mono" in (element.get("class") or "").split()
            or element.get("lang", lang) != lang or element.get("translate") == "no")


def visible_texts(page_html: str, lang: str) -> list[str]:
    """The text people see or hear on a page: text nodes outside scripts and code, and the readable attributes."""
    tree = lxml_html.fromstring(page_html)
    out = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag == "html":
            continue
        if any(_skipped(a, lang) for a in [element, *element.iterancestors()] if a.tag != "html"):
            continue
        if element.text and element.text.strip():
            out.append(element.text.strip())
        for name in ATTRIBUTES:
            if element.get(name):
                out.append(element.get(name))
        if element.tag in ("input", "button") and element.get("type") in ("submit", "button") and element.get("value"):
            out.append(element.get("value"))
    for element in tree.iter():
        if isinstance(element.tag, str) and element.tail and element.tail.strip():
            parent = element.getparent()
            if parent is not None and not any(_skipped(a, lang) for a in [parent, *parent.iterancestors()]
                                              if a.tag != "html"):
                out.append(element.tail.strip())
    title = tree.find(".//title")
    if title is not None and title.text:
        out.append(title.text.strip())
    return out


def findings(page_html: str, lang: str, stored: re.Pattern) -> list[str]:
    """The strings of a page that are not in its language."""
    bad = []
    for text in visible_texts(page_html, lang):
        rest = stored.sub(" ", text)  # the records' own text is not the page's wording
        keys = [k for k in KEY_LIKE.findall(rest) if i18n.known(k) or k.startswith(("refused_", "outcome_"))]
        if keys:
            bad.append(f"message key shown: {keys} in {text!r}")
        if lang == "en" and CJK.search(rest):
            bad.append(f"Chinese on an English page: {text!r}")
        if lang == "zh":
            latin = [w for w in LATIN_WORD.findall(rest) if w not in LATIN_ALLOWED and not ACRONYM.match(w)]
            if latin:
                bad.append(f"English on a Chinese page: {latin} in {text!r}")
    return bad


def test_every_get_route_is_a_listed_page_or_says_why_not(prepared):
    assert unlisted(prepared.env.app) == set(), "add the route to tests/web/pagemap.py (PAGES or NOT_PAGES)"
    assert not {p.endpoint for p in PAGES} & set(NOT_PAGES)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_page_speaks_one_language(prepared, stored_text, page, lang):
    client = prepared.client(page.login)
    url = page.path(prepared.site)
    response = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert response.status_code == page.status, (url, response.status_code)
    body = response.get_data(as_text=True)
    assert f'lang="{lang}' in body[:400]
    found = findings(body, lang, stored_text)
    assert found == [], "\n".join(found)


def test_the_checker_finds_wrong_language_and_raw_keys():
    stored = stored_pattern(["Example Imaging GmbH", "肺结节CT影像辅助检测软件", "a", "ok"])
    page = ("<html><body><p>器械 Devices</p><p title='Search'>搜索</p><p>Example Imaging GmbH</p>"
            "<code>medical_imaging</code><p>nav_devices</p><p>book</p></body></html>")
    found = findings(page, "zh", stored)
    assert any("Devices" in f for f in found) and any("Search" in f for f in found)
    assert any("nav_devices" in f for f in found) and any("book" in f for f in found)
    assert not any("GmbH" in f or "medical_imaging" in f for f in found)
    english = "<html><body><p>Devices 器械</p><p>肺结节CT影像辅助检测软件</p></body></html>"
    assert findings(english, "en", stored) == ["Chinese on an English page: 'Devices 器械'"]


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_has_a_translation_in_both_languages(lang):
    catalogues = {code: i18n.read_catalogue(code) for code in i18n.LANGS}
    ids = {code: {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id} for code, cat in catalogues.items()}
    assert ids[lang] == ids["zh"] == ids["en"]
    empty = [m.id for m in catalogues[lang] if m.id and (not m.string or (isinstance(m.string, tuple)
                                                                           and not all(m.string)))]
    assert empty == []
