"""A VCALENDAR assembled from already rendered VEVENTs and the VTIMEZONEs they use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import icalendar

from feeds.timezones import vtimezone

PRODID = "-//visitcal//visitcal feeds 1.0//EN"
_END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class CalendarMeta:
    """The calendar-level properties of one feed."""

    name: str
    description: str
    timezone: str
    refresh: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ZoneUse:
    """A TZID used by the feed's events and the years they span."""

    tzid: str
    first_year: int
    last_year: int


def _header(meta: CalendarMeta) -> bytes:
    cal = icalendar.Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # X- and RFC 7986 properties are not known to icalendar as TEXT: say so, or commas,
    # semicolons and newlines go out unescaped.
    cal.add("name", icalendar.vText(meta.name))
    cal.add("x-wr-calname", icalendar.vText(meta.name))
    if meta.description:
        cal.add("description", icalendar.vText(meta.description))
        cal.add("x-wr-caldesc", icalendar.vText(meta.description))
    cal.add("x-wr-timezone", meta.timezone)
    cal.add("refresh-interval", meta.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(meta.refresh))
    ical = cal.to_ical()
    assert ical.endswith(_END)
    return ical[: -len(_END)]


def render_calendar(meta: CalendarMeta, events: Sequence[bytes], zones: Iterable[ZoneUse]) -> bytes:
    """The feed's bytes: header, one VTIMEZONE per TZID (sorted), then the events in order."""
    parts = [_header(meta)]
    for zone in sorted(zones, key=lambda z: z.tzid):
        # Callers may count years in UTC; a local time can fall in the year before or after
        # (New Year's Eve west of UTC), and a VTIMEZONE must start before its first use.
        parts.append(vtimezone(zone.tzid, zone.first_year - 1, zone.last_year + 1))
    parts.extend(events)
    parts.append(_END)
    return b"".join(parts)
