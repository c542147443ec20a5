"""Real receivers on 127.0.0.1 for reminders: a webhook receiver with programmable answers (what
Apprise's `json://` posts to) and an SMTP server (aiosmtpd) that accepts any login."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from service.clock import utc_now
from service.reminders.subscriptions import current_channel
from service.services import Services
from service.signing import server_secret
from service.urls import confirm_link
from tests.helpers.live_server import free_port

# -- the webhook receiver -------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One request as the receiver saw it: when, on which path, what, and how it answered."""

    at: datetime
    path: str
    title: str
    body: str
    status: int
    message_id: str = ""  # the X-Visitcal-Message-Id header
    payload_id: str = ""  # the message_id field of the JSON payload

    @property
    def unsubscribe_link(self) -> str:
        found = re.search(r"^Unsubscribe: (\S+)$", self.body, re.M)
        assert found, self.body
        return found.group(1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # many workers' threads connect at once; none may be refused


class HttpReceiver:
    """What an Apprise `json://` URL posts to. It answers 200 unless told otherwise: a script of
    statuses for the next requests, a status for a path, or holding requests unanswered until
    released (then they are answered `held_answer` and not counted as delivered)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Arrival] = []  # every request, in arrival order
        self.accepted: list[Arrival] = []  # those answered 2xx: delivered
        self.held = 0
        self.held_answer = 503
        self._changed = threading.Condition()
        self._scripts: dict[str, deque[int]] = {}
        self._always: dict[str, int] = {}
        self._delays: dict[str, deque[float]] = {}
        self._hold_after: int | None = None
        self._granted = 0  # requests given a 2xx answer so far
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = utc_now()
                payload = json.loads(raw or b"{}")
                status = receiver._status_for(self.path)
                title, message = str(payload.get("title", "")), str(payload.get("message", ""))
                arrival = Arrival(
                    at,
                    self.path,
                    title,
                    message,
                    status,
                    self.headers.get("x-visitcal-message-id", ""),
                    str(payload.get("message_id", "")),
                )
                receiver._record(arrival)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed): nobody hears the answer
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook", **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"json://127.0.0.1:{self.port}/{path}{query}"

    # -- programming the answers

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next requests on this path ("/flaky") with these statuses, then 200."""
        with self._changed:
            self._scripts.setdefault(path, deque()).extend(statuses)

    def always(self, path: str, status: int) -> None:
        """Answer every request on this path ("/broken") with `status`."""
        with self._changed:
            self._always[path] = status

    def delay(self, path: str, *seconds: float) -> None:
        """Answer the next requests on this path only after these delays (a slow channel)."""
        with self._changed:
            self._delays.setdefault(path, deque()).extend(seconds)

    def hold_after(self, delivered: int) -> None:
        """Accept `delivered` more requests, then hold every later one without answering."""
        with self._changed:
            self._hold_after = self._granted + delivered

    def release(self) -> None:
        """Stop holding: held requests get `held_answer`, later ones are answered again."""
        with self._changed:
            self._hold_after = None
        self._release.set()

    def _status_for(self, path: str) -> int:
        with self._changed:
            delays = self._delays.get(path)
            delay = delays.popleft() if delays else 0.0
        time.sleep(delay)
        with self._changed:
            # Counted when decided, not when recorded: concurrent requests cannot slip past.
            if self._hold_after is None or self._granted < self._hold_after:
                status = self._always.get(path) or self._next_scripted(path)
                self._granted += 200 <= status < 300
                return status
            self.held += 1
            self._changed.notify_all()
        self._release.wait()
        return self.held_answer

    def _next_scripted(self, path: str) -> int:
        script = self._scripts.get(path)
        return script.popleft() if script else 200

    def _record(self, arrival: Arrival) -> None:
        with self._changed:
            self.requests.append(arrival)
            if 200 <= arrival.status < 300:
                self.accepted.append(arrival)
            self._changed.notify_all()

    # -- waiting

    def wait_for(self, condition: Callable[[HttpReceiver], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def wait_accepted(self, count: int, timeout: float) -> list[Arrival]:
        self.wait_for(lambda r: len(r.accepted) >= count, timeout)
        with self._changed:
            return list(self.accepted)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Mail:
    at: datetime
    sender: str
    recipients: list[str]
    subject: str
    body: str  # the text/plain part
    content_type: str
    message: EmailMessage  # the whole message, headers and every part
    message_id: str = ""  # the X-Visitcal-Message-Id header


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1, with AUTH offered without TLS and any login accepted (recorded)."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.logins: list[tuple[str, str]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                at = utc_now()
                message = email.message_from_bytes(
                    envelope.original_content or envelope.content, policy=email.policy.default
                )
                part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
                mail = Mail(
                    at,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    str(message["subject"]),
                    part.get_content() if part is not None else "",
                    message.get_content_type(),
                    message,
                    str(message.get("x-visitcal-message-id", "")),
                )
                with receiver._changed:
                    receiver.mails.append(mail)
                    receiver._changed.notify_all()
                return "250 OK"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            if isinstance(auth_data, LoginPassword):
                self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=True, handled=False, auth_data=auth_data)

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,
        )

    def url(
        self, to: str = "follower@example.test", user: str = "visitcal", password: str = "s3cret-pw"
    ) -> str:
        return (
            f"mailto://{user}:{password}@localhost:{self.port}?smtp=127.0.0.1"
            f"&from=visitcal@example.test&to={to}&mode=insecure"
        )

    def relay_url(self, user: str = "visitcal", password: str = "s3cret-pw") -> str:
        """This server as the operator's relay (setting smtp_url)."""
        return f"smtp://{user}:{password}@127.0.0.1:{self.port}"

    def wait_mails(self, count: int, timeout: float) -> list[Mail]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.mails) >= count, timeout)
            return list(self.mails)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# -- the follower's side of a sign-up -------------------------------------------------------------


def confirm_by_link(services: Services, server_url: str, subscription_id: str) -> httpx.Response:
    """Press Confirm on the page the confirmation message links to (the link as it is sent,
    with the server's own host instead of the configured base URL)."""
    secret = server_secret(services.db, services.settings.secret_key)
    channel = current_channel(services.db, subscription_id)
    return httpx.post(confirm_link(server_url, secret, subscription_id, channel))
