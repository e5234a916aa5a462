"""Settings: one frozen object built from TRACKER_* environment variables and passed explicitly.

Nothing reads the environment at import time; `Settings.from_env()` is called once by the composition roots
(the CLI, the web app factory, the scheduler) and the result is handed down.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _default_var_dir() -> Path:
    return Path.cwd() / "var"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one tracker installation."""

    var_dir: Path = field(default_factory=_default_var_dir)
    database_url: str = ""
    secret_key: str = "dev-insecure-change-me"
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "NMPA AI Tracker <tracker@localhost>"
    admin_emails: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    public_base_url: str = "http://127.0.0.1:8000"
    source_urls: Mapping[str, str] = field(default_factory=dict)
    udi_scope: str = "class3"
    user_agent: str = "nmpa-ai-tracker/0.1 (+https://github.com/; self-hosted regulatory tracker)"
    chromium_path: str = "/usr/bin/chromium"
    sample_mode: bool = False
    require_login_for_lists: bool = False
    # The web app's cache of rendered list, search and device pages, per worker process (web/pagecache.py); 0: off.
    page_cache_mb: float = 64.0
    # ≥ 5 s between pages per host is the rule for real sites; a local stand-in (make run's sample server) may be
    # read faster. Only ever applied to loopback hosts.
    loopback_browser_interval: float = 0.2
    schedules: Mapping[str, str] = field(default_factory=dict)  # job id → crontab or "every 5m"
    job_time_limits: Mapping[str, float] = field(default_factory=dict)  # source slug → seconds

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir / 'tracker.sqlite3'}")

    @property
    def archive_dir(self) -> Path:
        """Root folder of the raw-response WARC archive."""
        return self.var_dir / "archive"

    @property
    def serves_https(self) -> bool:
        """Whether the site is served over https (its public base URL says so): secure cookies, HSTS."""
        return self.public_base_url.lower().startswith("https://")

    def source_url(self, slug: str, default: str) -> str:
        """The base URL of a source: an override from TRACKER_SOURCE_<SLUG>_URL, else the scraper's default."""
        return self.source_urls.get(slug, default).rstrip("/")

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed (settings stay immutable)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from TRACKER_* variables (defaults for the rest)."""
        env = os.environ if environ is None else environ
        kwargs: dict = {}
        if env.get("TRACKER_VAR_DIR"):
            kwargs["var_dir"] = Path(env["TRACKER_VAR_DIR"]).resolve()
        simple = {
            "TRACKER_DATABASE_URL": "database_url",
            "TRACKER_SECRET_KEY": "secret_key",
            "TRACKER_SMTP_URL": "smtp_url",
            "TRACKER_MAIL_FROM": "mail_from",
            "TRACKER_TIMEZONE": "timezone",
            "TRACKER_PUBLIC_BASE_URL": "public_base_url",
            "TRACKER_UDI_SCOPE": "udi_scope",
            "TRACKER_USER_AGENT": "user_agent",
            "TRACKER_CHROMIUM_PATH": "chromium_path",
        }
        for var, name in simple.items():
            if env.get(var):
                kwargs[name] = env[var]
        if env.get("TRACKER_ADMIN_EMAILS"):
            kwargs["admin_emails"] = tuple(a.strip() for a in env["TRACKER_ADMIN_EMAILS"].split(",") if a.strip())
        for var, name in (("TRACKER_SAMPLE_MODE", "sample_mode"),
                          ("TRACKER_REQUIRE_LOGIN_FOR_LISTS", "require_login_for_lists")):
            if env.get(var):
                kwargs[name] = env[var].lower() in ("1", "true", "yes")
        if env.get("TRACKER_PAGE_CACHE_MB"):
            kwargs["page_cache_mb"] = float(env["TRACKER_PAGE_CACHE_MB"])
        prefix, suffix = "TRACKER_SOURCE_", "_URL"
        kwargs["source_urls"] = {
            key[len(prefix):-len(suffix)].lower(): value
            for key, value in env.items()
            if key.startswith(prefix) and key.endswith(suffix) and value
        }
        # TRACKER_SCHEDULE_SCRAPE_UDI="30 9 * * *" → job "scrape:udi"; TRACKER_TIME_LIMIT_UDI=3600 → slug "udi".
        kwargs["schedules"] = {
            key[len("TRACKER_SCHEDULE_"):].lower().replace("_", ":", 1): value
            for key, value in env.items() if key.startswith("TRACKER_SCHEDULE_") and value
        }
        try:
            kwargs["job_time_limits"] = {
                key[len("TRACKER_TIME_LIMIT_"):].lower(): float(value)
                for key, value in env.items() if key.startswith("TRACKER_TIME_LIMIT_") and value
            }
        except ValueError as exc:
            raise ValueError(f"TRACKER_TIME_LIMIT_<SLUG> must be a number of seconds: {exc}") from None
        if kwargs.get("udi_scope", "class3") not in ("class3", "all_registrations"):
            raise ValueError("TRACKER_UDI_SCOPE must be 'class3' or 'all_registrations'")
        return cls(**kwargs)
