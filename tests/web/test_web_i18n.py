"""Every UI string the public pages use exists in Chinese and English, including the keys templates build from data
(status, outcome, stage, origin, facet, sort) and the labels of every field the history can show."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker import i18n
from tracker.classify import taxonomy
from tracker.read import filters
from tracker.store.models import RUN_OUTCOMES
from web.devices import DEVICE_SORT_CHOICES
from web.policies import POLICY_SORT_CHOICES
from web.serialize import DEVICE_FIELDS, POLICY_FIELDS

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
# The public pages of this blueprint set (the admin and subscription sides keep their own strings).
PUBLIC = [p for p in TEMPLATES.rglob("*.html") if p.parent.name not in ("admin", "auth", "subscribe")]


def test_every_literal_key_in_the_templates_is_translated():
    literal = re.compile(r"_\('([a-z0-9_]+)'(?=\s*[,)])")
    keys = {key for path in PUBLIC for key in literal.findall(path.read_text(encoding="utf-8"))}
    assert keys, "no keys found: the pattern no longer matches the templates"
    assert sorted(key for key in keys if not i18n.known(key)) == []


@pytest.mark.parametrize("key", sorted(
    [f"status_{s}" for s in ("active", "missing", "cancelled")]
    + [f"outcome_{o}" for o in RUN_OUTCOMES]
    + [f"stage_{s}" for s in filters.POLICY_STAGES]
    + [f"origin_{o}" for o in filters.ORIGINS]
    + [f"data_{d}" for d in filters.DATA_KINDS]
    + [f"facet_{f}" for f in ("ai",) + taxonomy.FACETS]
    + [f"method_{m}" for m in ("rule", "reviewer")]
    + [f"sort_{s}" for s in DEVICE_SORT_CHOICES + POLICY_SORT_CHOICES]
    + [f for f in set(DEVICE_FIELDS + POLICY_FIELDS) - {"id"}]
    + ["udi_di", "tags", "is_ai", "attachments", "body"]
))
def test_built_keys_exist_in_both_languages(key):
    assert i18n.known(key)
    zh, en = (i18n.gettext(key, lang) for lang in ("zh", "en"))
    assert zh.strip() and en.strip() and key not in (zh, en)


def test_every_seed_report_has_a_citation():
    for stem in taxonomy.REPORTS:
        for key in (f"report_{stem}", f"report_full_{stem}"):
            assert i18n.known(key) and i18n.gettext(key, "zh") != i18n.gettext(key, "en")
