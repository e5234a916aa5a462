"""How gunicorn serves the app: a gunicorn configuration module, the one home of the web server's settings.

`tracker dev` (make run) and production both start it with it:

    gunicorn -c python:web.serving --bind 127.0.0.1:8000 "web:create_app()"

- Workers are gunicorn's threaded workers, with one change (`Worker`): when a worker is told to stop, it shuts the
  reading side of every connection it holds. A gthread thread that took a connection on which no complete request
  has arrived yet (a browser's speculative pre-connection, an idle or slow client) sits in a blocking `recv` with no
  time limit; the worker then cannot exit, the master waits `graceful_timeout` and SIGKILLs it ("Worker (pid:…) was
  sent SIGKILL!"), which is what Ctrl-C on `make run` used to end with. Shutting the reading side ends such a `recv`
  at once, while a request already read still writes its response. A worker retiring after `max_requests` does the
  same after its graceful wait.
- `limit_request_line` above the app's own query-string bound, so an over-long URL gets the tracker's 400 page.
- `max_requests` with jitter: a worker is replaced after 2,000-2,500 requests, so what a worker's heap keeps after
  a burst of large answers (exports, fuzzed queries) is given back; bench/worker_memory.py measures it (figures in
  bench/README.md).
"""
from __future__ import annotations

import socket
import weakref

from gunicorn.workers.gthread import ThreadWorker

worker_class = "web.serving.Worker"
workers = 2
threads = 4
graceful_timeout = 5
max_requests = 2000
max_requests_jitter = 500
# gunicorn's largest request line (its default, 4094, answered long query strings with its own raw 400 page): the
# app's bound (web/params.py: MAX_QUERY_STRING) is below it, so the tracker answers with its own page.
limit_request_line = 8190


class Worker(ThreadWorker):
    """gunicorn's gthread worker that does not hang on connections without a complete request when it stops."""

    def init_process(self) -> None:  # noqa: D102 - gunicorn hook
        # Only the worker's main thread adds to this set (accepting and re-queueing keep-alive connections both
        # happen there) and only signal handlers, on the same thread, read it: no lock is needed.
        self._connections: weakref.WeakSet = weakref.WeakSet()
        super().init_process()

    def enqueue_req(self, conn) -> None:  # noqa: D102 - gunicorn hook
        self._connections.add(conn)
        super().enqueue_req(conn)

    def run(self) -> None:  # noqa: D102 - gunicorn hook
        try:
            super().run()
        finally:
            # A worker retiring by itself (max_requests) gets no signal: after its graceful wait, the same cut lets
            # it exit instead of hanging until the master's timeout kills it.
            self._stop_reading()

    def handle_exit(self, sig, frame) -> None:  # noqa: D102 - SIGTERM: graceful stop
        self._stop_reading()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame) -> None:  # noqa: D102 - SIGINT / SIGQUIT: quick stop
        self._stop_reading()
        super().handle_quit(sig, frame)

    def _stop_reading(self) -> None:
        for conn in list(self._connections):
            try:
                conn.sock.shutdown(socket.SHUT_RD)
            except OSError:  # already closed by the client or by us
                pass
