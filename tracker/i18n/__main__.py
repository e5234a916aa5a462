"""`python -m tracker.i18n`: compile the catalogues (what `make install` runs).
`python -m tracker.i18n set KEY ZH EN`: add or change one string in both languages, keeping the files sorted."""
from __future__ import annotations

import sys

from babel.messages.catalog import Message

from tracker.i18n import LANGS, compile_catalogues, read_catalogue, write_catalogue


def main(argv: list[str]) -> int:
    """Run the command in `argv`; return the exit status."""
    if not argv:
        for mo in compile_catalogues(force=True):
            print(f"compiled {mo}")
        return 0
    if argv[0] == "set" and len(argv) == 4:
        key, texts = argv[1], dict(zip(LANGS, argv[2:], strict=True))
        for lang in LANGS:
            catalog = read_catalogue(lang)
            # Babel's `catalog[key] = ...` keeps the old text of an existing key: delete it first so `set` replaces.
            if key in catalog:
                del catalog[key]
            catalog[key] = Message(key, texts[lang])
            write_catalogue(catalog, lang)
        compile_catalogues()
        print(f"{key}: " + " | ".join(texts[lang] for lang in LANGS))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
