"""Notification channels: Apprise URLs checked, redacted, and delivered to."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import apprise

_MAX_URL = 2000


def check_channel(url: str) -> str:
    """The channel URL if Apprise accepts it; ValueError otherwise (the URL is not echoed)."""
    if not url or len(url) > _MAX_URL:
        raise ValueError("give an Apprise URL (mailto://, json://, ntfy://, slack://, ...)")
    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        hint = f" for {scheme}://" if scheme and scheme.isalnum() and len(scheme) < 20 else ""
        raise ValueError(f"Apprise does not accept this URL{hint} (see Apprise's URL formats)")
    return url


def redact(url: str) -> str:
    """The URL with passwords and tokens masked, as Apprise's privacy mode writes it."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return url.split("://", 1)[0] + "://****"
    return str(plugin.url(privacy=True)).split("?", 1)[0]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    answer: str  # what the channel said (Apprise's log lines), for the deliveries list


class Sender(Protocol):
    def send(self, channel: str, title: str, body: str) -> Outcome: ...


class _ThreadLog(logging.Handler):
    """Collects Apprise's log lines per thread, so each delivery gets its own answer."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


class AppriseSender:
    """Delivers through Apprise; one parsed plugin per channel URL, reused."""

    def __init__(self) -> None:
        self._plugins: dict[str, apprise.Apprise] = {}
        self._lock = threading.Lock()
        self._log = _ThreadLog()
        logger = logging.getLogger("apprise")
        logger.addHandler(self._log)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.propagate = False  # its lines can carry secrets; they go to the deliveries list

    def _plugin(self, channel: str) -> apprise.Apprise:
        with self._lock:
            plugin = self._plugins.get(channel)
            if plugin is None:
                plugin = apprise.Apprise()
                plugin.add(channel)
                self._plugins[channel] = plugin
            return plugin

    def send(self, channel: str, title: str, body: str) -> Outcome:
        self._log.local.lines = []
        try:
            ok = bool(self._plugin(channel).notify(title=title, body=body))
        except Exception as error:  # a plugin bug must not kill the worker
            self._log.local.lines.append(f"error: {type(error).__name__}: {error}")
            ok = False
        lines = self._log.local.lines
        self._log.local.lines = None
        answer = "; ".join(lines[-3:]) if lines else ("delivered" if ok else "refused")
        return Outcome(ok, answer[:1000])
