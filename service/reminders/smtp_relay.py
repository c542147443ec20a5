"""Sending mail through the operator's relay (setting smtp_url) over a few SMTP connections
that stay open: a batch of mails costs one connection, not one each."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from service.reminders.channels import Outcome

# A connection idle longer than this is checked with NOOP before use (servers drop idle ones).
_IDLE_CHECK_SECONDS = 20.0


@dataclass(frozen=True)
class RelayAddress:
    host: str
    port: int
    implicit_tls: bool  # smtps://
    starttls: str  # "auto" (when offered), "require", "off"
    username: str
    password: str

    @classmethod
    def parse(cls, url: str) -> RelayAddress:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("smtp_url: give smtp://user:password@host:587 or smtps://...:465")
        starttls = parse_qs(parts.query).get("starttls", ["auto"])[0].lower()
        if starttls not in ("auto", "require", "off"):
            raise ValueError("smtp_url: starttls is auto, require or off")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if scheme == "smtps" else 25),
            implicit_tls=scheme == "smtps",
            starttls="off" if scheme == "smtps" else starttls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    def describe(self) -> str:
        """Where mail goes, without the password."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


class SmtpRelay:
    """At most `connections` SMTP sessions, each reused for message after message. A session the
    server closed meanwhile is replaced once; a refusal is the delivery's answer."""

    def __init__(self, url: str, connections: int = 4, timeout: float = 30.0) -> None:
        self.address = RelayAddress.parse(url)
        self.timeout = timeout
        self._free = threading.BoundedSemaphore(connections)
        self._lock = threading.Lock()
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self.connects = 0  # sessions opened so far (the benchmark reports it)

    @property
    def description(self) -> str:
        return f"the relay {self.address.describe()}"

    def send(self, message: EmailMessage) -> Outcome:
        with self._free:
            try:
                session, reused = self._take()
            except (OSError, smtplib.SMTPException) as error:
                return Outcome(False, f"{self.address.host}: {type(error).__name__}: {error}")
            try:
                try:
                    refused = session.send_message(message)
                except smtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    session = self._connect()  # the kept session was closed by the server
                    refused = session.send_message(message)
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
                self._give_back(session)  # the session is fine; this message was refused
                return Outcome(False, f"refused by {self.address.host}: {error}"[:1000])
            except (OSError, smtplib.SMTPException) as error:
                _close(session)
                return Outcome(False, f"{self.address.host}: {type(error).__name__}: {error}")
            self._give_back(session)
        if refused:
            return Outcome(False, f"refused by {self.address.host}: {refused}"[:1000])
        return Outcome(True, f"accepted by {self.address.host}")

    def _take(self) -> tuple[smtplib.SMTP, bool]:
        with self._lock:
            kept = self._idle.pop() if self._idle else None
        if kept is not None:
            session, since = kept
            if time.monotonic() - since < _IDLE_CHECK_SECONDS or _alive(session):
                return session, True
            _close(session)
        return self._connect(), False

    def _give_back(self, session: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append((session, time.monotonic()))

    def _connect(self) -> smtplib.SMTP:
        a = self.address
        context = ssl.create_default_context()
        session: smtplib.SMTP
        if a.implicit_tls:
            session = smtplib.SMTP_SSL(a.host, a.port, timeout=self.timeout, context=context)
        else:
            session = smtplib.SMTP(a.host, a.port, timeout=self.timeout)
        try:
            session.ehlo()
            if a.starttls == "require" or (a.starttls == "auto" and session.has_extn("starttls")):
                session.starttls(context=context)
                session.ehlo()
            if a.username:
                session.login(a.username, a.password)
        except BaseException:
            _close(session)
            raise
        self.connects += 1
        return session

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for session, _since in idle:
            try:
                session.quit()
            except (OSError, smtplib.SMTPException):
                _close(session)


def _alive(session: smtplib.SMTP) -> bool:
    try:
        return session.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _close(session: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        session.close()
