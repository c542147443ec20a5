"""A segment's time in words, the one wording that pages, reminders, the CLI and calendar links
share: whole days in the segment's own zone, clock times with the day named when the zone shows
the end on another day and both abbreviations when a DST change falls inside."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_timezone, get_timezone_location

from feeds.event import TO_BE_CONFIRMED  # the words feeds use too
from service.localtime import last_day, zone


@dataclass(frozen=True)
class Timing:
    """When a segment happens, as stored (the current one or one from the history)."""

    start: datetime
    end: datetime
    precision: str  # "exact" | "part_of_day" | "day"
    part_of_day: str | None
    timezone: str

    @classmethod
    def of(cls, segment: Any) -> Timing:
        """From a segment row (or anything with its attributes)."""
        return cls(
            segment.start_at,
            segment.end_at,
            segment.precision,
            segment.part_of_day,
            segment.timezone,
        )

    def days(self) -> tuple[date, date]:
        """First and last day in the segment's own zone (for whole-day segments)."""
        local = zone(self.timezone)
        return self.start.astimezone(local).date(), last_day(self.end, local)


def stamp(instant: datetime) -> str:
    """An instant as HTML's <time datetime> reads it."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_day(day: date) -> str:
    """ "Tue 13 Jan"."""
    return f"{day:%a} {day.day} {day:%b}"


def dated_day(day: date) -> str:
    """ "Tue 13 Jan 2026"."""
    return f"{short_day(day)} {day:%Y}"


def long_day(day: date) -> str:
    """ "Tuesday 13 January 2026"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def day_span(first: date, last: date, style: Callable[[date], str] = short_day) -> str:
    """ "Tue 13 Jan", or "Thu 15 Jan – Sat 17 Jan" over several days."""
    return style(first) if first == last else f"{style(first)} – {style(last)}"


def clock(instant: datetime, tz: ZoneInfo) -> str:
    """ "15:00 JST"."""
    local = instant.astimezone(tz)
    return f"{local:%H:%M %Z}"


def clock_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """ "13:00–18:00 JST"; the end's day is named when the zone shows it on another day."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first == last:
        return f"{first:%H:%M %Z}"
    ends_same_day = last_day(last, tz) == first.date()
    if first.strftime("%Z") != last.strftime("%Z"):  # a DST change inside the segment
        end_text = f"{last:%H:%M %Z}"
        return f"{first:%H:%M %Z}–{'' if ends_same_day else short_day(last.date()) + ' '}{end_text}"
    if ends_same_day:
        return f"{first:%H:%M}–{last:%H:%M %Z}"
    return f"{first:%H:%M} – {short_day(last.date())} {last:%H:%M %Z}"


@dataclass(frozen=True)
class When:
    day: date  # the day it is listed under, in the zone shown
    text: str  # "13:00–18:00 JST", or the days of a whole-day segment
    note: str  # "afternoon, time to be confirmed"; empty for a clock time
    local: str  # the same in the visit's zone when the page shows another zone, else empty
    start: str  # the start instant for <time datetime>
    approximate: bool


def describe_when(timing: Timing, tz_name: str) -> When:
    """How a reader in `tz_name` reads a segment's time; approximate times said as such."""
    tz, home = zone(tz_name), zone(timing.timezone)
    if timing.precision == "day":
        first, last = timing.days()
        where = "" if tz_name == timing.timezone else f", dates as in {timing.timezone}"
        note = f"whole day{where}, {TO_BE_CONFIRMED}"
        return When(first, day_span(first, last), note, "", stamp(timing.start), True)
    text = clock_span(timing.start, timing.end, tz)
    local = ""
    if tz_name != timing.timezone:
        local_day = short_day(timing.start.astimezone(home).date())
        local = f"{local_day}, {clock_span(timing.start, timing.end, home)}"
    approximate = timing.precision == "part_of_day"
    note = f"{timing.part_of_day}, {TO_BE_CONFIRMED}" if approximate else ""
    return When(
        timing.start.astimezone(tz).date(), text, note, local, stamp(timing.start), approximate
    )


def when_line(timing: Timing, tz_name: str) -> str:
    """The time on one line, for a table: "Tue 13 Jan 13:00–18:00 JST (afternoon, time to be
    confirmed)"; whole days as "Thu 15 Jan – Sat 17 Jan (Asia/Tokyo), time to be confirmed"."""
    when = describe_when(timing, tz_name)
    if timing.precision == "day":
        return f"{when.text} ({timing.timezone}), {TO_BE_CONFIRMED}"
    text = f"{short_day(when.day)} {when.text}"
    return f"{text} ({when.note})" if when.approximate else text


def when_phrase(timing: Timing, tz_name: str) -> str:
    """The time as a phrase in a sentence: "afternoon, Tue 13 Jan, 13:00–18:00 JST"."""
    when = describe_when(timing, tz_name)
    text = when.text if timing.precision == "day" else f"{short_day(when.day)}, {when.text}"
    return f"{when.note.split(',')[0]}, {text}" if when.approximate else text


def when_in_zones(timing: Timing, zones: list[str]) -> str:
    """The time in several zones at once, for a message title: "15:00 JST / 07:00 CET", "afternoon
    (13:00–18:00 JST / 05:00–10:00 CET), time to be confirmed"; whole days in their own zone."""
    if timing.precision == "day":
        span = day_span(*timing.days(), style=dated_day)
        return f"{span} ({timing.timezone}), {TO_BE_CONFIRMED}"
    if timing.precision == "part_of_day":
        spans = " / ".join(clock_span(timing.start, timing.end, zone(z)) for z in zones)
        return f"{timing.part_of_day} ({spans}), {TO_BE_CONFIRMED}"
    return " / ".join(clock(timing.start, zone(z)) for z in zones)


def dated_line(timing: Timing, tz_name: str) -> str:
    """The day and time as a clock in `tz_name` shows them, with the year and the zone's name:
    "Tue 13 Jan 2026 15:00 JST (Asia/Tokyo)"."""
    if timing.precision == "day":
        span = day_span(*timing.days(), style=dated_day)
        return f"{span} ({timing.timezone}), {TO_BE_CONFIRMED}"
    tz = zone(tz_name)
    day = dated_day(timing.start.astimezone(tz).date())
    if timing.precision == "part_of_day":
        span = clock_span(timing.start, timing.end, tz)
        return f"{day} {span} ({tz_name}), {timing.part_of_day}, {TO_BE_CONFIRMED}"
    return f"{day} {clock(timing.start, tz)} ({tz_name})"


def zone_in_words(tz_name: str) -> str:
    """The zone as a reader names it: "Japan Time", "Italy Time" (CLDR, through Babel)."""
    return get_timezone_location(get_timezone(tz_name), locale="en", return_city=False)


def feed_note(timing: Timing, place: str) -> str:
    """What a feed says of an approximate start, read right in any zone: "afternoon in Nara,
    Japan Time; time to be confirmed" (a calendar shows the window in the reader's own zone,
    where "afternoon" alone would be someone else's morning); "" for a clock time."""
    if timing.precision == "part_of_day":
        where = f" in {place}" if place else ""
        return f"{timing.part_of_day}{where}, {zone_in_words(timing.timezone)}; {TO_BE_CONFIRMED}"
    if timing.precision == "day":
        first, last = timing.days()
        return TO_BE_CONFIRMED if first == last else f"date and {TO_BE_CONFIRMED}"
    return ""
