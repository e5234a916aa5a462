"""Plain dicts of devices, policies and runs for the JSON API and the CSV / XLSX / JSON exports (one shape for all)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tracker.store.models import Device, Policy, ScrapeRun

DEVICE_FIELDS = (
    "id", "cert_no", "product_name", "brand", "registrant", "registrant_en", "credit_code", "mgmt_class", "origin",
    "first_reg_year", "category_code", "catalogue_code", "model_spec", "description", "device_kind", "issued_on",
    "acceptance_no", "di_published_on", "withdrawn_on", "status", "is_ai", "ai_confidence", "is_sample",
    "first_seen", "updated_at",
)
POLICY_FIELDS = (
    "id", "title", "issuer", "doc_no", "issuer_printed", "doc_no_printed", "doc_type", "stage", "published_on", "written_on", "url", "summary",
    "subject", "status", "is_ai", "is_sample", "final_version_id", "first_seen", "updated_at",
)
RUN_FIELDS = (
    "id", "source", "trigger", "started_at", "finished_at", "outcome", "complete", "is_sample", "fetched", "new",
    "changed", "unchanged", "skipped", "out_of_scope", "missing", "error",
)
# Spreadsheet programs run a cell that starts with one of these as a formula; scraped text must never be one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> Any:
    """A JSON-ready value: ISO strings for dates and times, everything else unchanged."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def device_dict(device: Device, tags: list[str]) -> dict[str, Any]:
    """A device as a flat dict (tags as "facet:code" strings)."""
    return {**{name: plain(getattr(device, name)) for name in DEVICE_FIELDS}, "tags": tags}


def policy_dict(policy: Policy, tags: list[str], *, body: bool = False) -> dict[str, Any]:
    """A policy as a flat dict; the (long) body text only when asked for."""
    out = {name: plain(getattr(policy, name)) for name in POLICY_FIELDS}
    out["attachments"] = [a for a in (policy.attachments or []) if isinstance(a, dict)]
    if body:
        out["body"] = policy.body
    out["tags"] = tags
    return out


def run_dict(run: ScrapeRun) -> dict[str, Any]:
    """A scrape run as a flat dict."""
    return {name: plain(getattr(run, name)) for name in RUN_FIELDS}


def neutralise_formula(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would run it as a formula (CSV has no cell types)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
