"""A visit's broadcast channels: one channel that any number of people follow (an ntfy topic, a
Telegram or Matrix channel, any Apprise URL), set by an operator. Each is a subscription to the
visit, confirmed by the operator and marked `broadcast`, so every reminder and notice goes to it
once, by the same worker path; the visit page shows how to follow it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import col, select

from service.db import Database, mark_changed
from service.errors import InputError, NotFound
from service.models import Subscription
from service.reminders.subscriptions import (
    SubscriptionRequest,
    create_subscription,
    end_subscription,
    request_from,
)
from service.settings import Settings

_PUBLIC_NTFY = "https://ntfy.sh"


@dataclass(frozen=True)
class Broadcast:
    id: str
    visit: str
    channel: str  # redacted
    label: str
    follow_url: str


def follow_url_of(channel: str) -> str:
    """Where people follow an ntfy topic (ntfy://topic is ntfy.sh's; ntfys://host/topic a
    server's own), or "" for a channel whose public address only the operator knows."""
    parts = urlsplit(channel)
    scheme = parts.scheme.lower()
    if scheme not in ("ntfy", "ntfys") or parts.username or parts.password:
        return ""
    topics = [p for p in parts.path.split("/") if p]
    if not topics:  # ntfy://topic: the topic is where the host would be
        return f"{_PUBLIC_NTFY}/{parts.hostname}" if parts.hostname else ""
    web = "https" if scheme == "ntfys" else "http"
    return f"{web}://{parts.netloc}/{topics[0]}"


def add_broadcast(
    db: Database,
    settings: Settings,
    visit: str,
    channel: str,
    now: datetime,
    label: str = "",
    follow_url: str = "",
    offsets: list[str] | None = None,
) -> Broadcast:
    """Give `visit` a broadcast channel; InputError names a bad field (nothing is changed)."""
    follow = follow_url or follow_url_of(channel)
    if follow and urlsplit(follow).scheme not in ("https", "http"):
        raise InputError("follow_url", "give an http:// or https:// address people can open")
    data: dict[str, object] = {"channel": channel, "visits": [visit], "label": label}
    if offsets is not None:
        data["offsets"] = offsets
    request = request_from(data, SubscriptionRequest)
    created = create_subscription(db, settings, request, now, confirmed=True)
    with db.write() as session:
        row = session.get(Subscription, created.subscription.id)
        assert row is not None
        row.broadcast, row.follow_url = True, follow
        session.add(row)
        mark_changed(session)  # the visit page lists its broadcast channels
    return _broadcast(row)


def broadcasts(db: Database, visit: str | None = None) -> list[Broadcast]:
    """The active broadcast channels, of one visit or all."""
    with db.session() as session:
        rows = session.exec(
            select(Subscription)
            .where(col(Subscription.broadcast), col(Subscription.active))
            .order_by(col(Subscription.created_at))
        ).all()
    return [_broadcast(row) for row in rows if visit is None or visit in row.visits]


def remove_broadcast(db: Database, broadcast_id: str, now: datetime) -> None:
    with db.session() as session:
        row = session.get(Subscription, broadcast_id)
    if row is None or not row.broadcast or not row.active:
        raise NotFound(f"no broadcast channel {broadcast_id!r}")
    end_subscription(db, broadcast_id, now)
    with db.write() as session:
        mark_changed(session)


def _broadcast(row: Subscription) -> Broadcast:
    visit = row.visits[0] if row.visits else ""
    return Broadcast(row.id, visit, row.channel_redacted, row.label, row.follow_url)
