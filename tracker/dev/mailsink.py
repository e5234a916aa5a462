"""A local SMTP sink (aiosmtpd) that writes every message it accepts to a folder as one .eml file.

Used by `make run` (so digests and confirmation emails of a development install land in var/mail/ instead of the
internet), by the mail tests (a real SMTP server on a free loopback port) and by bench/digest.py. The file holds the
message exactly as it came over the wire (CRLF line ends, dot-stuffing undone), so its sha256 equals the audit copy
the outbox stored for it.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (aiosmtpd cannot be started on port 0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when `port` can be bound on `host`."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class FolderHandler:
    """aiosmtpd handler: each accepted message becomes `<folder>/<time>-<pid>-<n>.eml` (written, then renamed)."""

    def __init__(self, folder: Path, *, delay: float = 0.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.delay = delay
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Store the message; the reply is sent only after the file exists, so an accepted message is never lost."""
        if self.delay:
            # Tests slow the sink down to catch a sender in the middle of a batch.
            await asyncio.sleep(self.delay)
        with self._lock:
            n = next(self._counter)
            self.accepted += 1
        name = f"{time.time_ns()}-{os.getpid()}-{n:06d}.eml"
        tmp = self.folder / f".{name}.tmp"
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        tmp.write_bytes(content)
        tmp.rename(self.folder / name)
        return "250 Message accepted for delivery"


class MailSink:
    """A running SMTP sink on `host:port` writing to `folder`; use as a context manager or call start()/stop()."""

    def __init__(self, folder: Path, *, host: str = "127.0.0.1", port: int | None = None, delay: float = 0.0):
        self.folder = Path(folder)
        self.host = host
        self.port = port or free_port(host)
        self.handler = FolderHandler(self.folder, delay=delay)
        self._controller = Controller(self.handler, hostname=host, port=self.port, decode_data=False,
                                      data_size_limit=50 * 1024 * 1024)

    @property
    def url(self) -> str:
        """The `smtp://` URL a Mailer (Settings.smtp_url) points at."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> "MailSink":
        """Start serving (in aiosmtpd's own thread)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    def __enter__(self) -> "MailSink":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def files(self) -> list[Path]:
        """The stored messages, oldest first."""
        return sorted(self.folder.glob("*.eml"))

    def messages(self) -> list[EmailMessage]:
        """The stored messages parsed with the email package (modern policy)."""
        return read_messages(self.folder)


def read_messages(folder: Path) -> list[EmailMessage]:
    """Every .eml file of a sink folder, parsed, oldest first."""
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(Path(folder).glob("*.eml"))]


def serve_forever(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Run a sink in the foreground until interrupted (python -m tracker.dev.mailsink [folder] [port])."""
    sink = MailSink(folder, host=host, port=port).start()
    print(f"mail sink: {sink.url} → {sink.folder}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    import sys

    serve_forever(Path(sys.argv[1] if len(sys.argv) > 1 else "var/mail"),
                  port=int(sys.argv[2]) if len(sys.argv) > 2 else 8025)
