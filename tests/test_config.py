"""Settings come only from TRACKER_* variables handed in, with sane defaults."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tracker.config import Settings


def test_defaults_use_sqlite_under_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'tracker.sqlite3'}"
    assert settings.timezone == "Asia/Shanghai" and settings.udi_scope == "class3"
    assert settings.archive_dir == tmp_path / "var" / "archive"


def test_environment_overrides():
    settings = Settings.from_env({
        "TRACKER_DATABASE_URL": "postgresql://u@h/db", "TRACKER_SECRET_KEY": "s", "TRACKER_VAR_DIR": "/srv/t",
        "TRACKER_SOURCE_NMPA_APPROVALS_URL": "http://127.0.0.1:9000/x/", "TRACKER_SAMPLE_MODE": "1",
        "TRACKER_SCHEDULE_SCRAPE_UDI": "30 9 * * *", "TRACKER_SCHEDULE_DIGEST_DAILY": "0 8 * * *",
        "TRACKER_TIME_LIMIT_UDI": "3600", "TRACKER_ADMIN_EMAILS": "a@example.org, b@example.org",
    })
    assert settings.database_url == "postgresql://u@h/db" and settings.var_dir == Path("/srv/t")
    assert settings.source_url("nmpa_approvals", "https://real") == "http://127.0.0.1:9000/x"
    assert settings.source_url("udi", "https://udi.nmpa.gov.cn") == "https://udi.nmpa.gov.cn"
    assert settings.sample_mode is True
    assert settings.schedules == {"scrape:udi": "30 9 * * *", "digest:daily": "0 8 * * *"}
    assert settings.job_time_limits == {"udi": 3600.0}
    assert settings.admin_emails == ("a@example.org", "b@example.org")


@pytest.mark.parametrize("env, message", [
    ({"TRACKER_UDI_SCOPE": "everything"}, "TRACKER_UDI_SCOPE"),
    ({"TRACKER_TIME_LIMIT_UDI": "an hour"}, "TRACKER_TIME_LIMIT"),
])
def test_bad_values_are_refused_with_the_variable_named(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_settings_are_immutable():
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.secret_key = "x"  # type: ignore[misc]
    assert settings.replace(secret_key="x").secret_key == "x"
