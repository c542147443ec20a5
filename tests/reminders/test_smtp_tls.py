"""The operator's relay as it is met for real: STARTTLS (required) on smtp:// and TLS from the
start on smtps://, with a login, against aiosmtpd on 127.0.0.1 holding a certificate made for the
test (trusted through SSL_CERT_FILE, as a system trust store would); and a relay that refuses a
confirmation for a moment (greylisting) gets it again."""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from service.reminders.outbox import Outbox
from tests.helpers.live_server import free_port
from tests.helpers.services import make_settings
from tests.helpers.tls import self_signed_certificate


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    key, cert = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts it, as its own CA
    return key, cert


class _Server:
    def __init__(self, key: Path, cert: Path, implicit: bool) -> None:
        self.subjects: list[str] = []
        self.logins: list[tuple[str, str]] = []
        self.tls_seen: list[bool] = []
        lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with lock:
                    server.subjects.append(str(message["subject"]))
                    server.tls_seen.append(session.ssl is not None)
                return "250 OK"

        def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            if isinstance(data, LoginPassword):
                server.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=True)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.port = free_port()
        options: dict[str, Any] = {"authenticator": authenticate}
        if implicit:
            # TLS from the start; aiosmtpd only counts STARTTLS as TLS for offering AUTH.
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(tls_context=context, require_starttls=True)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_the_relay_over_tls_with_a_login(
    scheme: str, certificate: tuple[Path, Path], sqlite_url: str
) -> None:
    server = _Server(*certificate, implicit=scheme == "smtps")
    query = "?starttls=require" if scheme == "smtp" else ""
    url = f"{scheme}://visitcal:p%40ss@127.0.0.1:{server.port}{query}"
    server.controller.start()
    try:
        outbox = Outbox(make_settings(sqlite_url, smtp_url=url))
        outcomes = [
            outbox.send("mailto:desk@example.test", f"Mail {n}", "Text.\n") for n in range(3)
        ]
        outbox.close()
    finally:
        server.controller.stop()
    assert all(o.ok for o in outcomes), outcomes
    assert server.subjects == ["Mail 0", "Mail 1", "Mail 2"]
    assert server.logins == [("visitcal", "p@ss")]  # one session, one login, three mails
    if scheme == "smtp":
        assert all(server.tls_seen)  # after STARTTLS


def test_an_untrusted_certificate_is_a_failed_delivery(
    certificate: tuple[Path, Path], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _Server(*certificate, implicit=True)
    monkeypatch.delenv("SSL_CERT_FILE")
    server.controller.start()
    try:
        outbox = Outbox(make_settings(sqlite_url, smtp_url=f"smtps://127.0.0.1:{server.port}"))
        outcome = outbox.send("mailto:desk@example.test", "Mail", "Text.\n")
    finally:
        server.controller.stop()
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in outcome.answer
    assert server.subjects == []


def test_a_confirmation_the_relay_refused_for_a_moment_is_sent_again(sqlite_url: str) -> None:
    from service.reminders.confirmation import send_confirmation

    answers = ["451 4.7.1 greylisted, try again later", "250 OK"]
    accepted: list[str] = []

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            answer = answers.pop(0) if answers else "250 OK"
            if answer.startswith("250"):
                accepted.append(envelope.content.decode())
            return answer

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        outbox = Outbox(make_settings(sqlite_url, smtp_url=f"smtp://127.0.0.1:{port}"))
        link = "http://visitcal.test/subscriptions/0123456789abcdef/confirm?sig=x"
        sent = send_confirmation(outbox, "mailto:new@example.test", link, 48, pauses=(0.05,))
        outbox.close()
    finally:
        controller.stop()
    assert sent and len(accepted) == 1 and link in accepted[0]
