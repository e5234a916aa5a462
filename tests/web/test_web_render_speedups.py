"""The list pages' rendering shortcuts give the very HTML and strings of what they replaced.

`web.templating.tag_chips` replaced a Jinja macro (kept below as the reference, verbatim) and `web.i18n.gettext`
reads the request's catalogue once instead of through Flask-Babel per string: both are compared with the original on
the seeded store's tags, on hostile codes, and in both languages.
"""
from __future__ import annotations

import flask_babel
import pytest

from tracker.i18n import LANGS
from tracker.read import pages
from web import templating
from web.i18n import gettext

# The macro web/templates/_macros.html had until tag chips were built in Python (unchanged, with the environment's
# trim_blocks / lstrip_blocks doing the whitespace).
REFERENCE_MACRO = """{% macro tag_chips(pairs, facets=('area', 'disease', 'function'), endpoint='devices.index') -%}
<span class="chips">
{% for facet, code in pairs if facet in facets %}
  {% set arg = 'sub' if (facet == 'area' and '.' in code and endpoint == 'devices.index') else ('type' if facet == 'policy_type' else facet) %}
  <a class="chip chip-{{ facet }}" href="{{ link(endpoint, **{arg: code}) }}">{{ label(code) }}</a>
{% endfor %}
</span>
{%- endmacro %}"""

HOSTILE = [("area", "<script>x</script>"), ("function", 'a"b&c'), ("disease", "medical_imaging.ct"),
           ("area", "medical_imaging.ct"), ("area", "medical_imaging"), ("policy_type", "notice"),
           ("scenario", "x'y"), ("site", "lung"), ("issuer", "nmpa")]
FACET_SETS = [(("area", "disease", "function"), "devices.index"),
              (("area", "function", "disease", "site", "signal"), "devices.index"),
              (("area", "scenario"), "policies.index"), (("area", "issuer", "scenario"), "policies.index"),
              (("area", "policy_type", "function"), "policies.index")]


def _seeded_pairs(web_env) -> list[list[tuple[str, str]]]:
    with web_env.sessions() as session:
        devices = pages.effective_tags_of(session, "device", range(1, 400))
        policies = pages.effective_tags_of(session, "policy", range(1, 200))
    return list(devices.values()) + list(policies.values())


@pytest.mark.parametrize("lang", LANGS)
def test_tag_chips_render_what_the_macro_rendered(app, web_env, lang):
    rows = _seeded_pairs(web_env) + [HOSTILE, [], HOSTILE[::-1]]
    assert sum(len(r) for r in rows) > 50  # the seed has tagged rows to compare on
    macro = app.jinja_env.from_string(REFERENCE_MACRO).module.tag_chips
    with app.test_request_context(f"/devices?lang={lang}"):
        for pairs in rows:
            for facets, endpoint in FACET_SETS:
                expected = str(macro(pairs, facets=facets, endpoint=endpoint))
                assert str(templating.tag_chips(pairs, facets=facets, endpoint=endpoint)) == expected
        assert str(templating.tag_chips(rows[0])) == str(macro(rows[0]))  # the defaults too


@pytest.mark.parametrize("lang", LANGS)
def test_gettext_gives_flask_babels_strings(app, lang):
    keys = ["ai_badge", "results", "first_reg_short", "class_n", "no_such_key_here", "page_of", "sort_-issued"]
    values = {"n": 3, "y": 2024, "page": 2, "pages": 9}
    with app.test_request_context(f"/devices?lang={lang}"):
        for key in keys:
            assert gettext(key) == flask_babel.gettext(key), key
            assert gettext(key, **values) == flask_babel.gettext(key, **values), key
        assert gettext("ai_only") != gettext("ai_only_missing_key")
    with app.test_request_context("/devices?lang=zh"):
        zh = gettext("devices_title")
    with app.test_request_context("/devices?lang=en"):
        assert gettext("devices_title") != zh  # the catalogue kept in `g` is the request's, not the first one's
