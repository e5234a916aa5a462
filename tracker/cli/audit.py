"""The `tracker user ...` and `tracker audit ...` command groups (registered on the main command by tracker.cli.main).

Both groups expect the main command's context object (settings plus a lazily built session factory); `tracker audit
verify` never touches it, so a bundle can be checked on a machine with no database at all.
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from tracker.audit import bundle as audit
from tracker.audit import log as auditlog
from tracker.audit import users
from tracker.audit.users import ROLES
from tracker.cli.state import AppState, operator
from tracker.clock import utcnow


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@click.group("user")
def user_group() -> None:
    """Accounts of the admin side (viewer < reviewer < admin)."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@click.pass_obj
def user_add(state: AppState, username: str, role: str, email: str | None, password_stdin: bool,
             reason: str | None) -> None:
    """Create an account."""
    password = _read_password(password_stdin)
    try:
        with state.sessions.begin() as session:
            users.create_user(session, username, password, role, actor=operator(), now=utcnow(), email=email,
                              reason=reason)
    except ValueError as exc:
        _fail(exc)
    click.echo(f"user {username} created ({role})")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@click.pass_obj
def user_passwd(state: AppState, username: str, password_stdin: bool, reason: str | None) -> None:
    """Set a new password (open sessions of the account end)."""
    password = _read_password(password_stdin)
    try:
        with state.sessions.begin() as session:
            users.set_password(session, username, password, actor=operator(), now=utcnow(), reason=reason)
    except (ValueError, LookupError) as exc:
        _fail(exc)
    click.echo(f"password of {username} changed")


@user_group.command("disable")
@click.argument("username")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@click.pass_obj
def user_disable(state: AppState, username: str, reason: str | None) -> None:
    """Disable an account (it is kept, never deleted)."""
    try:
        with state.sessions.begin() as session:
            users.disable_user(session, username, actor=operator(), now=utcnow(), reason=reason)
    except LookupError as exc:
        _fail(exc)
    click.echo(f"user {username} disabled")


@user_group.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@click.pass_obj
def user_role(state: AppState, username: str, role: str, reason: str | None) -> None:
    """Change an account's role."""
    try:
        with state.sessions.begin() as session:
            users.set_role(session, username, role, actor=operator(), now=utcnow(), reason=reason)
    except (ValueError, LookupError) as exc:
        _fail(exc)
    click.echo(f"user {username} is now {role}")


@user_group.command("list")
@click.pass_obj
def user_list(state: AppState) -> None:
    """List accounts."""
    with state.sessions() as session:
        for user in users.list_users(session):
            last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "-"
            status = "active" if user.active else "disabled"
            click.echo(f"{user.username:24} {user.role:9} {status:9} last login {last}")


@click.group("audit")
def audit_group() -> None:
    """Audit log, export bundles and their offline verification."""


@audit_group.command("export")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (inclusive).")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The bundle (.zip).")
@click.pass_obj
def audit_export(state: AppState, first: datetime, last: datetime, out: Path) -> None:
    """Write the audit bundle of a period (days in the configured time zone)."""
    try:
        start, end = audit.period_bounds(first.date(), last.date(), state.settings.timezone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with state.sessions.begin() as session:
        summary = audit.export_bundle(session, state.settings.archive_dir, start=start, end=end, out=out, now=utcnow())
        auditlog.record(session, actor=operator(), action="audit.export", now=utcnow(), target_type="bundle",
                        detail={"from": start.isoformat(), "to": end.isoformat(), "counts": summary.counts,
                                "manifest_sha256": summary.manifest_sha256})
    counts = " ".join(f"{k}={v}" for k, v in summary.counts.items())
    click.echo(f"{out}: {counts} warc_files={summary.warc_files} digest_files={summary.digest_files}")
    click.echo(f"manifest sha256 {summary.manifest_sha256}")
    for gone in summary.missing_warc_files:
        click.echo(f"warning: archive file {gone['warc_path']} could not be copied ({gone['error']})", err=True)


@audit_group.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def audit_verify(bundle: Path) -> None:
    """Check a bundle offline; exit 0 when intact, 1 naming every file or record that does not match."""
    report = audit.verify_bundle(bundle)
    for problem in report.problems:
        click.echo(f"MISMATCH {problem}")
    click.echo(f"{'OK' if report.ok else 'FAILED'}: {report.files_checked} files, {report.records_checked} records, "
               f"{report.payloads_checked} payloads checked")
    sys.exit(0 if report.ok else 1)


@audit_group.command("log")
@click.option("--action", default=None, help="An action or a family (e.g. user, tag.decision).")
@click.option("--actor", default=None)
@click.option("--target-type", default=None)
@click.option("--target-id", default=None)
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
def audit_log(state: AppState, action: str | None, actor: str | None, target_type: str | None,
              target_id: str | None, limit: int) -> None:
    """Show the newest audit-log entries."""
    flt = auditlog.AuditFilter(actor=actor, action=action, target_type=target_type, target_id=target_id)
    with state.sessions() as session:
        for entry in auditlog.query(session, flt, limit=limit):
            target = f"{entry.target_type}:{entry.target_id}" if entry.target_type else "-"
            why = f"  reason: {entry.reason}" if entry.reason else ""
            click.echo(f"#{entry.id} {entry.at.isoformat(timespec='seconds')} {entry.actor} {entry.action} "
                       f"{target}{why}")
