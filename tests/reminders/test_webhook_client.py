"""The worker's own webhook client against a real HTTPS server on 127.0.0.1 (a certificate made
for the test): Apprise's JSON with the message id, basic auth from the URL, one kept-alive
connection for several posts, a new one after the server closes it, and an untrusted
certificate refused with nothing sent."""

from __future__ import annotations

import json
import ssl
import threading
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from service.reminders.channel_policy import ChannelPolicy
from service.reminders.channels import Outcome
from service.reminders.webhooks import Job, WebhookClient, webhook_of, webhook_payload
from service.settings import Settings
from tests.helpers.live_server import free_port
from tests.helpers.tls import self_signed_certificate

# The receivers listen on 127.0.0.1: the policy lets connections go inside.
INSIDE_ALLOWED = ChannelPolicy.from_settings(
    Settings(channel_allow_private=True)
).addresses_to_connect


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


class HttpsReceiver:
    """HTTP/1.1 with keep-alive over TLS; `close_after` answers close the connection."""

    def __init__(self, key: Path, cert: Path, close_after: int = 0) -> None:
        self.port = free_port()
        self.posts: list[dict[str, Any]] = []
        self.connections: set[tuple[str, int]] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                receiver.connections.add(self.client_address)
                receiver.posts.append({**body, "_headers": dict(self.headers), "_path": self.path})
                closing = close_after and len(receiver.posts) % close_after == 0
                self.send_response(200)
                self.send_header("content-length", "2")
                if closing:
                    self.send_header("connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpsReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def post_one_by_one(client: WebhookClient, channel: str, count: int) -> list[Outcome]:
    """Each post after the last has been answered: what a connection kept alive is for."""
    hook = webhook_of(channel)
    assert hook is not None
    outcomes: list[Outcome] = []
    for n in range(count):
        job = Job(
            hook, webhook_payload(f"Title {n}", "Body", f"visitcal-{n}-1"), f"visitcal-{n}-1", n
        )
        answered: Future[list[tuple[Job, Outcome]]] = Future()
        client.post([job], answered.set_result).result(30)
        outcomes += [outcome for _job, outcome in answered.result(30)]
    return outcomes


def test_posts_apprise_json_with_id_and_auth_over_one_kept_alive_tls_connection(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[1]))  # trusted, as a system CA would be
    with HttpsReceiver(*certificate, close_after=3) as receiver:
        client = WebhookClient(concurrency=4, connect_to=INSIDE_ALLOWED)
        try:
            channel = f"jsons://desk:s%40cret@127.0.0.1:{receiver.port}/hooks/visit"
            outcomes = post_one_by_one(client, channel, 5)
        finally:
            client.close()
    assert [o.ok for o in outcomes] == [True] * 5, outcomes
    first = receiver.posts[0]
    assert first["_path"] == "/hooks/visit"
    assert (first["version"], first["title"], first["message"], first["type"]) == (
        "1.0",
        "Title 0",
        "Body",
        "info",
    )
    assert first["message_id"] == first["_headers"]["X-Visitcal-Message-Id"] == "visitcal-0-1"
    assert first["_headers"]["Authorization"] == "Basic ZGVzazpzQGNyZXQ="  # desk:s@cret
    # Posts 1-3 on one connection; the server closed it after the third; 4-5 on a new one.
    assert len(receiver.connections) == 2


def test_an_untrusted_certificate_fails_the_delivery_and_nothing_arrives(
    certificate: tuple[Path, Path],
) -> None:
    with HttpsReceiver(*certificate) as receiver:
        client = WebhookClient(concurrency=1, connect_to=INSIDE_ALLOWED)
        try:
            (outcome,) = post_one_by_one(client, f"jsons://127.0.0.1:{receiver.port}/hook", 1)
        finally:
            client.close()
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in outcome.answer
    assert receiver.posts == []


def test_only_plain_json_urls_are_ours_the_rest_stay_with_apprise() -> None:
    assert webhook_of("json://127.0.0.1:9000/hook") is not None
    assert webhook_of("json://127.0.0.1:9000/hook?rto=30") is None  # options: Apprise's
    assert webhook_of("ntfy://topic") is None
    assert webhook_of("mailto://desk@example.test") is None
