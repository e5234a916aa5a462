"""Process-wide exclusive locks: one scheduler (leader) at a time, one outbox sender at a time.

SQLite installations live on one machine, so the lock is `flock` on a file under var/ (the kernel drops it when the
process dies, however it dies). PostgreSQL installations may run a scheduler on several machines: the lock is a
session-level `pg_try_advisory_lock` on a dedicated connection kept open for as long as the lock is held; the server
drops it when that connection ends, so a standby takes over when the leader's process or machine dies (after
TCP keepalive notices, for a machine that vanished).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tracker.config import Settings


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock derived from the lock's name."""
    return int.from_bytes(hashlib.sha256(f"nmpa-ai-tracker:{name}".encode()).digest()[:8], "big", signed=True)


class ProcessLock:
    """An exclusive lock named `name`, held until release() or process exit; not reentrant."""

    def __init__(self, settings: Settings, name: str):
        self.name = name
        url = make_url(settings.database_url)
        self.backend = "postgresql" if url.get_backend_name() == "postgresql" else "file"
        self._url = url.set(drivername="postgresql+psycopg") if self.backend == "postgresql" else None
        self.path = Path(settings.var_dir) / f"{name}.lock"
        self._fd: int | None = None
        self._conn = None
        self._engine = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock (as far as it knows; see `check`)."""
        return self._fd is not None or self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.held:
            return True
        return self._try_file() if self.backend == "file" else self._try_postgres()

    def acquire(self, *, poll: float = 5.0, stop: threading.Event | None = None,
                on_wait: Callable[[], None] | None = None) -> bool:
        """Wait until the lock is ours (hot standby); False if `stop` was set first."""
        waited = False
        while not (stop is not None and stop.is_set()):
            if self.try_acquire():
                return True
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
        return False

    def check(self) -> bool:
        """Whether the lock is still ours: for PostgreSQL, whether the lock's connection is still alive."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            return True
        except Exception:  # noqa: BLE001 - any failure means the session (and with it the lock) is gone
            self._close_pg()
            return False

    def release(self) -> None:
        """Give the lock up (also happens when the process exits)."""
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.name)})
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
            self._close_pg()

    def __enter__(self) -> "ProcessLock":
        if not self.try_acquire():
            raise RuntimeError(f"lock {self.name!r} is held by another process")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _try_file(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        # Who holds it, for a person looking at var/ (the lock itself is the flock, not this text).
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} pid {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _try_postgres(self) -> bool:
        if self._engine is None:
            self._engine = create_engine(self._url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                         connect_args={"keepalives": 1, "keepalives_idle": 30,
                                                       "keepalives_interval": 10, "keepalives_count": 3,
                                                       "application_name": f"tracker-{self.name}"})
        conn = self._engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.name)}).scalar()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def _close_pg(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:  # noqa: BLE001
            pass
        self._conn = None
