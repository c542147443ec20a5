"""Feed bytes assembled from stored VEVENTs and kept until the catalog changes."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from feeds.calendar import CalendarMeta, ZoneUse, render_calendar
from service.db import Database
from service.models import Segment, Visit
from service.settings import Settings

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedKey:
    """Which feed: everything public ("all"), one visit, or one segment of a visit."""

    scope: str  # "all" | "visit" | "segment"
    slug: str = ""
    segment: str = ""


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str  # strong, quoted
    last_modified: datetime
    filename: str  # for downloads


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FeedStore:
    """Answers feed requests from memory; reads the database only after something changed.

    Writes in this process call `invalidate()`; writes by other processes (a `visitcal load`
    next to a running server, another API process) are noticed through the catalog's change
    counter, read at most every `change_check_seconds`.
    """

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._feeds: dict[FeedKey, RenderedFeed | None] = {}
        self._version = -1
        self._checked_at = -float("inf")
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._feeds.clear()
            self._checked_at = -float("inf")

    def _refresh_version(self) -> None:
        now = self.clock()
        if now - self._checked_at < self.settings.change_check_seconds:
            return
        version = self.db.catalog_version()
        with self._lock:
            self._checked_at = now
            if version != self._version:
                self._version = version
                self._feeds.clear()

    def get(self, key: FeedKey) -> RenderedFeed | None:
        """The feed, or None when its visit or segment does not exist (or is not public)."""
        self._refresh_version()
        try:
            return self._feeds[key]
        except KeyError:
            pass
        feed = self._assemble(key)
        with self._lock:
            self._feeds[key] = feed
        return feed

    def _assemble(self, key: FeedKey) -> RenderedFeed | None:
        query = (
            select(
                col(Segment.ics),
                col(Segment.timezone),
                col(Segment.start_at),
                col(Segment.end_at),
                col(Segment.changed_at),
            )
            .where(col(Segment.visibility) == "public")
            .order_by(col(Segment.start_at), col(Segment.uid))
        )
        with self.db.session() as session:
            if key.scope == "all":
                meta = CalendarMeta(
                    name="visitcal: all official visits",
                    description="Every public segment of every visit kept by visitcal.",
                    timezone=self.settings.default_timezone,
                    refresh=self._refresh(),
                )
                filename = "visitcal-all.ics"
                modified = [EPOCH]
            else:
                visit = session.execute(
                    select(Visit).where(col(Visit.slug) == key.slug)
                ).scalar_one_or_none()
                if visit is None:
                    return None
                query = query.where(col(Segment.visit_id) == visit.id)
                meta = CalendarMeta(
                    name=visit.title,
                    description=visit.description.strip(),
                    timezone=visit.timezone,
                    refresh=self._refresh(),
                )
                filename = f"{visit.title}.ics"
                modified = [visit.changed_at]
                if key.scope == "segment":
                    query = query.where(col(Segment.key) == key.segment)
            rows = session.execute(query).all()
        if key.scope == "segment":
            if not rows:
                return None
            filename = f"{meta.name} - {key.segment}.ics"
        years: dict[str, tuple[int, int]] = {}
        events = []
        for ics, tzid, start, end, changed in rows:
            events.append(ics.encode("utf-8"))
            first, last = years.get(tzid, (start.year, end.year))
            years[tzid] = (min(first, start.year), max(last, end.year))
            modified.append(changed)
        zones = [ZoneUse(tzid, first, last) for tzid, (first, last) in years.items()]
        body = render_calendar(meta, events, zones)
        return RenderedFeed(body, _etag(body), max(modified), filename)

    def _refresh(self) -> timedelta:
        return timedelta(minutes=self.settings.feed_refresh_minutes)
