"""The catalogue of strings people read, in Chinese and English, as gettext catalogues every side uses.

The web pages (through Flask-Babel, configured on LOCALE_DIR), e-mails, exports and CLI messages all read
`locale/{zh,en}/LC_MESSAGES/messages.po`. A message id is a stable key (`nav_devices`, `refused_range`), never
English text, so a page names what it says and both languages are translations of the key. Placeholders are
`%(name)s`. The `.po` files are the source (in the repository); the `.mo` files gettext reads are compiled from them
on install (`python -m tracker.i18n`) and again by `compile_catalogues()` whenever a `.po` is newer, so no binary
is committed and an edited catalogue is never read stale. A key missing from a catalogue reads as the key itself, so
a forgotten string is visible rather than blank.
"""
from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def po_path(lang: str) -> Path:
    """The `.po` catalogue of `lang` (the file people edit)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(lang: str) -> Catalog:
    """The parsed `.po` catalogue of `lang`."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def write_catalogue(catalog: Catalog, lang: str) -> None:
    """Write `catalog` as the `.po` of `lang`, sorted by key and unwrapped (one line per text: small, clean diffs)."""
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, no_location=True, omit_header=False, sort_output=True)


def compile_catalogues(force: bool = False) -> list[Path]:
    """Compile every `.po` whose `.mo` is missing or older (all with `force`); return the `.mo` files written.

    The write goes to a temporary file renamed into place, so processes starting together never read half a file.
    """
    written = []
    for lang in LANGS:
        po = po_path(lang)
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = read_catalogue(lang)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo)
        written.append(mo)
    translations.cache_clear()
    return written


@lru_cache(maxsize=None)
def translations(lang: str) -> Translations:
    """The compiled translations of `lang` (a `babel.support.Translations`, as Flask-Babel loads them)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")
    mo = po_path(lang).with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po_path(lang).stat().st_mtime:
        compile_catalogues()
    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


def gettext(key: str, lang: str, **values: object) -> str:
    """The string `key` in `lang`, with `%(name)s` placeholders filled from `values`."""
    text = translations(lang).ugettext(key)
    return text % values if values else text


def ngettext(key: str, plural_key: str, n: int, lang: str, **values: object) -> str:
    """The string `key` (one) or `plural_key` (many) in `lang` chosen by `n` under the language's plural rule;
    `%(num)s` is `n`, other placeholders come from `values`."""
    text = translations(lang).ungettext(key, plural_key, n)
    return text % {"num": n, **values}


def known(key: str) -> bool:
    """Whether the catalogue has `key` (for callers that build a key from data and fall back when it is absent)."""
    return key in _keys()


@lru_cache(maxsize=1)
def _keys() -> frozenset[str]:
    return frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in read_catalogue(DEFAULT_LANG) if m.id)
