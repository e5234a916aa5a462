"""The dependency rules of DESIGN.md §2, checked by reading imports, and the one-slug-everywhere rule."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger

import scrapers
from tracker.classify import taxonomy
from tracker.records import SourceModule

ROOT = Path(__file__).resolve().parent.parent
# The scraper contract: records, identifiers (certificate and document numbers, issuers, policy kinds) and fetching.
SCRAPER_ALLOWED_TRACKER = ("tracker.records", "tracker.ids", "tracker.fetch")
SCRAPER_ALLOWED_THIRD_PARTY = {"httpx", "bs4", "lxml"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
                if (ROOT / node.module.replace(".", "/")).is_dir():  # `from tracker.ids import certno`
                    names.update(f"{node.module}.{alias.name}" for alias in node.names)
                    names.discard(node.module)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("scrapers"), ids=lambda p: p.name)
def test_scrapers_import_only_the_contract_stdlib_and_parsers(path):
    import sys

    for name in imported_modules(path):
        top = name.split(".")[0]
        if top in ("scrapers", "__future__") or top in sys.stdlib_module_names:
            continue
        if top == "tracker":
            assert name.startswith(SCRAPER_ALLOWED_TRACKER), f"{path.name} imports {name}"
            continue
        assert top in SCRAPER_ALLOWED_THIRD_PARTY, f"{path.name} imports {name} (no DB, Flask or other libraries)"


@pytest.mark.parametrize("path", python_files("tracker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_tracker_never_imports_web_or_scrapers_outside_the_cli(path):
    # tracker/cli is the composition root: it takes the scrapers registry and hands it down as an argument.
    in_cli = path.parent == ROOT / "tracker" / "cli"
    for name in imported_modules(path):
        if name.split(".")[0] in ("web", "scrapers"):
            assert in_cli, f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("path", python_files("tracker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_the_cli_imports_the_cli(path):
    if path.parent != ROOT / "tracker" / "cli":
        assert not [n for n in imported_modules(path) if n.startswith("tracker.cli")], path.relative_to(ROOT)


def test_no_module_reads_the_environment_at_import_time():
    offenders = []
    for path in python_files("tracker") + python_files("scrapers") + python_files("web"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level statements; bodies of functions and classes run later
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if "os.environ" in ast.unparse(node) or "getenv" in ast.unparse(node):
                offenders.append(path.name)
    assert offenders == []


@pytest.mark.parametrize("slug", sorted(scrapers.SOURCES))
def test_every_source_uses_its_slug_everywhere(slug):
    module = scrapers.SOURCES[slug]
    assert module.__name__ == f"scrapers.{slug}" and module.SLUG == slug
    assert (ROOT / "tests" / "fixtures" / slug).is_dir(), f"tests/fixtures/{slug}/ missing"
    assert (ROOT / "tests" / "scrapers" / f"test_{slug}.py").is_file(), f"tests/scrapers/test_{slug}.py missing"
    assert (ROOT / "samples" / slug).is_dir(), f"samples/{slug}/ missing"
    for name in SourceModule.__annotations__:  # every setting of the SourceModule contract, with its type
        assert hasattr(module, name), f"scrapers.{slug} lacks {name}"
    assert callable(module.parse) and callable(module.crawl)
    assert module.KIND in ("device", "policy")
    CronTrigger.from_crontab(module.SCHEDULE, timezone="Asia/Shanghai")  # a valid 5-field crontab
    assert isinstance(module.TIME_LIMIT, (int, float)) and module.TIME_LIMIT > 0
    assert isinstance(module.STALE_AFTER, timedelta) and module.STALE_AFTER > timedelta(0)
    assert scrapers.source(slug) is module


def test_an_unknown_slug_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="unknown source 'nope'; known: cmde_guidance, govcn_policy"):
        scrapers.source("nope")


def test_taxonomy_codes_are_stable_lowercase_dotted():
    for node in taxonomy.all_nodes():
        assert node.code == node.code.lower() and " " not in node.code
