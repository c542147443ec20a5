"""A segment's time in words, the one wording that pages, reminders, the CLI, calendar links and
feed labels share, in each reader's language (Babel): whole days in the segment's own zone, clock
times with the day named when the zone shows the end on another day and both abbreviations when
a DST change falls inside, and approximate times said as such with whose time they are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    get_timezone,
    get_timezone_location,
)

from service.i18n import DEFAULT_LANGUAGE, N_, gettext_for
from service.localtime import last_day, zone

# The parts of a day a segment may be announced as (windows in config/settings.toml).
PART_WORDS = {"morning": N_("morning"), "afternoon": N_("afternoon"), "evening": N_("evening")}


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


# English keeps its house style ("Tue 13 Jan"); the other languages write dates as CLDR says
# their readers do ("1月13日(火)", "1월 13일 (화)", "mar 13 gen").
def short_day(day: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "Tue 13 Jan"."""
    if lang == DEFAULT_LANGUAGE:
        return f"{day:%a} {day.day} {day:%b}"
    return format_skeleton("MMMEd", day, locale=lang)


def dated_day(day: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "Tue 13 Jan 2026"."""
    if lang == DEFAULT_LANGUAGE:
        return f"{short_day(day)} {day:%Y}"
    return format_skeleton("yMMMEd", day, locale=lang)


def long_day(day: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "Tuesday 13 January 2026"."""
    if lang == DEFAULT_LANGUAGE:
        return f"{day:%A} {day.day} {day:%B %Y}"
    return format_date(day, format="full", locale=lang)


def day_span(
    first: date,
    last: date,
    style: Callable[[date, str], str] = short_day,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """ "Tue 13 Jan", or "Thu 15 Jan – Sat 17 Jan" over several days."""
    if first == last:
        return style(first, lang)
    return f"{style(first, lang)} – {style(last, lang)}"


def visit_dates(first: date, last: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "Tue 13 – Wed 14 January 2026", with only what differs repeated."""
    if first == last:
        return long_day(first, lang)
    if lang != DEFAULT_LANGUAGE:
        return format_interval(first, last, "yMMMEd", locale=lang)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%a} {first.day} – {last:%a} {last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first:%a} {first.day} {first:%B} – {last:%a} {last.day} {last:%B %Y}"
    return f"{long_day(first)} – {long_day(last)}"


# Clock times carry the tz database's abbreviation (JST, CET, KST) in every language: it is what
# the four languages' press writes next to a time, and it shows a DST change where CLDR's names
# would hide it. Zones in words ("Japan Time", "日本時間") name whose part of a day it is.
def clock(instant: datetime, tz: ZoneInfo) -> str:
    """ "15:00 JST"."""
    local = instant.astimezone(tz)
    return f"{local:%H:%M %Z}"


def clock_span(start: datetime, end: datetime, tz: ZoneInfo, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "13:00–18:00 JST"; the end's day is named when the zone shows it on another day."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first == last:
        return f"{first:%H:%M %Z}"
    ends_same_day = last_day(last, tz) == first.date()
    if first.strftime("%Z") != last.strftime("%Z"):  # a DST change inside the segment
        end_text = f"{last:%H:%M %Z}"
        end_day = "" if ends_same_day else short_day(last.date(), lang) + " "
        return f"{first:%H:%M %Z}–{end_day}{end_text}"
    if ends_same_day:
        return f"{first:%H:%M}–{last:%H:%M %Z}"
    return f"{first:%H:%M} – {short_day(last.date(), lang)} {last:%H:%M %Z}"


@lru_cache(maxsize=256)
def zone_in_words(tz_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The zone as a reader names it: "Japan Time", "日本時間", "일본 시간", "Ora Giappone"."""
    return get_timezone_location(get_timezone(tz_name), locale=lang, return_city=False)


def part_in_words(part_of_day: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "afternoon", "午後", "오후", "pomeriggio"."""
    word = PART_WORDS.get(part_of_day or "", part_of_day or "")
    return gettext_for(lang)(word)


@dataclass(frozen=True)
class When:
    day: date  # the day it is listed under, in the zone shown
    text: str  # "13:00–18:00 JST", or the days of a whole-day segment
    note: str  # "afternoon, time to be confirmed"; empty for a clock time
    local: str  # the same in the visit's zone when the page shows another zone, else empty
    start: str  # the start instant for <time datetime>
    approximate: bool
    part: str = ""  # "afternoon", "whole day": what is known, without "to be confirmed"


def describe_when(timing: Timing, tz_name: str, lang: str = DEFAULT_LANGUAGE) -> When:
    """How a reader in `tz_name` reads a segment's time; approximate times said as such."""
    _ = gettext_for(lang)
    tz, home = zone(tz_name), zone(timing.timezone)
    if timing.precision == "day":
        first, last = timing.days()
        if tz_name == timing.timezone:
            note = _("whole day, time to be confirmed")
        else:
            note = _("whole day, dates as in {zone}, time to be confirmed").format(
                zone=timing.timezone
            )
        text = day_span(first, last, lang=lang)
        return When(first, text, note, "", stamp(timing.start), True, _("whole day"))
    text = clock_span(timing.start, timing.end, tz, lang)
    local = ""
    if tz_name != timing.timezone:
        local_day = short_day(timing.start.astimezone(home).date(), lang)
        local = f"{local_day}, {clock_span(timing.start, timing.end, home, lang)}"
    approximate = timing.precision == "part_of_day"
    part = part_in_words(timing.part_of_day, lang) if approximate else ""
    note = _("{part}, time to be confirmed").format(part=part) if approximate else ""
    day = timing.start.astimezone(tz).date()
    return When(day, text, note, local, stamp(timing.start), approximate, part)


def when_line(timing: Timing, tz_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The time on one line, for a table: "Tue 13 Jan 13:00–18:00 JST (afternoon, time to be
    confirmed)"; whole days as "Thu 15 Jan – Sat 17 Jan (Asia/Tokyo), time to be confirmed"."""
    _ = gettext_for(lang)
    when = describe_when(timing, tz_name, lang)
    if timing.precision == "day":
        return _("{days} ({zone}), time to be confirmed").format(
            days=when.text, zone=timing.timezone
        )
    text = f"{short_day(when.day, lang)} {when.text}"
    return f"{text} ({when.note})" if when.approximate else text


def when_phrase(timing: Timing, tz_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The time as a phrase in a sentence: "afternoon, Tue 13 Jan, 13:00–18:00 JST"."""
    when = describe_when(timing, tz_name, lang)
    text = when.text if timing.precision == "day" else f"{short_day(when.day, lang)}, {when.text}"
    return f"{when.part}, {text}" if when.approximate else text


def when_in_zones(timing: Timing, zones: list[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The time in several zones at once, for a message title: "15:00 JST / 07:00 CET", "afternoon
    (13:00–18:00 JST / 05:00–10:00 CET), time to be confirmed"; whole days in their own zone."""
    _ = gettext_for(lang)
    if timing.precision == "day":
        span = day_span(*timing.days(), style=dated_day, lang=lang)
        return _("{days} ({zone}), time to be confirmed").format(days=span, zone=timing.timezone)
    if timing.precision == "part_of_day":
        spans = " / ".join(clock_span(timing.start, timing.end, zone(z), lang) for z in zones)
        return _("{part} ({spans}), time to be confirmed").format(
            part=part_in_words(timing.part_of_day, lang), spans=spans
        )
    return " / ".join(clock(timing.start, zone(z)) for z in zones)


def dated_line(timing: Timing, tz_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The day and time as a clock in `tz_name` shows them, with the year and the zone's name:
    "Tue 13 Jan 2026 15:00 JST (Asia/Tokyo)"."""
    _ = gettext_for(lang)
    if timing.precision == "day":
        span = day_span(*timing.days(), style=dated_day, lang=lang)
        return _("{days} ({zone}), time to be confirmed").format(days=span, zone=timing.timezone)
    tz = zone(tz_name)
    day = dated_day(timing.start.astimezone(tz).date(), lang)
    if timing.precision == "part_of_day":
        span = clock_span(timing.start, timing.end, tz, lang)
        return _("{day} {span} ({zone}), {part}, time to be confirmed").format(
            day=day, span=span, zone=tz_name, part=part_in_words(timing.part_of_day, lang)
        )
    return f"{day} {clock(timing.start, tz)} ({tz_name})"


def feed_note(timing: Timing, place: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """What a feed says of an approximate start, read right in any zone: "afternoon in Nara,
    Japan Time; time to be confirmed" (a calendar shows the window in the reader's own zone,
    where "afternoon" alone would be someone else's morning); "" for a clock time."""
    _ = gettext_for(lang)
    if timing.precision == "part_of_day":
        part = part_in_words(timing.part_of_day, lang)
        zone_words = zone_in_words(timing.timezone, lang)
        if place:
            return _("{part} in {place}, {zone}; time to be confirmed").format(
                part=part, place=place, zone=zone_words
            )
        return _("{part}, {zone}; time to be confirmed").format(part=part, zone=zone_words)
    if timing.precision == "day":
        first, last = timing.days()
        return _("time to be confirmed") if first == last else _("date and time to be confirmed")
    return ""
