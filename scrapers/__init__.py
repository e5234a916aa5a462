"""The source registry: one slug per source, used for the module name, fixtures, tests, job ids and the `source` column.

Adding a source means adding its module here; nothing discovers scrapers implicitly. The tracker never imports this
package: its composition roots (tracker.cli, web.create_app) hand `SOURCES` down, or `source` where the scraper is
needed in another process (a module-level function pickles by reference; a module does not pickle at all).
"""
from __future__ import annotations

from scrapers import cmde_guidance, govcn_policy, nmpa_approvals, nmpa_news, nmpa_notices, udi
from tracker.records import SourceModule

SOURCES: dict[str, SourceModule] = {
    module.SLUG: module
    for module in (udi, nmpa_approvals, nmpa_news, govcn_policy, nmpa_notices, cmde_guidance)
}


def source(slug: str) -> SourceModule:
    """The scraper module of `slug`; KeyError naming the known slugs otherwise."""
    try:
        return SOURCES[slug]
    except KeyError:
        raise KeyError(f"unknown source {slug!r}; known: {', '.join(sorted(SOURCES))}") from None
