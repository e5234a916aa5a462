"""The guarded worker: extraction runs in one long-lived child process with a memory cap, and the parent waits for
each file at most the time cap, so a hostile file can stop the worker but never the ingest.

One worker serves every file of a run: starting a process per file cost more than reading a small PDF (the first
design measured 11× the bare library call), while a reused worker adds only the pipe transfer. When a file hits
the time cap the worker is killed (state `timeout`); when the worker dies (memory cap, a crash in a library) the
file ends `crashed`; either way the next file gets a fresh worker.
"""
from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection

from tracker.extract import readers, states
from tracker.extract.readers import Limits
from tracker.extract.states import Extracted


def _serve(conn: Connection, memory: int) -> None:
    """The child's loop: (bytes, declared type, limits) in, (Extracted, whether it goes on) out, until the pipe
    closes."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ValueError, OSError):  # a lower hard limit already set: keep it
        pass
    while True:
        try:
            data, declared, limits = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = readers.read(data, declared, limits)
        except MemoryError:
            # A process that ran out of memory half-way may hold broken state: answer, then make way for a new one.
            conn.send((Extracted(states.TOO_LARGE, f"reading it needed more than {memory} bytes of memory", declared),
                       False))
            return
        except RecursionError as exc:
            result = Extracted(states.TRUNCATED, f"RecursionError: {exc}", declared)
        except Exception as exc:  # noqa: BLE001 - any library failure is a state of this file, not of the worker
            result = Extracted(states.TRUNCATED, f"{type(exc).__name__}: {exc}", declared)
        conn.send((result, True))


class Extractor:
    """Extracts files in a reused child process; use as a context manager (or call `close`)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        # spawn: the child starts clean, without the parent's threads, sessions or open sockets.
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._process is None or not self._process.is_alive():
            parent, child = self._context.Pipe()
            self._process = self._context.Process(target=_serve, args=(child, self.limits.memory), daemon=True,
                                                  name="tracker-extract")
            self._process.start()
            child.close()
            self._conn = parent
        assert self._conn is not None
        return self._conn

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def extract(self, data: bytes, declared: str | None) -> Extracted:
        """The text of one file and its state; never raises for anything the file contains."""
        if len(data) > self.limits.max_bytes:  # not even worth the pipe
            return Extracted(states.TOO_LARGE, f"{len(data)} bytes (cap {self.limits.max_bytes})", declared)
        conn = self._start()
        try:
            conn.send((data, declared, self.limits))
            if not conn.poll(self.limits.seconds):
                self._stop()
                return Extracted(states.TIMEOUT, f"no answer within {self.limits.seconds:g} s", declared)
            result, going_on = conn.recv()
            if not going_on:
                self._stop()
            return result
        except (EOFError, OSError, BrokenPipeError) as exc:
            code = self._process.exitcode if self._process is not None else None
            self._stop()
            return Extracted(states.CRASHED, f"the worker stopped ({type(exc).__name__}, exit code {code})",
                             declared)

    def close(self) -> None:
        """Stop the worker (it also stops when the parent exits)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        if self._process is not None:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(2)
        self._process = self._conn = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
