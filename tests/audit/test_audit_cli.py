"""`tracker user ...` and `tracker audit log` through the real command line (click), on the test database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tracker.audit import users
from tracker.cli.main import main


@pytest.fixture
def run(settings):
    env = {"TRACKER_DATABASE_URL": settings.database_url, "TRACKER_VAR_DIR": str(settings.var_dir)}

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), input=stdin, env=env)

    return invoke


def test_user_lifecycle_from_the_command_line(run, sessions, clock):
    created = run("user", "add", "rita", "--role", "reviewer", "--password-stdin", "--reason", "new auditor",
                  stdin="a long enough password\n")
    assert created.exit_code == 0, created.output
    assert run("user", "add", "rita", "--password-stdin", stdin="a long enough password\n").exit_code == 2
    assert run("user", "add", "sam", "--password-stdin", stdin="short\n").exit_code == 2
    prompted = run("user", "add", "sam", "--role", "viewer", stdin="another long password\nanother long password\n")
    assert prompted.exit_code == 0, prompted.output
    assert run("user", "passwd", "rita", "--password-stdin", stdin="the next long password\n").exit_code == 0
    assert run("user", "role", "rita", "admin").exit_code == 0
    assert run("user", "disable", "sam", "--reason", "left").exit_code == 0
    assert run("user", "disable", "nobody").exit_code == 2
    listing = run("user", "list").output.splitlines()
    assert listing[0].split()[:3] == ["rita", "admin", "active"] and listing[1].split()[:3] == ["sam", "viewer",
                                                                                             "disabled"]
    with sessions.begin() as session:
        assert users.authenticate(session, "rita", "the next long password", ip="cli", now=clock()).status == "ok"
    log = run("audit", "log", "--action", "user").output
    for action in ("user.create", "user.passwd", "user.role", "user.disable"):
        assert action in log
    assert "reason: new auditor" in log and "reason: left" in log
    assert run("audit", "log", "--actor", "nobody").output == ""
