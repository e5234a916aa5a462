"""The guarded worker: extraction runs in one long-lived child process with a memory cap, and the parent waits for
each file at most the time cap, so a hostile file can stop the worker but never the ingest.

One worker serves every file of a run: starting a process per file cost more than reading a small PDF (the first
design measured 11× the bare library call), while a reused worker adds only the pipe transfer. When a file hits
the time cap the worker is killed (state `timeout`); when the worker dies (memory cap, a crash in a library) the
file ends `crashed`; either way the next file gets a fresh worker.

The child is `python -m tracker.extract.worker`, started with subprocess rather than multiprocessing: a spawned
multiprocessing child re-imports the parent's main script, which for a script without a main guard would run the
script again. Messages are pickles with a length prefix over the child's stdin and stdout; they only ever cross
between this module and its own child.
"""
from __future__ import annotations

import os
import pickle
import resource
import select
import struct
import subprocess
import sys
from typing import Any, BinaryIO

from tracker.extract import readers, states
from tracker.extract.readers import Limits
from tracker.extract.states import Extracted

_HEADER = struct.Struct("!Q")


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the worker closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))  # noqa: S301 - only our own child writes to this pipe


def _serve(memory: int) -> None:
    """The child's loop: (bytes, declared type, limits) in, (Extracted, whether it goes on) out, until stdin ends."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ValueError, OSError):  # a lower hard limit already set: keep it
        pass
    inbox = sys.stdin.buffer.fileno()
    outbox = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a library that prints must not write into the pipe
    while True:
        try:
            data, declared, limits = _receive(inbox)
        except EOFError:
            return
        going_on = True
        try:
            result = readers.read(data, declared, limits)
        except MemoryError:
            # A process that ran out of memory half-way may hold broken state: answer, then make way for a new one.
            result = Extracted(states.TOO_LARGE, f"reading it needed more than {memory} bytes of memory", declared)
            going_on = False
        except RecursionError as exc:
            result = Extracted(states.TRUNCATED, f"RecursionError: {exc}", declared)
        except Exception as exc:  # noqa: BLE001 - any library failure is a state of this file, not of the worker
            result = Extracted(states.TRUNCATED, f"{type(exc).__name__}: {exc}", declared)
        _send(outbox, (result, going_on))
        if not going_on:
            return


class Extractor:
    """Extracts files in a reused child process; use as a context manager (or call `close`)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tracker.extract.worker", str(self.limits.memory)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(5)
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
        self._process = None

    def extract(self, data: bytes, declared: str | None) -> Extracted:
        """The text of one file and its state; never raises for anything the file contains."""
        if len(data) > self.limits.max_bytes:  # not even worth the pipe
            return Extracted(states.TOO_LARGE, f"{len(data)} bytes (cap {self.limits.max_bytes})", declared)
        process = self._start()
        try:
            _send(process.stdin, (data, declared, self.limits))
            ready, _, _ = select.select([process.stdout], [], [], self.limits.seconds)
            if not ready:
                self._stop()
                return Extracted(states.TIMEOUT, f"no answer within {self.limits.seconds:g} s", declared)
            result, going_on = _receive(process.stdout.fileno())
        except (EOFError, OSError, pickle.UnpicklingError, struct.error) as exc:
            code = process.poll()
            self._stop()
            return Extracted(states.CRASHED, f"the worker stopped ({type(exc).__name__}, exit code {code})",
                             declared)
        if not going_on:
            self._stop()
        return result

    def close(self) -> None:
        """Stop the worker: end its input so it exits, and kill it if it does not."""
        if self._process is not None and self._process.poll() is None:
            try:
                self._process.stdin.close()
                self._process.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
