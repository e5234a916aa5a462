"""The mailer against real SMTP servers with TLS and AUTH: STARTTLS on a submission port, implicit TLS, wrong
password (a setting to fix: kept as a temporary failure, so queued digests are not given up)."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import require_real
from tracker.dev.mailsink import FolderHandler, free_port, read_messages
from tracker.mail.smtp import Mailer, TemporaryFailure, build_message

USER, PASSWORD = "digest", "s3cret/with:odd@chars"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    """A server TLS context with a throwaway self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        require_real("openssl")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
        and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["starttls", "implicit"])
def tls_server(request, tmp_path, tls_context):
    handler = FolderHandler(tmp_path / "tls-mail")
    port = free_port()
    if request.param == "starttls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=tls_context,
                                require_starttls=True, authenticator=authenticate, auth_require_tls=True)
        scheme = "smtp+starttls"
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=tls_context,
                                authenticator=authenticate, auth_require_tls=False)
        scheme = "smtps"
    controller.start()
    yield scheme, port, handler
    controller.stop()


def message() -> bytes:
    from datetime import datetime, timezone

    return build_message(mail_from="Tracker <digest@tracker.example.org>", to="reader@example.org",
                         subject="测试 TLS", text="你好", html=None, message_id="<tls.test@tracker.example.org>",
                         date=datetime(2026, 11, 24, tzinfo=timezone.utc))


def test_sends_over_tls_with_auth(tls_server):
    scheme, port, handler = tls_server
    from urllib.parse import quote

    url = f"{scheme}://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}?verify=0&timeout=10"
    with Mailer.from_url(url) as mailer:
        mailer.send(message(), "digest@tracker.example.org", ["reader@example.org"])
        mailer.send(message(), "digest@tracker.example.org", ["reader@example.org"])  # the connection is reused
    received = read_messages(handler.folder)
    assert len(received) == 2 and str(received[0]["Subject"]) == "测试 TLS"


def test_a_wrong_password_is_a_temporary_failure(tls_server):
    scheme, port, handler = tls_server
    with pytest.raises(TemporaryFailure) as caught:
        Mailer.from_url(f"{scheme}://{USER}:wrong@127.0.0.1:{port}?verify=0&timeout=10").send(
            message(), "digest@tracker.example.org", ["reader@example.org"])
    assert caught.value.code == 535 and handler.accepted == 0


def test_certificates_are_checked_unless_told_otherwise(tls_server):
    scheme, port, handler = tls_server
    with pytest.raises(TemporaryFailure) as caught:
        Mailer.from_url(f"{scheme}://{USER}:x@127.0.0.1:{port}?timeout=10").send(
            message(), "digest@tracker.example.org", ["reader@example.org"])
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and handler.accepted == 0
