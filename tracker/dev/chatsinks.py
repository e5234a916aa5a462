"""Local stand-ins for the chat platforms: one HTTP server on a loopback port that answers like WeCom, DingTalk,
Feishu/Lark, Slack, a signed-webhook receiver and an Apprise json:// endpoint, and checks what each platform's public
documentation requires before it accepts a message.

Checks, per platform (the answers are the platforms' own codes):
  /hook/<name>                       signed webhook: X-Tracker-Timestamp within 5 minutes, X-Tracker-Signature
                                     v1=hex HMAC-SHA256(secret, ts + "." + body), X-Tracker-Delivery present → 204
  /cgi-bin/webhook/send?key=K        WeCom: known key, JSON, msgtype text (≤ 2048 bytes) or markdown (≤ 4096 bytes)
                                     → {"errcode":0}; unknown key 93000; too long 40058
  /robot/send?access_token=T         DingTalk: known token; with a secret, timestamp (ms, within an hour) and sign
                                     (base64 HMAC-SHA256(secret, ts + "\\n" + secret)) → errcode 0, else 310000;
                                     markdown needs title and text
  /open-apis/bot/v2/hook/<token>     Feishu: with a secret, body timestamp (s, within an hour) and sign (base64
                                     HMAC-SHA256(key = ts + "\\n" + secret, empty message)) → code 0, else 19021;
                                     body ≤ 20 KB
  /services/<T>/<B>/<X>              Slack: text or blocks, section text ≤ 3000 characters → 200 "ok"; else 400
                                     invalid_payload; unknown hook 404 no_service
  /apprise/<name>                    Apprise's json:// notification ({"title","message","type"}) → 200
A test (or `make run`) can queue faults for a route: an HTTP status (500, 429 with Retry-After), a platform error
code in a 200 answer, or a timeout (the answer held back past the sender's time limit).

The checking code here is written from the platforms' documentation, independently of tracker.notify: a sender bug
in a signature fails here rather than being agreed with.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

DEMO_SECRET = "demo-secret-for-make-run"  # the local stand-ins' secret: only ever used on this machine
WEBHOOK_WINDOW = 300
PLATFORM_WINDOW = 3600


@dataclass(frozen=True)
class Received:
    """One accepted message."""

    route: str            # e.g. "wecom:KEY", "webhook:team"
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Fault:
    """A planned wrong answer: an HTTP status, a platform code in a 200 answer, or a hold (seconds) before answering."""

    status: int = 200
    code: int | None = None
    retry_after: str | None = None
    hold: float = 0.0


@dataclass
class ChatSinks:
    """The stand-in server. Register routes (secrets), start it, read `received`, queue `faults`."""

    host: str = "127.0.0.1"
    port: int = 0
    clock: Callable[[], float] = time.time
    webhook_secrets: dict[str, str] = field(default_factory=dict)     # name → secret
    wecom_keys: set[str] = field(default_factory=set)
    dingtalk_tokens: dict[str, str | None] = field(default_factory=dict)  # token → secret (None: unsigned)
    feishu_tokens: dict[str, str | None] = field(default_factory=dict)
    slack_paths: set[str] = field(default_factory=set)                 # "T/B/X"
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)       # (route, why)
    faults: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    folder: Path | None = None  # `make run`: each accepted message also written here as <n>-<route>.json

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -------------------------------------------------------------------- lifecycle
    def start(self) -> "ChatSinks":
        """Serve on a thread (port 0: a free port, read back into `port`)."""
        sinks = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the platforms' servers: every answer has a length

            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                sinks._handle(self)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="chatsinks", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base(self) -> str:
        """http://host:port"""
        return f"http://{self.host}:{self.port}"

    # -------------------------------------------------------------------- URLs a channel would be given
    def webhook_url(self, name: str, secret: str) -> str:
        """A signed-webhook receiver that checks signatures made with `secret`."""
        self.webhook_secrets[name] = secret
        return f"{self.base}/hook/{name}"

    def wecom_url(self, key: str) -> str:
        """A WeCom group bot webhook."""
        self.wecom_keys.add(key)
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def dingtalk_url(self, token: str, secret: str | None = None) -> str:
        """A DingTalk group bot webhook (signed when `secret` is given)."""
        self.dingtalk_tokens[token] = secret
        return f"{self.base}/robot/send?access_token={token}"

    def feishu_url(self, token: str, secret: str | None = None) -> str:
        """A Feishu/Lark custom bot webhook (signed when `secret` is given)."""
        self.feishu_tokens[token] = secret
        return f"{self.base}/open-apis/bot/v2/hook/{token}"

    def slack_url(self, path: str) -> str:
        """A Slack incoming webhook (`path` like T000/B000/XXXX)."""
        self.slack_paths.add(path)
        return f"{self.base}/services/{path}"

    def apprise_url(self, name: str) -> str:
        """An Apprise json:// URL that posts here."""
        return f"json://{self.host}:{self.port}/apprise/{name}"

    def fail(self, route: str, *faults: Fault) -> None:
        """Answer the next requests of `route` with these faults, in order."""
        with self._lock:
            self.faults[route].extend(faults)

    def messages(self, route: str) -> list[Received]:
        """What `route` accepted, oldest first."""
        with self._lock:
            return [r for r in self.received if r.route == route]

    # -------------------------------------------------------------------- handling
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length)
        headers = {k: v for k, v in req.headers.items()}
        path = parts.path
        if path.startswith("/hook/"):
            route, check = f"webhook:{path[6:]}", lambda: self._webhook(path[6:], headers, body)
        elif path == "/cgi-bin/webhook/send":
            route, check = f"wecom:{query.get('key')}", lambda: self._wecom(query, headers, body)
        elif path == "/robot/send":
            route, check = f"dingtalk:{query.get('access_token')}", lambda: self._dingtalk(query, headers, body)
        elif path.startswith("/open-apis/bot/v2/hook/"):
            token = path.rsplit("/", 1)[1]
            route, check = f"feishu:{token}", lambda: self._feishu(token, headers, body)
        elif path.startswith("/services/"):
            route, check = f"slack:{path[10:]}", lambda: self._slack(path[10:], headers, body)
        elif path.startswith("/apprise/"):
            route, check = f"apprise:{path[9:]}", lambda: self._apprise(headers, body)
        else:
            return self._answer(req, 404, "not found")
        with self._lock:
            fault = self.faults[route].popleft() if self.faults.get(route) else None
        if fault is not None:
            return self._fault(req, route, fault)
        status, answer, why = check()
        with self._lock:
            if why is None:
                self.received.append(Received(route, req.path, headers, body, self.clock()))
                if self.folder is not None:
                    self._write(len(self.received), route, req.path, headers, body)
            else:
                self.refused.append((route, why))
        self._answer(req, status, answer)

    def _write(self, n: int, route: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in route)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        record = {"route": route, "path": path, "headers": headers, "body": parsed,
                  "raw_body": body.decode("utf-8", "replace")}
        tmp = self.folder / f".{time.time_ns()}-{n:05d}-{safe}.tmp"
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.rename(self.folder / f"{time.time_ns()}-{n:05d}-{safe}.json")

    def demo(self) -> dict[str, tuple[str, str | None]]:
        """Register one route per kind for `make run` and return {kind: (URL, secret)} to print."""
        return {
            "webhook": (self.webhook_url("demo", DEMO_SECRET), DEMO_SECRET),
            "wecom": (self.wecom_url("demo"), None),
            "dingtalk": (self.dingtalk_url("demo", "SEC" + DEMO_SECRET), "SEC" + DEMO_SECRET),
            "feishu": (self.feishu_url("demo", DEMO_SECRET), DEMO_SECRET),
            "slack": (self.slack_url("T0DEMO/B0DEMO/demo"), None),
            "apprise": (self.apprise_url("demo"), None),
        }

    def _fault(self, req, route: str, fault: Fault) -> None:
        if fault.hold:
            time.sleep(fault.hold)
        if fault.code is not None:
            field_name = "code" if route.startswith("feishu:") else "errcode"
            return self._answer(req, 200, {field_name: fault.code, "errmsg" if field_name == "errcode" else "msg":
                                           "planned failure"})
        extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        self._answer(req, fault.status, "planned failure", extra)

    def _answer(self, req, status: int, answer: Any, extra: dict[str, str] | None = None) -> None:
        data = (json.dumps(answer) if isinstance(answer, dict) else str(answer)).encode("utf-8")
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json" if isinstance(answer, dict) else "text/plain")
            req.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (a planned timeout)
            pass

    @staticmethod
    def _json_body(headers: dict[str, str], body: bytes) -> Any:
        if not headers.get("Content-Type", "").startswith("application/json"):
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None

    def _webhook(self, name: str, headers: dict[str, str], body: bytes):
        secret = self.webhook_secrets.get(name)
        if secret is None:
            return 404, "no such hook", "unknown hook"
        ts, sig = headers.get("X-Tracker-Timestamp", ""), headers.get("X-Tracker-Signature", "")
        if not ts.isdigit() or abs(self.clock() - int(ts)) > WEBHOOK_WINDOW:
            return 401, "stale or missing timestamp", "timestamp"
        expected = "v1=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig):
            return 401, "bad signature", "signature"
        if not headers.get("X-Tracker-Delivery") or self._json_body(headers, body) is None:
            return 400, "missing delivery id or JSON body", "body"
        return 204, "", None

    def _wecom(self, query: dict[str, str], headers: dict[str, str], body: bytes):
        if query.get("key") not in self.wecom_keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "key"
        doc = self._json_body(headers, body)
        kind = doc.get("msgtype") if isinstance(doc, dict) else None
        limits = {"text": 2048, "markdown": 4096}
        if kind not in limits or not isinstance(doc.get(kind), dict) or not doc[kind].get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, "body"
        if len(doc[kind]["content"].encode("utf-8")) > limits[kind]:
            return 200, {"errcode": 40058, "errmsg": "content exceed max length"}, "size"
        return 200, {"errcode": 0, "errmsg": "ok"}, None

    def _signed_ok(self, secret: str, ts: str, sign: str, key_first: bool, unit: float) -> bool:
        if not ts.isdigit() or abs(self.clock() - int(ts) / unit) > PLATFORM_WINDOW:
            return False
        if key_first:   # DingTalk: key = secret, message = ts\nsecret
            mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256)
        else:           # Feishu: key = ts\nsecret, empty message
            mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256)
        return hmac.compare_digest(base64.b64encode(mac.digest()).decode(), sign)

    def _dingtalk(self, query: dict[str, str], headers: dict[str, str], body: bytes):
        token = query.get("access_token")
        if token not in self.dingtalk_tokens:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}, "token"
        secret = self.dingtalk_tokens[token]
        # parse_qs has already undone the URL encoding of `sign`.
        if secret and not self._signed_ok(secret, query.get("timestamp", ""), query.get("sign", ""), True, 1000):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}, "signature"
        doc = self._json_body(headers, body)
        kind = doc.get("msgtype") if isinstance(doc, dict) else None
        part = doc.get(kind) if kind else None
        if kind == "markdown" and isinstance(part, dict) and part.get("title") and part.get("text"):
            text = part["text"]
        elif kind == "text" and isinstance(part, dict) and part.get("content"):
            text = part["content"]
        else:
            return 200, {"errcode": 40035, "errmsg": "missing or bad parameter"}, "body"
        if len(text.encode("utf-8")) > 20000:
            return 200, {"errcode": 460101, "errmsg": "message too long"}, "size"
        return 200, {"errcode": 0, "errmsg": "ok"}, None

    def _feishu(self, token: str, headers: dict[str, str], body: bytes):
        if token not in self.feishu_tokens:
            return 200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}, "token"
        if len(body) > 20 * 1024:
            return 200, {"code": 9499, "msg": "request body too large"}, "size"
        doc = self._json_body(headers, body)
        if not isinstance(doc, dict):
            return 200, {"code": 9499, "msg": "Bad Request"}, "body"
        secret = self.feishu_tokens[token]
        if secret and not self._signed_ok(secret, str(doc.get("timestamp", "")), str(doc.get("sign", "")), False, 1):
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current "
                                               "time"}, "signature"
        if doc.get("msg_type") not in ("text", "post", "interactive") or not isinstance(doc.get("content"), dict):
            return 200, {"code": 19002, "msg": "params error, msg_type need"}, "body"
        return 200, {"code": 0, "msg": "success", "data": {}}, None

    def _slack(self, path: str, headers: dict[str, str], body: bytes):
        if unquote(path) not in self.slack_paths:
            return 404, "no_service", "unknown hook"
        doc = self._json_body(headers, body)
        if not isinstance(doc, dict) or not (doc.get("text") or doc.get("blocks")):
            return 400, "invalid_payload", "body"
        for block in doc.get("blocks") or []:
            text = (block.get("text") or {}).get("text", "") if isinstance(block, dict) else ""
            if block.get("type") == "section" and len(text) > 3000:
                return 400, "invalid_blocks", "size"
        return 200, "ok", None

    def _apprise(self, headers: dict[str, str], body: bytes):
        doc = self._json_body(headers, body)
        if not isinstance(doc, dict) or "message" not in doc:
            return 400, "bad notification", "body"
        return 200, "", None
