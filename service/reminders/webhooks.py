"""Plain json:// and jsons:// webhooks, posted by our own small HTTP/1.1 client: connections kept
alive per host, many requests under way at once in one asyncio loop (a thread of the worker).

Why not Apprise here: through Apprise and requests a webhook costs ~700 µs of CPU, most of it
parsing the URL and building a session request; httpx's async client cost more still under a
burst of thousands (~1.9 ms each, measured on this machine). This client writes the request
bytes itself: ~15 µs. It posts what Apprise's json:// posts (the same JSON object, plus our
`message_id`), so a receiver sees no difference. URLs with options (a query string) are left to
Apprise, which alone knows what they mean."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from service.address_policy import AddressRefused
from service.reminders.channels import Outcome
from service.reminders.message_ids import HEADER, JSON_FIELD

CONNECT_SECONDS = 4.0  # Apprise's socket timeouts, the same for the same channels
ANSWER_SECONDS = 4.0
_MAX_BODY = 1 << 20  # an answer's body is read (to reuse the connection) up to this size
_MAX_IDLE = 256  # idle connections kept in all, across hosts
# Outcomes are handed on in groups, or at the latest this long after the first of a group came:
# an accepted message is recorded soon even when the others are slow (a worker killed meanwhile
# would send it again).
_HAND_ON_SECONDS = 0.05


@dataclass(frozen=True)
class Webhook:
    """Where a plain json:// channel posts."""

    secure: bool
    host: str
    port: int
    target: str  # the request target: the URL's path
    authorization: str  # "Basic ..." for json://user:password@host, else ""

    @property
    def origin(self) -> tuple[bool, str, int]:
        return (self.secure, self.host, self.port)


@lru_cache(maxsize=100_000)  # one parse per follower's channel, not per message
def webhook_of(channel: str) -> Webhook | None:
    """The webhook a channel posts to when it is a plain json:// or jsons:// URL; None for any
    other channel, or one with options (a query string), which Apprise delivers."""
    try:
        parts = urlsplit(channel)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("json", "jsons") or parts.query or parts.fragment or not parts.hostname:
        return None
    secure = scheme == "jsons"
    authorization = ""
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    target = quote(unquote(parts.path or "/"), safe="/!$&'()*+,;=:@~-._")
    return Webhook(secure, parts.hostname, port or (443 if secure else 80), target, authorization)


def webhook_payload(title: str, body: str, message_id: str) -> bytes:
    """Apprise's json:// object (version 1.0), with the message id."""
    payload = {
        "version": "1.0",
        "title": title,
        "message": body,
        "attachments": [],
        "type": "info",
        JSON_FIELD: message_id,
    }
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class Job:
    hook: Webhook
    payload: bytes
    message_id: str
    key: Any  # the caller's, handed back with the outcome


Done = Callable[[list[tuple[Job, Outcome]]], None]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def usable(self) -> bool:
        # A server that closed an idle connection has sent its FIN, which the loop has read.
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class WebhookClient:
    """Posts batches of webhook jobs, at most `concurrency` at once; `done` gets the outcomes in
    groups as they come, in the client's thread (it must not block: hand them on).

    `connect_to` says where a connection to a host may go (the channel policy's
    addresses_to_connect: every address checked, AddressRefused otherwise). Each connection goes
    to one of those addresses, with the name kept for TLS: a name that resolves outside when
    checked and inside a moment later (DNS rebinding) cannot slip between check and connect."""

    def __init__(self, concurrency: int, connect_to: Callable[[str, int], list[str]]) -> None:
        self._connect_to = connect_to
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhooks", daemon=True)
        self._thread.start()
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # made in the loop
        self._idle: dict[tuple[bool, str, int], list[_Connection]] = {}
        self._idle_count = 0
        self._tls = ssl.create_default_context()

    def post(self, jobs: list[Job], done: Done, group: int = 64) -> concurrent.futures.Future[None]:
        return asyncio.run_coroutine_threadsafe(self._post_all(jobs, done, group), self._loop)

    def close(self) -> None:
        async def closing() -> None:
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(closing(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    # -- in the loop ---------------------------------------------------------------------------

    async def _post_all(self, jobs: list[Job], done: Done, group: int) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        ready: list[tuple[Job, Outcome]] = []
        timer: asyncio.TimerHandle | None = None

        def hand_on() -> None:
            nonlocal timer
            if timer is not None:
                timer.cancel()
                timer = None
            if ready:
                done(ready[:])
                ready.clear()

        async def one(job: Job) -> None:
            nonlocal timer
            try:
                outcome = await self._post(job)
            except Exception as error:  # a bug of ours must not leave the claim in flight
                outcome = Outcome(False, f"error: {type(error).__name__}: {error}")
            ready.append((job, outcome))
            if len(ready) >= group:
                hand_on()
            elif timer is None:
                timer = asyncio.get_running_loop().call_later(_HAND_ON_SECONDS, hand_on)

        await asyncio.gather(*(one(job) for job in jobs))
        hand_on()

    async def _post(self, job: Job) -> Outcome:
        assert self._slots is not None
        async with self._slots:
            try:
                connection = await self._connection(job.hook)
            except AddressRefused as refused:
                return Outcome(False, f"refused: {refused}"[:1000])
            except (OSError, TimeoutError, ssl.SSLError) as error:
                return Outcome(
                    False, f"warning: JSON POST to {job.hook.host} failed: {_why(error)}"
                )
            try:
                status, reason, keep = await asyncio.wait_for(
                    self._exchange(connection, job), ANSWER_SECONDS
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                connection.close()
                return Outcome(
                    False, f"warning: JSON POST to {job.hook.host} failed: {_why(error)}"
                )
            if keep:
                self._keep(job.hook, connection)
            else:
                connection.close()
        if 200 <= status < 300:
            return Outcome(True, "info: Sent JSON POST notification.")
        return Outcome(
            False, f"warning: Failed to send JSON POST notification: {reason}, error={status}."
        )

    async def _connection(self, hook: Webhook) -> _Connection:
        idle = self._idle.get(hook.origin)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.usable:
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        addresses = await asyncio.wait_for(  # resolving blocks: in a thread of the loop's
            loop.run_in_executor(None, self._connect_to, hook.host, hook.port), CONNECT_SECONDS
        )
        failure: BaseException | None = None
        for address in addresses:  # in the resolver's order, as a connection by name tries them
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        address,
                        hook.port,
                        ssl=self._tls if hook.secure else None,
                        server_hostname=hook.host if hook.secure else None,
                    ),
                    CONNECT_SECONDS,
                )
            except (OSError, TimeoutError) as error:
                failure = error
                continue
            return _Connection(reader, writer)
        raise failure or OSError(f"{hook.host} has no address")

    def _keep(self, hook: Webhook, connection: _Connection) -> None:
        if self._idle_count >= _MAX_IDLE:  # many hosts: forget the others' idle connections
            for connections in self._idle.values():
                for each in connections:
                    each.close()
            self._idle.clear()
            self._idle_count = 0
        self._idle.setdefault(hook.origin, []).append(connection)
        self._idle_count += 1

    async def _exchange(self, connection: _Connection, job: Job) -> tuple[int, str, bool]:
        """Write the POST, read the answer; (status, reason, whether to keep the connection)."""
        hook = job.hook
        host = f"[{hook.host}]" if ":" in hook.host else hook.host
        if hook.port != (443 if hook.secure else 80):
            host += f":{hook.port}"
        lines = [
            f"POST {hook.target} HTTP/1.1",
            f"Host: {host}",
            "User-Agent: visitcal",
            "Content-Type: application/json",
            f"Content-Length: {len(job.payload)}",
            f"{HEADER}: {job.message_id}",
        ]
        if hook.authorization:
            lines.append(f"Authorization: {hook.authorization}")
        connection.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + job.payload)
        reader = connection.reader
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        status = int(code)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            await _skip_chunks(reader)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length > _MAX_BODY:
                return status, reason, False
            await reader.readexactly(length)
        elif status not in (204, 304) and not 100 <= status < 200:
            keep = False  # the body runs to the end of the connection: not read, not reused
        return status, reason, keep


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        total += size
        if total > _MAX_BODY:
            raise ValueError("answer too long")
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected; the last CRLF
            return
        await reader.readexactly(size + 2)


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, asyncio.IncompleteReadError):
        return "the connection closed before an answer"
    return f"{type(error).__name__}: {error}"
