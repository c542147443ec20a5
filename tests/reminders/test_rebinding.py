"""DNS rebinding: a channel's name answers a public address when checked and 127.0.0.1 a moment
later. Our webhook client, Apprise's HTTP channels and Apprise's mailto:// (an SMTP server the URL
names) must connect to the address that was checked: a real receiver on 127.0.0.1 sees nothing.
The resolver is stubbed (socket.getaddrinfo): DNS cannot be made to rebind on this machine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from service.reminders.channel_policy import ChannelPolicy
from service.reminders.channels import AppriseSender, Outcome
from service.reminders.webhooks import Job, WebhookClient, webhook_of, webhook_payload
from service.settings import Settings

NAME = "rebind.example"
PUBLIC = "93.184.216.34"


class Receiver:
    """A TCP listener on 127.0.0.1 that counts connections and keeps what arrives."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(1)
            try:
                conn.sendall(b"220 receiver ESMTP\r\n")  # an SMTP client talks first after this
                self.received.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    yield target
    target.close()


def rebinding(monkeypatch: pytest.MonkeyPatch, public_answers: int) -> None:
    """NAME resolves to a public address `public_answers` times, then to 127.0.0.1."""
    real = socket.getaddrinfo
    asked = {"n": 0}

    def answer(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        asked["n"] += 1
        address = PUBLIC if asked["n"] <= public_answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)


POLICY = ChannelPolicy.from_settings(Settings(channel_allow_private=False))


def test_the_webhook_client_connects_to_the_address_the_worker_checked(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebinding(monkeypatch, public_answers=1)
    hook = webhook_of(f"json://{NAME}:{receiver.port}/hook")
    assert hook is not None
    POLICY.check_host(hook.host, hook.port)  # the worker's check before a batch: public
    client = WebhookClient(1, POLICY.addresses_to_connect)
    answered: Future[list[tuple[Job, Outcome]]] = Future()
    try:
        job = Job(hook, webhook_payload("t", "b", "m"), "m", None)
        client.post([job], answered.set_result).result(30)
    finally:
        client.close()
    ((_job, outcome),) = answered.result(30)
    assert not outcome.ok and "127.0.0.1" in outcome.answer, outcome
    assert receiver.connections == 0 and receiver.received == []


@pytest.mark.parametrize(
    ("channel", "checks"),
    [
        # Over requests: checked at the send and at the request, then connected.
        ("json://{name}:{port}/hook?x=1", 2),  # options: Apprise delivers it, not our client
        ("form://{name}:{port}/hook", 2),
        # Over smtplib, to the SMTP server the URL names: checked at the send, then connected.
        ("mailto://user:pass@{name}:{port}?from=a@example.org&to=b@example.org", 1),
    ],
)
def test_apprise_channels_connect_to_the_address_the_send_checked(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, channel: str, checks: int
) -> None:
    sender = AppriseSender(POLICY)
    rebinding(monkeypatch, public_answers=checks)  # public for the checks, then inside
    outcome = sender.send(channel.format(name=NAME, port=receiver.port), "t", "b")
    assert not outcome.ok, outcome
    assert receiver.connections == 0 and receiver.received == []
