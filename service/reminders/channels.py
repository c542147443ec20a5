"""Notification channels: Apprise URLs checked, redacted, and delivered to."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import socket
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import apprise
import requests
import requests.api
import urllib3.util.connection as _connection
from apprise.plugins.base import NotifyBase

from service.address_policy import AddressRefused
from service.reminders.channel_policy import ChannelPolicy, scheme_of
from service.reminders.email_address import (
    email_channel,
    is_email_channel,
    looks_like_email,
    redact_address,
)
from service.reminders.mail_message import MailExtras
from service.reminders.message_ids import HEADER, JSON_FIELD

_MAX_URL = 2000


def check_channel(url: str, policy: ChannelPolicy) -> str:
    """The channel URL if Apprise and the channel policy accept it; ValueError otherwise (the
    URL is not echoed). A plain email address (or mailto:address) is an email channel, which
    visitcal sends itself through the operator's relay."""
    if not url or len(url) > _MAX_URL:
        raise ValueError("give an email address or an Apprise URL (ntfy://, json://, ...)")
    if looks_like_email(url) or is_email_channel(url):
        return email_channel(url)
    policy.check_scheme(url)
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = scheme_of(url)
        hint = f" for {scheme}://" if scheme and scheme.isalnum() and len(scheme) < 20 else ""
        raise ValueError(f"Apprise does not accept this URL{hint} (see Apprise's URL formats)")
    policy.check_sign_up(url, plugin)
    return url


def redact(url: str) -> str:
    """The URL with passwords and tokens masked, as Apprise's privacy mode writes it."""
    if is_email_channel(url):
        return redact_address(url)
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return url.split("://", 1)[0] + "://****"
    return str(plugin.url(privacy=True)).split("?", 1)[0]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    answer: str  # what the channel said (Apprise's log lines), for the deliveries list


class Sender(Protocol):
    def send(
        self,
        channel: str,
        title: str,
        body: str,
        message_id: str = "",
        extras: MailExtras | None = None,
    ) -> Outcome:
        """Deliver; `message_id` (service.reminders.message_ids) goes with the message where
        the channel can carry it, the same on every attempt; `extras` are what an email carries
        beyond a title and text (unsubscribe header, invitation)."""
        ...


class _CallLog(logging.Handler):
    """Collects Apprise's log lines per delivery, so each delivery gets its own answer.

    A context variable rather than a thread-local: Apprise 2 runs the plugin in a worker thread
    of its own (with a copy of the caller's context), where a thread-local misses the plugin's
    lines, the ones that say why a delivery failed."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: ContextVar[list[str] | None] = ContextVar(f"apprise_lines_{id(self)}")

    def emit(self, record: logging.LogRecord) -> None:
        lines = self.lines.get(None)
        if lines is not None:
            lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


# Apprise runs a plugin that has a time limit (service_timeout, 60 s by default) in a shared pool
# of its own, os.cpu_count() + 4 threads for the whole process: whatever worker_threads says, no
# more messages than that are under way at once (6 on two cores), and each one costs two thread
# hand-overs. Without the limit the plugin runs in our delivering thread. Each network operation
# is still bounded by the plugin's socket timeouts; and a send slower than the limit is not
# reported as timed out and retried while it may still arrive (sent twice): the worker renews
# its claim while the send goes on, so it is recorded once, when it ends.
_INLINE = apprise.AppriseAsset(service_timeout=0)


class AppriseSender:
    """Delivers through Apprise; one parsed plugin per channel URL, reused. The channel policy
    is applied again at every send: a name that resolved outside at sign-up and inside now is
    refused, on every HTTP request (redirects included) and for an email's SMTP server."""

    def __init__(self, policy: ChannelPolicy) -> None:
        self.policy = policy
        self._plugins: dict[str, apprise.Apprise] = {}
        self._lock = threading.Lock()
        self._log = _CallLog()
        logger = logging.getLogger("apprise")
        logger.addHandler(self._log)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.propagate = False  # its lines can carry secrets; they go to the deliveries list
        _keep_connections_alive()

    def _plugin(self, channel: str, message_id: str) -> apprise.Apprise:
        if message_id and scheme_of(channel) in _MAIL_SCHEMES:
            # A mail's headers live in its plugin, which every thread shares: a plugin of its
            # own for this one message (a mail costs an SMTP session anyway).
            return _made_plugin(channel, {HEADER: message_id})
        with self._lock:
            plugin = self._plugins.get(channel)
            if plugin is None:
                plugin = self._plugins[channel] = _made_plugin(channel, {})
            return plugin

    def send(
        self,
        channel: str,
        title: str,
        body: str,
        message_id: str = "",
        extras: MailExtras | None = None,
    ) -> Outcome:
        try:
            self._check(channel)
        except (ValueError, AddressRefused) as refused:
            return Outcome(False, f"refused: {refused}"[:1000])
        lines: list[str] = []
        token = self._log.lines.set(lines)
        pooled = _POOLED.set(True)
        guard = _HOST_CHECK.set(self.policy.check_host)
        pin = _CONNECT_TO.set(self.policy.addresses_to_connect)
        identity = _MESSAGE_ID.set(
            _Identity(message_id, scheme_of(channel) in _JSON_SCHEMES) if message_id else None
        )
        try:
            # Our text is plain: unless told so, Apprise sends email as HTML that runs every
            # line together (and its plain part loses the line breaks).
            ok = bool(
                self._plugin(channel, message_id).notify(
                    title=title, body=body, body_format=apprise.NotifyFormat.TEXT
                )
            )
        except Exception as error:  # a plugin bug must not kill the worker
            lines.append(f"error: {type(error).__name__}: {error}")
            ok = False
        finally:
            _MESSAGE_ID.reset(identity)
            _HOST_CHECK.reset(guard)
            _CONNECT_TO.reset(pin)
            _POOLED.reset(pooled)
            self._log.lines.reset(token)
        answer = "; ".join(lines[-3:]) if lines else ("delivered" if ok else "refused")
        return Outcome(ok, answer[:1000])

    def _check(self, channel: str) -> None:
        """The scheme is still allowed and the host the URL names (an email's SMTP server, a
        webhook's host) is still outside; every HTTP request is also checked as it is made
        (redirects, and the providers' own hosts for slack://, tgram://...)."""
        self.policy.check_scheme(channel)
        server = apprise.Apprise.instantiate(channel)
        if server is None:
            raise ValueError("Apprise no longer accepts this channel")
        host = self.policy.destination(server)
        if host:
            self.policy.check_host(host, int(getattr(server, "port", 0) or 0))


_MAIL_SCHEMES = frozenset({"mailto", "mailtos"})


def _made_plugin(channel: str, headers: dict[str, str]) -> apprise.Apprise:
    plugin = apprise.Apprise()
    server = apprise.Apprise.instantiate(channel, asset=_INLINE)
    if server is not None:
        _no_generic_throttle(server)
        if headers:
            server.headers = {**getattr(server, "headers", {}), **headers}  # type: ignore[attr-defined]
        plugin.add(server)
    return plugin


def _no_generic_throttle(server: NotifyBase) -> None:
    """Drop Apprise's generic 5.5 s pause between two messages through one plugin (mailto://,
    ntfy:// and most others inherit it): a follower's reminders due at the same instant (two
    segments that start together) would arrive 5.5 s apart. A rate that a plugin declares for
    its provider (slack://, tgram://, ...) is kept."""
    declared = any(
        "request_rate_per_sec" in vars(cls)
        for cls in type(server).__mro__
        if cls is not NotifyBase and issubclass(cls, NotifyBase)
    )
    if not declared:
        server.request_rate_per_sec = 0


# -- HTTP connections kept alive between deliveries -----------------------------------------------
#
# Apprise's HTTP plugins call requests.request / requests.post, which open a session and a new
# connection for every message (and read the environment's proxy settings each time). During a
# delivery, those calls go through a session of the delivering thread instead, so a channel's
# host is connected to once per thread, not once per reminder. Elsewhere they are untouched.

_POOLED: ContextVar[bool] = ContextVar("visitcal_pooled_http", default=False)
# The channel policy's host check, during a delivery: every request (each redirect too) passes it.
_HOST_CHECK: ContextVar[Callable[[str, int], None] | None] = ContextVar(
    "visitcal_host_check", default=None
)
# And at the socket: the one address each connection may go to.
_CONNECT_TO: ContextVar[Callable[[str, int], list[str]] | None] = ContextVar(
    "visitcal_connect_to", default=None
)


@dataclass(frozen=True)
class _Identity:
    """The message id of the delivery under way, and whether its body is our json:// payload."""

    message_id: str
    json_payload: bool


# Set by us for each delivery, never by a follower's URL (which cannot set headers at all): the
# plugins are shared by every thread, so the id travels with the delivery, not in the plugin.
_MESSAGE_ID: ContextVar[_Identity | None] = ContextVar("visitcal_message_id", default=None)
_JSON_SCHEMES = frozenset({"json", "jsons"})


def _identified(request: requests.PreparedRequest) -> None:
    """Put the delivery's message id on a request: a header always, and a field in the payload
    of json:// (Apprise's JSON object, which a receiver reads whole)."""
    identity = _MESSAGE_ID.get()
    if identity is None:
        return
    request.headers[HEADER] = identity.message_id
    if not identity.json_payload or not isinstance(request.body, (bytes, str)):
        return
    try:
        payload = json.loads(request.body)
    except ValueError:
        return
    if isinstance(payload, dict):
        payload[JSON_FIELD] = identity.message_id
        request.prepare_body(data=json.dumps(payload).encode(), files=None)


class RefusedAddress(requests.exceptions.ConnectionError):
    """A delivery's request to an address the channel policy refuses (the plugin reports it as
    a failed connection)."""


_sessions = threading.local()
_plain_request = requests.api.request


class _DeliverySession(requests.Session):
    """requests.Session for one delivering thread: keeps connections alive, never keeps cookies
    (one follower's webhook must not hand cookies to the next message to the same host), and
    reads the environment's proxy and CA settings once per host rather than per message."""

    def __init__(self) -> None:
        super().__init__()
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(  # type: ignore[no-untyped-def]
        self, url, proxies, stream, verify, cert
    ):
        try:
            key = (urlsplit(url)[:2], frozenset((proxies or {}).items()), stream, verify, cert)
            hash(key)
        except TypeError:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            if len(self._environment) >= 1000:  # followers' own hosts: keep it bounded
                self._environment.clear()
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        check = _HOST_CHECK.get()
        if check is not None:
            parts = urlsplit(request.url or "")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                check(parts.hostname or "", port)
            except AddressRefused as refused:
                # Into the delivery's answer (the plugin itself only says "connection error").
                logging.getLogger("apprise").warning("refused: %s", refused)
                raise RefusedAddress(str(refused)) from None
        _identified(request)
        return super().send(request, **kwargs)


def _request(method: str, url: str, **kwargs: Any) -> requests.Response:
    if not _POOLED.get():
        return _plain_request(method, url, **kwargs)
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = _DeliverySession()
    return session.request(method=method, url=url, **kwargs)


def _keep_connections_alive() -> None:
    # requests.get/post/... call requests.api.request; requests.request is the same function.
    requests.api.request = _request  # type: ignore[assignment]
    requests.request = _request  # type: ignore[assignment]
    # urllib3 opens every connection through this function (urllib3.connection calls it by
    # attribute), so a delivery's connections go only to addresses the policy checked.
    _connection.create_connection = _pinned_connect
    # And smtplib (Apprise's mailto://, whose URL may name its own SMTP server) through this one.
    socket.create_connection = _pinned_socket_connect  # type: ignore[assignment]


_plain_connect = _connection.create_connection
_plain_socket_connect = socket.create_connection


def _pinned_connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """During a delivery: connect to the address the channel policy checked, never to a name
    resolved again after the check; elsewhere, as urllib3 would."""
    return _connect_checked(_plain_connect, address, *args, **kwargs)


def _pinned_socket_connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """socket.create_connection, pinned the same way during a delivery."""
    return _connect_checked(_plain_socket_connect, address, *args, **kwargs)


def _connect_checked(
    plain: Callable[..., socket.socket], address: tuple[str, int], *args: Any, **kwargs: Any
) -> socket.socket:
    pin = _CONNECT_TO.get()
    if pin is None:
        return plain(address, *args, **kwargs)
    host, port = address
    try:
        checked = pin(host, port)
    except AddressRefused as refused:
        logging.getLogger("apprise").warning("refused: %s", refused)
        raise OSError(f"refused: {refused}") from None
    failure: OSError | None = None
    for one in checked:  # in the resolver's order, as a connection by name would try them
        try:
            return plain((one, port), *args, **kwargs)
        except OSError as error:
            failure = error
    assert failure is not None
    raise failure
