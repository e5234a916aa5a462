"""The source registry: one slug per source, used for the module name, fixtures, tests, job ids and the `source` column.

Adding a source means adding its module here; nothing discovers scrapers implicitly.
"""
from __future__ import annotations

from types import ModuleType

from scrapers import cmde_guidance, govcn_policy, nmpa_approvals, nmpa_news, nmpa_notices, udi

SOURCES: dict[str, ModuleType] = {
    module.SLUG: module
    for module in (udi, nmpa_approvals, nmpa_news, govcn_policy, nmpa_notices, cmde_guidance)
}
