"""Email: SMTP settings from a URL, the SMTP mailer, and building messages (multipart, RFC 8058 headers).

`Settings.smtp_url` forms:
  smtp://host:25                         plain (a local relay or the dev sink)
  smtp+starttls://user:pass@host:587     STARTTLS, then AUTH (the usual submission port)
  smtps://user:pass@host:465             TLS from the first byte, then AUTH
User and password are URL-quoted. Query options: `timeout` (seconds, default 30), `verify=0` (skip certificate
checks, for a relay with a self-signed certificate on a private network only).

The mailer classifies failures the way the outbox needs them: `TemporaryFailure` (4xx replies, a dropped connection,
a timeout: try again later), `PermanentFailure` (5xx for this message: record and stop trying).
"""
from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

SECURITY_BY_SCHEME = {"smtp": "plain", "smtp+starttls": "starttls", "submission": "starttls", "smtps": "tls"}
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}


class MailError(Exception):
    """Sending failed; `code` is the SMTP reply code when the server gave one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TemporaryFailure(MailError):
    """Worth retrying later: a 4xx reply, a refused or dropped connection, a timeout."""


class PermanentFailure(MailError):
    """Will not succeed by retrying: a 5xx reply for this message (bad recipient, rejected content)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send."""

    host: str
    port: int
    security: str = "plain"  # plain | starttls | tls
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    verify: bool = True

    @classmethod
    def from_url(cls, url: str) -> "SmtpConfig":
        """Parse an smtp:// / smtp+starttls:// / smtps:// URL (see the module docstring)."""
        parts = urlsplit(url)
        security = SECURITY_BY_SCHEME.get(parts.scheme.lower())
        if security is None:
            raise ValueError(f"unsupported SMTP URL scheme {parts.scheme!r}: use smtp, smtp+starttls or smtps")
        if not parts.hostname:
            raise ValueError(f"SMTP URL without a host: {url!r}")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname, port=parts.port or DEFAULT_PORTS[security], security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", ["30"])[0]),
            verify=query.get("verify", ["1"])[0] not in ("0", "false", "no"),
        )

    def redacted(self) -> str:
        """The URL without the password, for logs."""
        scheme = {"plain": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


class Mailer:
    """An SMTP client that keeps one connection open across messages and reconnects when it has to."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_url(cls, url: str) -> "Mailer":
        """A mailer for Settings.smtp_url."""
        return cls(SmtpConfig.from_url(url))

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.config.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            if cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
                if cfg.security == "starttls":
                    smtp.starttls(context=self._context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            # A wrong password is a setting to fix, not a reason to give up on every queued digest.
            raise TemporaryFailure(f"SMTP login refused by {cfg.redacted()}: {exc.smtp_code} "
                                   f"{_text(exc.smtp_error)}", exc.smtp_code) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to {cfg.redacted()}: {exc}") from exc
        return smtp

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Send one message; returns when the server accepted it, else raises Temporary/PermanentFailure."""
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                refused = self._smtp.sendmail(sender, recipients, raw)
            except smtplib.SMTPServerDisconnected as exc:
                self._smtp = None
                if attempt == 1:
                    continue  # an idle connection the server closed: reconnect once
                raise TemporaryFailure(f"connection dropped: {exc}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
                self._reset()
                raise _classified(min(codes) if codes else None, f"recipient refused: {detail}") from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise _classified(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
            except (OSError, socket.timeout, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
            if refused:
                raise PermanentFailure(f"some recipients refused: {refused}")
            return

    def _reset(self) -> None:
        # After a refused transaction the session is still usable once RSET clears it.
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.close()
        finally:
            self._smtp = None

    def close(self) -> None:
        """Say QUIT and close the connection (if one is open)."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            self._smtp = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _classified(code: int | None, message: str) -> MailError:
    if code is not None and 500 <= code < 600:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code)


# ---------------------------------------------------------------------------------------------- building messages

# The legacy (compat32) MIME classes build a message about twice as fast as EmailMessage, whose structured-header
# parsing dominates when thousands of digests are rendered in one batch. CRLF line ends make the stored audit copy
# byte for byte what goes over the wire. Bodies and the subject are base64-encoded UTF-8: mostly-Chinese text grows
# by a third (quoted-printable would triple it) and stays 7-bit clean for any relay.
# Headers are not refolded (max_line_length=None): the List-Unsubscribe URL stays on its header's line, and the
# subject is folded here, into encoded-words of at most 75 characters as RFC 2047 asks.
POLICY = email_policy.compat32.clone(linesep="\r\n", max_line_length=None)
UTF8 = Charset("utf-8")
UTF8.header_encoding = BASE64
UTF8.body_encoding = BASE64


def sender_address(mail_from: str) -> str:
    """The bare address of a From value such as 'NMPA AI Tracker <tracker@example.org>' (the envelope sender)."""
    return parseaddr(mail_from)[1] or mail_from


def message_domain(mail_from: str) -> str:
    """The domain used on the right of our Message-IDs (the From address's domain)."""
    address = sender_address(mail_from)
    return address.rpartition("@")[2] or "localhost"


def make_message_id(local_part: str, mail_from: str) -> str:
    """A Message-ID fixed by what the message is (e.g. its outbox key), so a re-send carries the same one."""
    return f"<{local_part}@{message_domain(mail_from)}>"


def build_message(
    *, mail_from: str, to: str, subject: str, text: str, html: str | None, message_id: str, date: datetime,
    unsubscribe_url: str | None = None, list_id: str | None = None, extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A complete message as bytes: text (and HTML alternative), fixed Message-ID, and RFC 8058 headers.

    With `unsubscribe_url`, the message carries `List-Unsubscribe: <url>` and
    `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a mail client POSTs
    `List-Unsubscribe=One-Click` to that URL, which must unsubscribe without any further step.
    """
    if html is not None:
        # "=_" never occurs in base64 text, so the generator need not scan the bodies for a clash (which costs
        # more than everything else on a large digest); derived from the Message-ID, so a rebuild is identical.
        boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
        msg = MIMEMultipart("alternative", boundary=boundary, policy=POLICY)
    else:
        msg = MIMEText(text, "plain", UTF8, policy=POLICY)
    name, address = parseaddr(mail_from)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = to
    msg["Subject"] = Header(subject, UTF8).encode(linesep="\r\n")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if list_id:
        msg["List-Id"] = list_id
    msg["Auto-Submitted"] = "auto-generated"
    for header, value in (extra_headers or {}).items():
        msg[header] = value
    if html is not None:
        msg.attach(MIMEText(text, "plain", UTF8, policy=POLICY))
        msg.attach(MIMEText(html, "html", UTF8, policy=POLICY))
    return msg.as_bytes()
