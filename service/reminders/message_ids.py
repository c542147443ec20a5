"""Each message's stable id: the same for every attempt at one delivery, so that a receiver can
drop a repeat (the worker delivers at least once; see README, "Repeats")."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

# The HTTP header that carries the id on every request of a delivery (webhooks, ntfy, ...), and
# the field that carries it in a json:// payload.
HEADER = "X-Visitcal-Message-Id"
JSON_FIELD = "message_id"


def message_id(reminder_id: int, due_at: datetime) -> str:
    """`visitcal-<reminder id>-<due instant, epoch seconds>`.

    The reminder row is the delivery; its due instant is the delivery key: a row re-planned for
    a segment that moved says something new and gets a new id, while retries, a lease taken
    over and a worker restarted all repeat the same id."""
    return f"visitcal-{reminder_id}-{int(due_at.timestamp())}"


def mail_message_id(identifier: str, base_url: str) -> str:
    """The id as an RFC 5322 Message-ID: `<visitcal-12-1790000000@host of the base URL>`."""
    host = urlsplit(base_url).hostname or "visitcal.invalid"
    return f"<{identifier}@{host}>"
