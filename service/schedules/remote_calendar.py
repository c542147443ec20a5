"""A calendar fetched from a URL for an import: http(s) only, the address policy, bounded.

The host is resolved once, every address it resolves to is checked, and the request goes to
the checked address (with the name in Host and in TLS SNI, so certificates are verified as
usual): a name that resolves to a public address when checked and to 127.0.0.1 when fetched
(DNS rebinding) cannot slip through. Redirects are followed by hand, each one checked the same.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import PurePath
from typing import Any

import httpx

from service.address_policy import AddressRefused, checked_addresses, literal
from service.errors import InputError
from service.settings import Settings

MAX_REDIRECTS = 5
SCHEMES = ("http", "https")


def public_source(source: str) -> str:
    """An import's source as the public history may show it: a URL's scheme, host and port only
    (its user, password, query and path can be secrets: a private calendar's address is its
    key), a file's name without its folders."""
    try:
        parsed = httpx.URL(source)
    except (httpx.InvalidURL, ValueError, TypeError):
        parsed = None
    if parsed is not None and parsed.scheme and parsed.host:
        port = f":{parsed.port}" if parsed.port else ""
        hidden = "/…" if parsed.raw_path not in (b"", b"/") else ""
        return f"{parsed.scheme}://{parsed.host}{port}{hidden}"
    return PurePath(source).name or "calendar"


def _refuse(url: str, reason: str) -> InputError:
    return InputError("url", f"{url}: {reason}")


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise _refuse(url, "not a URL") from None
    if parsed.scheme not in SCHEMES:
        hint = " (use https:// for a webcal:// link)" if parsed.scheme == "webcal" else ""
        raise _refuse(url, f"only http and https URLs can be imported{hint}")
    if not parsed.host:
        raise _refuse(url, "the URL names no host")
    return parsed


def resolve_checked(
    url: str, host: str, port: int, allow_private: bool, allow_public: bool = True
) -> str:
    """The address to connect to: every address `host` resolves to must pass the address policy
    (one inside address among public ones is refused too)."""
    if not allow_public:
        # Decided before any DNS query, so that nothing leaves the machine at all.
        address = literal(host)
        if host != "localhost" and (address is None or address.is_global):
            raise _refuse(
                url, "imports from public addresses are off (setting import_allow_public)"
            )
    try:
        addresses = checked_addresses(
            host,
            port,
            allow_private,
            "imports from such addresses are off (setting import_allow_private)",
        )
    except AddressRefused as refused:
        raise _refuse(url, str(refused)) from None
    return str(addresses[0])


class _Deadline:
    """One deadline for a whole fetch. httpx's timeouts are per read: a server that drips its
    headers a byte at a time never trips them. At the deadline every connection the fetch
    opened is shut down, which ends whatever read is waiting on it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    @property
    def passed(self) -> bool:
        return self._expired or time.monotonic() > self.at

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: learn each connection's socket as it is opened."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self._expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def fetch_calendar(url: str, settings: Settings) -> bytes:
    """The body of `url` (at most import_max_bytes, within import_timeout_seconds in all), or
    InputError saying why not."""
    timeout = settings.import_timeout_seconds
    with _Deadline(timeout) as deadline:
        try:
            return _fetch(url, settings, deadline)
        except InputError as error:
            # A read cut off at the deadline fails as a broken connection: say what happened.
            if deadline.passed and "did not answer" not in error.reason:
                raise _refuse(url, f"did not answer within {timeout:g} s") from None
            raise


def _fetch(url: str, settings: Settings, deadline: _Deadline) -> bytes:
    limit = settings.import_max_bytes
    timeout = settings.import_timeout_seconds
    current = url
    # trust_env off: a proxy from the environment would fetch from where we did not check.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parsed = _parse(current)
            host = parsed.raw_host.decode("ascii")
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            address = resolve_checked(
                current, host, port, settings.import_allow_private, settings.import_allow_public
            )
            request = client.build_request(
                "GET",
                parsed.copy_with(host=address),
                headers={"Host": parsed.netloc.decode("ascii"), "Accept": "text/calendar, */*"},
                extensions={"trace": deadline.trace}
                | ({"sni_hostname": host} if parsed.scheme == "https" else {}),
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise _refuse(url, f"did not answer within {timeout:g} s") from None
            except httpx.HTTPError as error:
                raise _refuse(url, f"cannot be fetched ({error or type(error).__name__})") from None
            try:
                if response.is_redirect and "location" in response.headers:
                    current = str(parsed.join(response.headers["location"]))
                    continue
                if response.status_code != 200:
                    raise _refuse(
                        url, f"answered {response.status_code} {response.reason_phrase}".strip()
                    )
                return _read_bounded(response, url, limit, deadline.at, timeout)
            finally:
                response.close()
    raise _refuse(url, f"more than {MAX_REDIRECTS} redirects")


def _read_bounded(
    response: httpx.Response, url: str, limit: int, deadline: float, timeout: float
) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _refuse(url, f"is {int(declared):,} bytes, over the limit of {limit:,} bytes")
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise _refuse(url, f"is over the limit of {limit:,} bytes")
            if time.monotonic() > deadline:
                raise _refuse(url, f"did not answer in full within {timeout:g} s")
    except httpx.TimeoutException:
        raise _refuse(url, f"did not answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise _refuse(url, f"cannot be fetched ({error or type(error).__name__})") from None
    return bytes(body)
