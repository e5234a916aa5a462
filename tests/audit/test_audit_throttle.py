"""Login throttling per account and per address with a growing wait, and the audit-log row of every login event."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.audit import throttle, users
from tracker.store.models import AuditLog, LoginAttempt

PASSWORD = "correct horse battery"
WRONG = "wrong password!"
ACCOUNT, ADDRESS = throttle.ACCOUNT, throttle.ADDRESS


@pytest.fixture
def alice_and_bob(sessions, clock):
    with sessions.begin() as session:
        for name in ("alice", "bob"):
            users.create_user(session, name, PASSWORD, "viewer", actor="t", now=clock())


def attempt(sessions, clock, username: str, password: str = WRONG, ip: str = "10.0.0.1") -> users.LoginResult:
    with sessions.begin() as session:
        result = users.authenticate(session, username, password, ip=ip, now=clock())
        return users.LoginResult(result.status, retry_after=result.retry_after)


def fail_until_throttled(sessions, clock, username: str, ip: str = "10.0.0.1") -> None:
    for _ in range(ACCOUNT.free):
        assert attempt(sessions, clock, username, ip=ip).status == "invalid"


def audit_rows(sessions, action: str) -> list[AuditLog]:
    with sessions() as session:
        return list(session.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars())


def test_the_wait_grows_with_every_further_failure_of_an_account(sessions, clock, alice_and_bob):
    fail_until_throttled(sessions, clock, "alice")
    waits = []
    for _ in range(6):
        limited = attempt(sessions, clock, "alice", PASSWORD)
        assert limited.status == "limited"  # even the right password is not checked while the account waits
        waits.append(limited.retry_after)
        clock.advance(seconds=limited.retry_after - 1)
        assert attempt(sessions, clock, "alice", PASSWORD).retry_after == 1  # refused retries do not lengthen it
        clock.advance(seconds=1)
        assert attempt(sessions, clock, "alice").status == "invalid"
    assert waits == [30, 60, 120, 240, 480, 900]
    assert attempt(sessions, clock, "alice", PASSWORD).retry_after == 900  # capped at ACCOUNT.longest_wait
    clock.advance(minutes=15)
    assert attempt(sessions, clock, "alice", PASSWORD).status == "ok"
    # A success starts the count afresh: the next failures are free again.
    clock.advance(seconds=1)
    fail_until_throttled(sessions, clock, "alice")
    assert attempt(sessions, clock, "alice", PASSWORD).retry_after == 30


def test_one_account_waiting_does_not_lock_other_accounts_behind_the_same_address(sessions, clock, alice_and_bob):
    fail_until_throttled(sessions, clock, "alice", ip="192.0.2.7")
    assert attempt(sessions, clock, "alice", PASSWORD, ip="192.0.2.7").status == "limited"
    assert attempt(sessions, clock, "bob", PASSWORD, ip="192.0.2.7").status == "ok"
    assert attempt(sessions, clock, "bob", WRONG, ip="192.0.2.7").status == "invalid"
    # The account waits from every address: guessing from many addresses is slowed too.
    assert attempt(sessions, clock, "alice", PASSWORD, ip="198.51.100.1").status == "limited"


def test_an_address_guessing_across_accounts_waits_past_a_much_higher_threshold(sessions, clock, alice_and_bob):
    assert ADDRESS.free >= 5 * ACCOUNT.free
    for i in range(ADDRESS.free):
        # Never more than ACCOUNT.free - 1 tries per name, so only the address's count can be reached.
        assert attempt(sessions, clock, f"guess{i // (ACCOUNT.free - 1)}", ip="203.0.113.5").status == "invalid"
    limited = attempt(sessions, clock, "bob", PASSWORD, ip="203.0.113.5")
    assert (limited.status, limited.retry_after) == ("limited", 30)
    assert attempt(sessions, clock, "bob", PASSWORD, ip="203.0.113.6").status == "ok"  # other addresses are not
    clock.advance(seconds=30)
    assert attempt(sessions, clock, "nobody", ip="203.0.113.5").status == "invalid"
    assert attempt(sessions, clock, "bob", PASSWORD, ip="203.0.113.5").retry_after == 60  # the address's wait grows
    clock.advance(seconds=60)
    assert attempt(sessions, clock, "bob", PASSWORD, ip="203.0.113.5").status == "ok"
    # A success does not reset the address: one valid account must not buy an attacker more guesses.
    assert attempt(sessions, clock, "nobody", ip="203.0.113.5").status == "invalid"
    assert attempt(sessions, clock, "bob", PASSWORD, ip="203.0.113.5").retry_after == 120


def test_a_burst_of_parallel_attempts_gets_no_more_free_failures_than_one_at_a_time(sessions, clock, alice_and_bob):
    # Without taking turns, every attempt of the burst passes the check before any failure is counted.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: attempt(sessions, clock, "alice").status, range(16)))
    assert sorted(results) == ["invalid"] * ACCOUNT.free + ["limited"] * (16 - ACCOUNT.free)
    with sessions() as session:
        assert len(session.execute(select(LoginAttempt)).all()) == ACCOUNT.free


def test_failures_older_than_the_window_do_not_count(sessions, clock, alice_and_bob):
    for _ in range(ACCOUNT.free - 1):
        attempt(sessions, clock, "alice")
    clock.advance(seconds=ACCOUNT.window.total_seconds() + 1)
    assert attempt(sessions, clock, "alice").status == "invalid"
    assert attempt(sessions, clock, "alice", PASSWORD).status == "ok"


def test_an_unknown_name_is_throttled_exactly_like_an_existing_account(sessions, clock, alice_and_bob):
    for name in ("alice", "nobody"):
        results = [attempt(sessions, clock, name) for _ in range(ACCOUNT.free)]
        assert [r.status for r in results] == ["invalid"] * ACCOUNT.free
        assert attempt(sessions, clock, name).retry_after == 30


def test_every_login_event_is_in_the_audit_log_with_account_address_and_time(sessions, clock, alice_and_bob):
    start = clock()
    assert attempt(sessions, clock, "alice", PASSWORD, ip="10.0.0.1").status == "ok"
    clock.advance(minutes=1)
    attempt(sessions, clock, "nobody", ip="10.0.0.2")
    with sessions.begin() as session:
        users.disable_user(session, "bob", actor="t", now=clock())
    attempt(sessions, clock, "bob", PASSWORD, ip="10.0.0.3")
    for _ in range(ACCOUNT.free):
        attempt(sessions, clock, "alice", ip="10.0.0.4")
    assert attempt(sessions, clock, "alice", PASSWORD, ip="10.0.0.4").status == "limited"
    with sessions.begin() as session:
        token = users.session_token(users.get_user(session, "alice"))
        users.logout(session, token, ip="10.0.0.5", now=clock())

    [login] = audit_rows(sessions, "auth.login")
    assert (login.actor, login.target_type, login.target_id, login.detail, login.at) == (
        "alice", "user", "alice", {"ip": "10.0.0.1"}, start)
    failed = audit_rows(sessions, "auth.login_failed")
    assert [(f.actor, f.target_id, f.detail["ip"], f.detail["cause"], f.at) for f in failed] == [
        ("anonymous", "nobody", "10.0.0.2", "unknown account", clock()),
        ("anonymous", "bob", "10.0.0.3", "account disabled", clock()),
        *[("anonymous", "alice", "10.0.0.4", "wrong password", clock())] * ACCOUNT.free,
    ]  # the refused (limited) attempt wrote nothing: retries cannot flood the append-only log
    [lockout] = audit_rows(sessions, "auth.lockout")
    assert (lockout.target_type, lockout.target_id, lockout.at) == ("user", "alice", clock())
    assert lockout.detail == {"ip": "10.0.0.4", "scope": "account", "failures": ACCOUNT.free, "wait_seconds": 30}
    [logout] = audit_rows(sessions, "auth.logout")
    assert (logout.actor, logout.target_id, logout.detail, logout.at) == ("alice", "alice", {"ip": "10.0.0.5"},
                                                                          clock())
    with sessions() as session:
        assert session.execute(select(LoginAttempt).where(LoginAttempt.username == "alice")).scalars().all()[-1].at \
            == clock()


def test_an_address_lockout_is_audited_with_the_address_as_target(sessions, clock):
    for i in range(ADDRESS.free):
        attempt(sessions, clock, f"guess{i}", ip="203.0.113.9")
    [lockout] = audit_rows(sessions, "auth.lockout")
    assert (lockout.target_type, lockout.target_id) == ("address", "203.0.113.9")
    assert lockout.detail["scope"] == "address" and lockout.detail["wait_seconds"] == 30


def test_policy_wait_doubles_and_is_capped():
    waits = [ACCOUNT.wait_after(n) for n in range(ACCOUNT.free + 12)]
    assert waits[:ACCOUNT.free] == [timedelta(0)] * ACCOUNT.free
    assert waits[ACCOUNT.free:ACCOUNT.free + 3] == [timedelta(seconds=30), timedelta(seconds=60),
                                                    timedelta(seconds=120)]
    assert max(waits) == ACCOUNT.longest_wait == ACCOUNT.wait_after(10_000)
