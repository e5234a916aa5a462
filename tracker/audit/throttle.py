"""Login throttling per account and per address: past a threshold of failures, every further failure doubles the wait.

Per account (the username as typed, whether or not such an account exists, so the answer never tells which accounts
exist): the first ACCOUNT.free failures since that name's last successful login (inside ACCOUNT.window) cost nothing;
after that the next attempt must wait ACCOUNT.first_wait from the latest failure, twice as long after each further
failure, up to ACCOUNT.longest_wait. Per address: the same with ADDRESS's far higher threshold, so the people of one
office behind one NAT address do not lock each other out, while one address guessing across many accounts is still
slowed. A success resets an account's count but not an address's (one valid account must not buy an attacker's
address more guesses). Attempts refused while waiting are not counted: retrying early does not lengthen the wait.
Concurrent attempts at one name take turns (`take_turn`), so a burst of parallel requests cannot all pass the check
before their failures are counted.

Why rows in the database rather than Flask-Limiter: gunicorn runs several worker processes, and the only storage of
Flask-Limiter (the `limits` package) that needs no server is each process's memory, so every worker would count on
its own (N workers allow N times the limit) and a recycled worker forgets; its shared storages need Redis, Memcached,
MongoDB or etcd, none of which this self-hosted tool runs. Its model is also a fixed rate (n per period), not a wait
that grows with each failure of one account. The attempts are `login_attempt` rows that every worker sees already, so
a standing is two indexed queries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, func, select, text, update
from sqlalchemy.orm import Session

from tracker.store.locks import advisory_key
from tracker.store.models import LoginAttempt

MAX_DOUBLINGS = 20  # keeps 2**n small; longest_wait caps the wait long before this


@dataclass(frozen=True)
class Policy:
    """How one kind of key (an account name, an address) is throttled."""

    scope: str
    free: int
    first_wait: timedelta
    longest_wait: timedelta
    window: timedelta

    def wait_after(self, failures: int) -> timedelta:
        """How long to wait after the latest of `failures` counted failures (nothing below the threshold)."""
        if failures < self.free:
            return timedelta(0)
        return min(self.longest_wait, self.first_wait * 2 ** min(failures - self.free, MAX_DOUBLINGS))


ACCOUNT = Policy("account", free=5, first_wait=timedelta(seconds=30), longest_wait=timedelta(minutes=15),
                 window=timedelta(days=1))
ADDRESS = Policy("address", free=50, first_wait=timedelta(seconds=30), longest_wait=timedelta(minutes=15),
                 window=timedelta(hours=1))


@dataclass(frozen=True)
class Standing:
    """The counted failures of one key and when the latest happened."""

    policy: Policy
    key: str
    failures: int
    latest: datetime | None

    @property
    def wait(self) -> timedelta:
        """The wait that the latest failure started (zero below the threshold)."""
        return self.policy.wait_after(self.failures)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the next attempt is allowed (0 when allowed now)."""
        if self.latest is None or not self.wait:
            return 0
        left = (self.latest + self.wait - now).total_seconds()
        return max(0, math.ceil(left))

    def after_failure(self, now: datetime) -> Standing:
        """This standing once the attempt being made now has failed too."""
        return Standing(self.policy, self.key, self.failures + 1, now)


def _failures(session: Session, column, value: str, since: datetime) -> tuple[int, datetime | None]:
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at))
        .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since)
    ).one()
    return count, latest


def account_standing(session: Session, username: str, now: datetime) -> Standing:
    """Failures of `username` since its last successful login, inside ACCOUNT.window."""
    since = now - ACCOUNT.window
    last_ok = session.execute(
        select(func.max(LoginAttempt.at))
        .where(LoginAttempt.username == username, LoginAttempt.success.is_(True), LoginAttempt.at > since)
    ).scalar_one()
    return Standing(ACCOUNT, username, *_failures(session, LoginAttempt.username, username, last_ok or since))


def address_standing(session: Session, ip: str, now: datetime) -> Standing:
    """Failures from address `ip` inside ADDRESS.window, whichever accounts they tried."""
    return Standing(ADDRESS, ip, *_failures(session, LoginAttempt.ip, ip, now - ADDRESS.window))


def standings(session: Session, username: str, ip: str, now: datetime) -> list[Standing]:
    """The account's and the address's standing, in that order."""
    return [account_standing(session, username, now), address_standing(session, ip, now)]


def take_turn(session: Session, username: str) -> None:
    """Wait until no other transaction is deciding an attempt at `username`; held until this transaction ends.

    Call it before the standings that decide an attempt, and record the attempt in the same transaction: the next
    attempt at the name then counts this one. PostgreSQL: a transaction-level advisory lock per name. SQLite has one
    writer at a time: a write that changes nothing takes the database's write lock (waiting on busy_timeout).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(f"login:{username}")})
    else:
        session.execute(update(LoginAttempt.__table__).where(false()).values(success=False))
