"""Feed bytes assembled from stored VEVENTs and kept until the catalog changes."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Connection, LargeBinary, Table, cast, func, select
from sqlmodel import select as select_rows

from feeds import render_event
from feeds.alarms import with_alarms
from feeds.calendar import CalendarMeta, ZoneUse, render_calendar
from service.db import Database
from service.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, gettext_for
from service.metrics import FEED_CACHE_HITS
from service.models import PrivateFeed, Segment, Visit
from service.publishing.feed_query import FeedFilter
from service.schedules.content_language import localized
from service.schedules.spec import NAME
from service.schedules.vevents import segment_event
from service.settings import Settings
from service.signing import token_hash

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CACHE_SIZE = 512
_SEGMENT: Table = Segment.__table__  # type: ignore[attr-defined]
_VISIT: Table = Visit.__table__  # type: ignore[attr-defined]
_NAME_OR_NOTHING = re.compile(rf"^({NAME})?$")


@dataclass(frozen=True)
class FeedKey:
    """Which feed: everything public ("all"), one visit, one segment of a visit, or a saved
    private feed; "all" and private feeds may be narrowed, and any feed may carry alarms."""

    scope: str  # "all" | "visit" | "segment" | "private"
    slug: str = ""
    segment: str = ""
    filter: FeedFilter = FeedFilter()
    private: str = ""  # the private feed's token hash
    restricted: bool = False  # include restricted segments (private feeds that ask for them)
    title: str = ""  # a private feed's name


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str  # strong, quoted
    last_modified: datetime
    filename: str  # for downloads
    # What the HTTP layer derives from the feed (its encoded headers), kept as long as the feed.
    derived: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)


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
        # Least recently used last out: filtered and private feeds cannot grow it without bound.
        self._feeds: OrderedDict[FeedKey, RenderedFeed] = OrderedDict()
        self._private: dict[str, FeedKey | None] = {}
        self._version = -1
        self._checked_at = -float("inf")
        self._lock = threading.Lock()
        # SQLite hands the stored UTF-8 over as bytes when asked for a BLOB, which saves decoding
        # and re-encoding megabytes of VEVENTs; other databases give text that is encoded here.
        self._ics_bytes: ColumnElement[Any] = (
            cast(_SEGMENT.c.ics, LargeBinary) if db.is_sqlite else _SEGMENT.c.ics
        )

    def invalidate(self) -> None:
        with self._lock:
            self._feeds.clear()
            self._private.clear()
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
                self._private.clear()

    def holds(self, key: FeedKey) -> bool:
        """Whether `get(key)` can answer from memory, with no database trip: the feed is
        rendered and the catalog's version was checked within change_check_seconds."""
        fresh = self.clock() - self._checked_at < self.settings.change_check_seconds
        return fresh and key in self._feeds

    def get(self, key: FeedKey) -> RenderedFeed | None:
        """The feed, or None when its visit or segment does not exist (or is not public)."""
        if not (_NAME_OR_NOTHING.match(key.slug) and _NAME_OR_NOTHING.match(key.segment)):
            return None  # not a name we ever give out: no database trip for it
        self._refresh_version()
        try:
            feed = self._feeds[key]
        except KeyError:
            pass
        else:
            FEED_CACHE_HITS.inc()
            if len(self._feeds) > 1:
                with self._lock:
                    if key in self._feeds:
                        self._feeds.move_to_end(key)
            return feed
        found = self._assemble(key)
        if found is not None:  # unknown names are not cached: they would grow without bound
            with self._lock:
                self._feeds[key] = found
                while len(self._feeds) > CACHE_SIZE:
                    self._feeds.popitem(last=False)
        return found

    def private_key(self, token: str, narrow: FeedFilter) -> FeedKey | None:
        """The key of the saved private feed a token opens (with the request's alarms), or
        None when there is none or it was revoked."""
        self._refresh_version()
        digest = token_hash(token)
        if digest not in self._private:
            with self.db.session() as session:
                row = session.exec(
                    select_rows(PrivateFeed).where(PrivateFeed.token_hash == digest)
                ).first()
            key = None
            if row is not None and row.revoked_at is None:
                saved = FeedFilter(tuple(row.visits), tuple(row.kinds), tuple(row.tags))
                key = FeedKey(
                    "private",
                    filter=saved,
                    private=digest,
                    restricted=row.include_restricted,
                    title=row.name,
                )
            with self._lock:
                if len(self._private) > CACHE_SIZE:
                    self._private.clear()
                self._private[digest] = key
        key = self._private[digest]
        if key is None:
            return None
        return replace(key, filter=replace(key.filter, alarms=narrow.alarms, lang=narrow.lang))

    def _assemble(self, key: FeedKey) -> RenderedFeed | None:
        """Heading, segments in scope, their zones and Last-Modified, then one calendar."""
        # Core statements on a plain connection: no ORM identity map nor per-row type processing
        # of 10,000 rows, so that a change is served fresh within tens of milliseconds. Both
        # statements run in one transaction and so read the same snapshot.
        in_scope = _narrowed(key.filter)
        with self.db.engine.connect() as connection:
            if key.scope in ("all", "private"):
                heading = self._all_heading(connection, key)
            else:
                found = self._visit_heading(connection, key.slug, key.filter.lang)
                if found is None:
                    return None
                heading = found
                in_scope.append(_SEGMENT.c.visit_id == heading.visit_id)
                if key.scope == "segment":
                    in_scope.append(_SEGMENT.c.key == key.segment)
            shown = _shown(key)
            summary = _zone_summary(connection, shown, in_scope, key.restricted)
            if key.filter.lang:
                events = self._translated_events(connection, shown, in_scope, key.filter)
            else:
                events = self._shown_events(connection, shown, in_scope, key.filter.tags)
        filename = heading.filename
        if key.scope == "segment":
            if not events:
                return None
            filename = f"{heading.meta.name} - {key.segment}.ics"
        zones, last_modified = _zones_and_last_modified(summary, heading.modified)
        if key.filter.alarms:
            events = with_alarms(events, key.filter.alarms)
        body = render_calendar(heading.meta, events, zones)
        return RenderedFeed(body, _etag(body), last_modified, filename)

    def _all_heading(self, connection: Connection, key: FeedKey) -> _Heading:
        """The calendar's name and description for everything public (maybe narrowed) or a
        private feed; any visit's change counts, as its fields are part of its VEVENTs."""
        narrow = key.filter
        _ = gettext_for(narrow.lang or DEFAULT_LANGUAGE)
        meta = CalendarMeta(
            name=_in_language(
                f"visitcal: {key.title}" if key.title else _all_title(narrow), narrow.lang
            ),
            description=(
                _("Segments of the visits kept by visitcal ({filters}).").format(
                    filters=_describe(narrow)
                )
                if narrow.narrows
                else _("Every public segment of every visit kept by visitcal.")
            ),
            timezone=self.settings.default_timezone,
            refresh=self._refresh(),
        )
        visits_changed = connection.execute(select(func.max(_VISIT.c.changed_at))).scalar()
        modified = [EPOCH, *([visits_changed] if visits_changed is not None else [])]
        return _Heading(meta, "visitcal-all.ics", modified)

    def _visit_heading(self, connection: Connection, slug: str, lang: str) -> _Heading | None:
        """One visit's calendar name, description and zone, or None when there is no visit."""
        visit = connection.execute(
            select(
                _VISIT.c.id,
                _VISIT.c.title,
                _VISIT.c.description,
                _VISIT.c.timezone,
                _VISIT.c.changed_at,
                _VISIT.c.translations,
            ).where(_VISIT.c.slug == slug)
        ).first()
        if visit is None:
            return None
        meta = CalendarMeta(
            name=_in_language(localized(visit, "title", lang), lang),
            description=localized(visit, "description", lang).strip(),
            timezone=visit.timezone,
            refresh=self._refresh(),
        )
        return _Heading(meta, f"{visit.title}.ics", [visit.changed_at], visit.id)

    def _shown_events(
        self,
        connection: Connection,
        shown: ColumnElement[bool],
        in_scope: list[ColumnElement[bool]],
        tags: tuple[str, ...],
    ) -> list[bytes]:
        """The stored VEVENTs in the feed, in start order, as UTF-8."""
        order = (_SEGMENT.c.start_at, _SEGMENT.c.uid)
        events: list[Any]
        if tags:
            # Tags are JSON lists (no portable SQL for them): the few rows of a tagged feed are
            # filtered here, on the segment's tags and its visit's.
            wanted = set(tags)
            tagged = (
                select(self._ics_bytes, _SEGMENT.c.tags, _VISIT.c.tags)
                .join(_VISIT, _VISIT.c.id == _SEGMENT.c.visit_id)
                .where(shown, *in_scope)
                .order_by(*order)
            )
            events = [
                ics
                for ics, own, inherited in connection.execute(tagged)
                if wanted & (set(own or ()) | set(inherited or ()))
            ]
        else:
            query = select(self._ics_bytes).where(shown, *in_scope).order_by(*order)
            events = list(connection.execute(query).scalars())
        if events and isinstance(events[0], str):
            events = [ics.encode("utf-8") for ics in events]
        return events

    def _translated_events(
        self,
        connection: Connection,
        shown: ColumnElement[bool],
        in_scope: list[ColumnElement[bool]],
        narrow: FeedFilter,
    ) -> list[bytes]:
        """The feed's VEVENTs rendered in `narrow.lang` from their rows: same UIDs, instants and
        SEQUENCE as the stored ones, with the labels and the schedule's texts in that language.
        Rendered once per change and language, then served from the cache like any feed."""
        visit_columns = [
            _VISIT.c.slug.label("visit_slug"),
            _VISIT.c.title.label("visit_title"),
            _VISIT.c.source_name,
            _VISIT.c.host_name,
            _VISIT.c.tags.label("visit_tags"),
        ]
        query = (
            select(_SEGMENT, *visit_columns)
            .join(_VISIT, _VISIT.c.id == _SEGMENT.c.visit_id)
            .where(shown, *in_scope)
            .order_by(_SEGMENT.c.start_at, _SEGMENT.c.uid)
        )
        wanted = set(narrow.tags)
        events = []
        for row in connection.execute(query).mappings():
            if wanted and not wanted & (set(row["tags"] or ()) | set(row["visit_tags"] or ())):
                continue
            segment = SimpleNamespace(**row)
            visit = SimpleNamespace(
                slug=row["visit_slug"],
                title=row["visit_title"],
                source_name=row["source_name"],
                host_name=row["host_name"],
            )
            events.append(render_event(segment_event(segment, visit, self.settings, narrow.lang)))
        return events

    def _refresh(self) -> timedelta:
        return timedelta(minutes=self.settings.feed_refresh_minutes)


def _describe(narrow: FeedFilter) -> str:
    parts = [
        f"{name}: {', '.join(values)}"
        for name, values in (
            ("visits", narrow.visits),
            ("kinds", narrow.kinds),
            ("tags", narrow.tags),
        )
        if values
    ]
    return "; ".join(parts)


def _all_title(narrow: FeedFilter) -> str:
    if narrow.narrows:
        return f"visitcal: {_describe(narrow)}"
    _ = gettext_for(narrow.lang or DEFAULT_LANGUAGE)
    return "visitcal: " + _("all official visits")


def _in_language(name: str, lang: str) -> str:
    """A calendar's name says its language when it is not the default: "… (日本語)"."""
    return f"{name} ({LANGUAGE_NAMES[lang]})" if lang else name


@dataclass(frozen=True)
class _Heading:
    """What a feed says about itself, and the instants its Last-Modified starts from."""

    meta: CalendarMeta
    filename: str  # for downloads
    modified: list[datetime]
    visit_id: int | None = None


def _narrowed(narrow: FeedFilter) -> list[ColumnElement[bool]]:
    """The segments a filter keeps (by visit and kind; tags are filtered after the query)."""
    in_scope: list[ColumnElement[bool]] = []
    if narrow.visits:
        chosen = select(_VISIT.c.id).where(_VISIT.c.slug.in_(narrow.visits))
        in_scope.append(_SEGMENT.c.visit_id.in_(chosen))
    if narrow.kinds:
        in_scope.append(_SEGMENT.c.kind.in_(narrow.kinds))
    return in_scope


def _shown(key: FeedKey) -> ColumnElement[bool]:
    """Public segments, and restricted ones in the private feeds that ask for them."""
    if key.restricted:
        return _SEGMENT.c.visibility.in_(("public", "restricted"))
    return _SEGMENT.c.visibility == "public"


def _zone_summary(
    connection: Connection,
    shown: ColumnElement[bool],
    in_scope: list[ColumnElement[bool]],
    restricted: bool,
) -> list[Any]:
    """Per zone and shown-or-not: the first start, last end and latest change."""
    # Every visibility counts for Last-Modified (a segment that leaves the public feed changes
    # it too), but for a public feed only as public_changed_at says: a change to a restricted
    # segment alone leaves the feed's bytes, and so its date, as they are.
    changed = _SEGMENT.c.changed_at if restricted else _SEGMENT.c.public_changed_at
    return list(
        connection.execute(
            select(
                _SEGMENT.c.timezone,
                shown.label("public"),
                func.min(_SEGMENT.c.start_at),
                func.max(_SEGMENT.c.end_at),
                func.max(changed),
            )
            .where(*in_scope)
            .group_by(_SEGMENT.c.timezone, shown)
        ).all()
    )


def _zones_and_last_modified(
    summary: list[Any], modified: list[datetime]
) -> tuple[list[ZoneUse], datetime]:
    """The VTIMEZONEs the shown segments need (with their years) and the feed's Last-Modified."""
    zones = [
        ZoneUse(tzid, first.year, last.year) for tzid, shown, first, last, _ in summary if shown
    ]
    changes = [changed for *_, changed in summary if changed is not None]
    return zones, max([*modified, *changes])
