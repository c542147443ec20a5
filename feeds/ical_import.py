"""Reading an `.ics` file into plain events: zones resolved, recurrences expanded, errors by line.

How times are read:
- `DTSTART;TZID=...` uses the file's VTIMEZONE of that name, else the named IANA zone (or a
  Windows zone name that icalendar knows). A TZID that is neither is an error: icalendar would
  silently read such a time as floating, and the event would land at the wrong instant.
- UTC times (`...Z`) are those instants.
- Floating times (no TZID, no Z) are read in the calendar's X-WR-TIMEZONE when it has one (as
  Google Calendar means them), else in the zone the caller gives (the visit's).
- A local time that a DST change skips or repeats is read as RFC 5545 says: with the offset
  before the gap, and the first of the two repeated times.
- Recurring events (RRULE, RDATE) are expanded within the window given (the visit's days); each
  occurrence becomes an event of its own whose UID is the series' UID with the occurrence's
  RECURRENCE-ID added, so that it is the same event at every re-import.

This module is pure: bytes in, events out; no database, HTTP or clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.parser import Contentline
from icalendar.timezone import tzp

from feeds.cpu_deadline import DeadlinePassed, cpu_deadline
from feeds.event import TO_BE_CONFIRMED
from feeds.timezones import canonical_zones, machine_zone

STATUSES = ("TENTATIVE", "CONFIRMED", "CANCELLED")
PARTS_OF_DAY = ("morning", "afternoon", "evening")
# A visit lasts days: more occurrences than this within it is a runaway rule, not a schedule.
MAX_OCCURRENCES = 500
# Work an import may cost, whatever it keeps: a 200-byte rule ticking every second since 1900
# would have the expansion walk billions of occurrences to reach the visit's days, and 2,000
# rules each under a limit of their own add up. One budget for the whole import: the
# occurrences all its rules have from their DTSTARTs to the window's end, BYxxx lists included.
MAX_EXPANSION_STEPS = 100_000
# A visit's events do not repeat every second or minute; such rules only cost work (dateutil
# steps through every second of every day it walks).
REFUSED_FREQUENCIES = ("SECONDLY", "MINUTELY")
# And a deadline for reading the whole file: a rule whose BYxxx parts never match (BYMONTH=2;
# BYMONTHDAY=30) has a handful of occurrences by any estimate, yet dateutil walks it day by day
# to the year 9999 looking for the next one. A calendar that is read in milliseconds otherwise.
MAX_PARSE_SECONDS = 5.0
MAX_EVENTS = 2_000  # VEVENTs in one calendar
MAX_DEPTH = 8  # components nested (VCALENDAR > VEVENT > VALARM is 3)
MAX_RDATES = 1_000
_FREQ_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400,
    "YEARLY": 365 * 86400,
}


class CalendarFormatError(ValueError):
    """The input is not a calendar we can read; says where (line, component) and why."""

    def __init__(self, component: str, reason: str, line: int | None = None) -> None:
        self.component = component
        self.reason = reason
        self.line = line
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{component}: {reason}")


@dataclass(frozen=True)
class ImportedEvent:
    """One event (or one occurrence of a recurring event) as the calendar gives it."""

    uid: str
    summary: str
    description: str
    location: str
    start: datetime | date  # aware datetimes; dates for all-day events
    end: datetime | date  # exclusive, as in iCalendar
    status: str  # TENTATIVE, CONFIRMED, CANCELLED, or "" when the event says nothing
    sequence: int | None
    categories: tuple[str, ...]
    line: int  # where its BEGIN:VEVENT is (the series' for an occurrence)
    # The IANA zone its times are in when the calendar names one (a TZID, or its X-WR-TIMEZONE;
    # times in a zone the file defines itself are given in the caller's zone); None for UTC and
    # floating times in a calendar without X-WR-TIMEZONE.
    zone: str | None = None
    series_uid: str | None = None  # for an occurrence of a recurring event: the series' UID
    # The LANGUAGE a text property says it is in, lowercased primary tag: (("SUMMARY", "ja"),).
    languages: tuple[tuple[str, str], ...] = ()

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


# --- the line scan: structure and positions, which icalendar's parser does not keep ---


@dataclass
class _Property:
    name: str
    params: dict[str, str]
    value: str
    line: int


@dataclass
class _Component:
    name: str
    line: int
    properties: list[_Property] = field(default_factory=list)
    children: list[_Component] = field(default_factory=list)

    def first(self, name: str) -> _Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def line_of(self, name: str) -> int:
        found = self.first(name.upper())
        return found.line if found else self.line

    def walk(self, name: str) -> Iterator[_Component]:
        """Components of this name in document order, as icalendar's walk() gives them."""
        if self.name == name:
            yield self
        for child in self.children:
            yield from child.walk(name)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Unfolded content lines with the number of the physical line each starts on."""
    current: list[str] = []
    start = 0
    # Only CRLF and LF end a line: other Unicode separators may be inside text values.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line[:1] in (" ", "\t") and current:
            current.append(line[1:])
            continue
        if current:
            yield start, "".join(current)
        current, start = ([line], number) if line.strip() else ([], number)
    if current:
        yield start, "".join(current)


def _scan(text: str) -> _Component:
    stack: list[_Component] = []
    root: _Component | None = None
    for number, line in _logical_lines(text):
        if root is not None and not stack:
            raise CalendarFormatError(
                "VCALENDAR", "content after END:VCALENDAR (import one calendar at a time)", number
            )
        try:
            name, params, value = Contentline(line).parts()
        except ValueError:
            if root is None:
                raise _not_icalendar(number, line) from None
            raise CalendarFormatError(
                stack[-1].name, f"cannot read this line as iCalendar: {line[:60]!r}", number
            ) from None
        name = name.upper()
        if root is None and (name != "BEGIN" or value.upper() != "VCALENDAR"):
            raise _not_icalendar(number, line)
        if name == "BEGIN":
            if len(stack) >= MAX_DEPTH:
                raise CalendarFormatError(
                    value.upper() or "BEGIN", f"nested more than {MAX_DEPTH} deep", number
                )
            component = _Component(value.upper(), number)
            if stack:
                stack[-1].children.append(component)
            else:
                root = component
            stack.append(component)
        elif name == "END":
            if not stack or stack[-1].name != value.upper():
                opened = f"BEGIN:{stack[-1].name} (line {stack[-1].line})" if stack else "nothing"
                raise CalendarFormatError(
                    value.upper() or "END", f"END:{value} does not close {opened}", number
                )
            stack.pop()
        else:
            stack[-1].properties.append(_Property(name, dict(params), value, number))
    if root is None:
        raise CalendarFormatError("file", "is empty, not iCalendar data", 1)
    if stack:
        raise CalendarFormatError(
            stack[-1].name, f"BEGIN:{stack[-1].name} is never closed", stack[-1].line
        )
    return root


def _not_icalendar(number: int, line: str) -> CalendarFormatError:
    return CalendarFormatError(
        "file", f"not iCalendar data (expected BEGIN:VCALENDAR, found {line[:40]!r})", number
    )


# --- zones ---


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return canonical_zones()


def _known_zone(tzid: str) -> bool:
    if tzid in _iana_zones():
        return True
    if machine_zone(tzid):  # zoneinfo would load it, meaning what this machine says
        return False
    try:  # Windows names ("Tokyo Standard Time") that icalendar maps to IANA zones
        return tzp.timezone(tzid) is not None
    except Exception:
        return False


def _check_zones(root: _Component) -> None:
    """Every TZID must be defined in the file or known, and X-WR-TIMEZONE must be known."""
    defined = set()
    for vtimezone in root.walk("VTIMEZONE"):
        name = vtimezone.first("TZID")
        if name is None:
            raise CalendarFormatError("VTIMEZONE", "TZID is missing", vtimezone.line)
        defined.add(name.value)
    wr = root.first("X-WR-TIMEZONE")
    if wr is not None and wr.value not in _iana_zones():
        raise CalendarFormatError(
            "VCALENDAR.X-WR-TIMEZONE", f"{wr.value!r} is not an IANA time zone", wr.line
        )
    for component in _outside_vtimezones(root):
        for prop in component.properties:
            tzid = prop.params.get("TZID")
            if tzid is not None and tzid not in defined and not _known_zone(tzid):
                raise CalendarFormatError(
                    f"{_label(component)}.{prop.name}",
                    f"TZID {tzid!r} is neither defined by a VTIMEZONE in the file nor a known "
                    "time zone",
                    prop.line,
                )


def _outside_vtimezones(component: _Component) -> Iterator[_Component]:
    if component.name == "VTIMEZONE":
        return
    yield component
    for child in component.children:
        yield from _outside_vtimezones(child)


def _label(component: _Component) -> str:
    uid = component.first("UID")
    return f"{component.name} {uid.value}" if uid and component.name == "VEVENT" else component.name


# --- events ---


def parse_calendar(
    data: bytes,
    *,
    zone: str,
    first_day: date,
    last_day: date,
    max_bytes: int,
    max_seconds: float = MAX_PARSE_SECONDS,
) -> list[ImportedEvent]:
    """The events of an `.ics` file, recurring ones expanded within first_day..last_day (local
    days in `zone`, which also reads floating times); CalendarFormatError for anything unreadable
    or taking more than `max_seconds` to read. Events of their own (not recurring) are all
    returned, inside the days or not."""
    try:
        with cpu_deadline(max_seconds):
            return _parse(data, zone, first_day, last_day, max_bytes)
    except DeadlinePassed:
        raise CalendarFormatError(
            "VCALENDAR",
            f"took more than {max_seconds:g} s to read (its recurring events cost too much to "
            "expand: rules that never or rarely match, or too many of them)",
        ) from None


def _parse(
    data: bytes, zone: str, first_day: date, last_day: date, max_bytes: int
) -> list[ImportedEvent]:
    if len(data) > max_bytes:
        raise CalendarFormatError(
            "file", f"is {len(data):,} bytes, over the limit of {max_bytes:,} bytes"
        )
    text = _decode(data)
    root = _scan(text)
    _check_zones(root)
    scanned_events = sum(1 for _ in root.walk("VEVENT"))
    if scanned_events > MAX_EVENTS:
        raise CalendarFormatError(
            "VCALENDAR", f"has {scanned_events:,} events, more than {MAX_EVENTS:,}", root.line
        )
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as error:  # the scan catches structure; this is what icalendar refuses
        raise CalendarFormatError("VCALENDAR", str(error)) from None
    scanned = list(root.walk("VEVENT"))
    events = list(calendar.walk("VEVENT"))
    if len(scanned) != len(events):  # cannot happen with a well-formed file: say so, do not guess
        raise CalendarFormatError("VCALENDAR", "the VEVENTs could not be matched to lines")
    for event, place in zip(events, scanned, strict=True):
        _check_event(event, place)

    own_zone = root.first("X-WR-TIMEZONE")
    if own_zone is None:
        # Floating times are read in the caller's zone: X-WR-TIMEZONE says exactly that.
        calendar.add("X-WR-TIMEZONE", zone)
    standard = x_wr_timezone.to_standard(calendar)
    tz = ZoneInfo(zone)
    window = (
        datetime.combine(first_day, time(0), tz),
        datetime.combine(last_day + timedelta(days=1), time(0), tz),
    )

    recurring: dict[str, _Component] = {}
    steps = 0.0  # the whole import's, against MAX_EXPANSION_STEPS
    for event, place in zip(standard.walk("VEVENT"), scanned, strict=True):
        if "RRULE" in event or "RDATE" in event:
            own = _rule_steps(event, place, window[1])
            steps += own
            if steps > MAX_EXPANSION_STEPS:
                others = "" if steps == own else ", with the recurring events before it,"
                raise CalendarFormatError(
                    f"{_label(place)}.RRULE",
                    f"repeats{others} about {steps:,.0f} times from DTSTART to the visit's "
                    f"last day, more than {MAX_EXPANSION_STEPS:,} for one import (start the "
                    "series closer to the visit)",
                    place.line_of("RRULE"),
                )
            recurring.setdefault(str(event["UID"]).strip(), place)
    found: list[ImportedEvent] = []
    for event, place in zip(standard.walk("VEVENT"), scanned, strict=True):
        if str(event["UID"]).strip() in recurring:
            continue  # its series (and this override of one occurrence) is expanded below
        found.append(_imported(event, place, own_zone is not None))
    if recurring:
        found.extend(_occurrences(standard, recurring, window, own_zone is not None))
    return found


def _rule_steps(event: icalendar.Event, place: _Component, until: datetime) -> float:
    """About how many occurrences expanding the event up to `until` takes (counted from its
    DTSTART, where the expansion starts, BYxxx lists included); refuses a rule more frequent
    than hourly, and more than MAX_RDATES dates."""
    label = _label(place)
    rdates = event.get("RDATE")
    count = sum(len(r.dts) for r in (rdates if isinstance(rdates, list) else [rdates]) if r)
    if count > MAX_RDATES:
        raise CalendarFormatError(
            f"{label}.RDATE", f"more than {MAX_RDATES:,} dates", place.line_of("RDATE")
        )
    total = float(count)
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        freq = str((rule.get("FREQ") or [""])[0]).upper()
        if freq in REFUSED_FREQUENCIES:
            raise CalendarFormatError(
                f"{label}.RRULE",
                f"FREQ={freq}: a visit's events do not repeat more often than hourly",
                place.line_of("RRULE"),
            )
        interval = int((rule.get("INTERVAL") or [1])[0] or 1)
        start: Any = event["DTSTART"]
        first = _as_instant(start.dt, until.tzinfo)
        span = max(0.0, (until - first).total_seconds())
        steps = span / (_FREQ_SECONDS.get(freq, 1) * max(1, interval)) + 1
        for part, values in rule.items():
            if part.startswith("BY") and part != "BYSETPOS":
                steps *= max(1, len(values))
        if rule.get("COUNT"):
            steps = min(steps, int(rule["COUNT"][0]))
        total += steps
    return total


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CalendarFormatError("file", "is not UTF-8 text", line) from None


def _check_event(event: icalendar.Component, place: _Component) -> None:
    label = _label(place)
    for name, message in getattr(event, "errors", []):
        raise CalendarFormatError(f"{label}.{name}", str(message), place.line_of(name))
    if not str(event.get("UID", "")).strip():
        raise CalendarFormatError(label, "UID is missing", place.line)
    if "DTSTART" not in event:
        raise CalendarFormatError(label, "DTSTART is missing", place.line)
    status = str(event.get("STATUS", "")).upper()
    if status and status not in STATUSES:
        raise CalendarFormatError(
            f"{label}.STATUS",
            f"{status!r} is not one of {', '.join(STATUSES)}",
            place.line_of("STATUS"),
        )


def _times(event: icalendar.Event, place: _Component) -> tuple[datetime | date, datetime | date]:
    label = _label(place)
    try:
        start, end = event.start, event.end
    except Exception as error:  # DTEND and DURATION both given, a date with a time, ...
        raise CalendarFormatError(label, str(error), place.line_of("DTEND")) from None
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise CalendarFormatError(
            f"{label}.DTEND",
            "DTSTART and DTEND must both be dates or both date-times",
            place.line_of("DTEND"),
        )
    for name, value in (("DTSTART", start), ("DTEND", end)):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise CalendarFormatError(f"{label}.{name}", "time zone unknown", place.line_of(name))
    if end < start:  # type: ignore[operator]
        raise CalendarFormatError(
            f"{label}.DTEND", f"{end} is before DTSTART {start}", place.line_of("DTEND")
        )
    return start, end


def _zone_name(start: datetime | date, place: _Component, calendar_has_zone: bool) -> str | None:
    """The IANA zone the event was written in, if it says one."""
    if not isinstance(start, datetime) or not isinstance(start.tzinfo, ZoneInfo):
        return None
    dtstart = place.first("DTSTART")
    written_with_zone = dtstart is not None and "TZID" in dtstart.params
    if written_with_zone or calendar_has_zone:
        key = start.tzinfo.key
        return key if key in _iana_zones() else None
    return None


def _text(event: icalendar.Component, name: str) -> str:
    value = event.get(name)
    if value is None:
        return ""
    if isinstance(value, list):  # the property given more than once: the first one counts
        value = value[0]
    return str(value)


def _languages(event: icalendar.Component) -> tuple[tuple[str, str], ...]:
    """Which of SUMMARY, DESCRIPTION and LOCATION say their language (RFC 5545 LANGUAGE)."""
    found = []
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        value = event.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        tag = str(getattr(value, "params", {}).get("LANGUAGE", "")).strip().lower()
        if tag:
            found.append((name, tag.replace("_", "-").split("-", 1)[0][:8]))
    return tuple(found)


def _categories(event: icalendar.Event) -> tuple[str, ...]:
    try:
        return tuple(str(value) for value in event.categories)
    except Exception:
        return ()


def _sequence(event: icalendar.Component, place: _Component) -> int | None:
    if "SEQUENCE" not in event:
        return None
    try:
        value = int(str(event["SEQUENCE"]))
    except (TypeError, ValueError):
        raise CalendarFormatError(
            f"{_label(place)}.SEQUENCE", "is not a number", place.line_of("SEQUENCE")
        ) from None
    if value < 0:
        raise CalendarFormatError(
            f"{_label(place)}.SEQUENCE", "is negative", place.line_of("SEQUENCE")
        )
    return value


def _imported(
    event: icalendar.Component,
    place: _Component,
    calendar_has_zone: bool,
    uid: str | None = None,
    series_uid: str | None = None,
) -> ImportedEvent:
    assert isinstance(event, icalendar.Event)  # walk("VEVENT") gives events
    start, end = _times(event, place)
    return ImportedEvent(
        uid=uid or str(event["UID"]).strip(),
        summary=_text(event, "SUMMARY"),
        description=_text(event, "DESCRIPTION"),
        location=_text(event, "LOCATION"),
        start=start,
        end=end,
        status=str(event.get("STATUS", "")).upper(),
        sequence=_sequence(event, place),
        categories=_categories(event),
        line=place.line,
        zone=_zone_name(start, place, calendar_has_zone),
        series_uid=series_uid,
        languages=_languages(event),
    )


def occurrence_uid(series_uid: str, recurrence_id: date | datetime) -> str:
    """The UID of one occurrence: the series' UID with its RECURRENCE-ID (UTC) before the @."""
    if isinstance(recurrence_id, datetime):
        stamp = recurrence_id.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    else:
        stamp = recurrence_id.strftime("%Y%m%d")
    local, at, domain = series_uid.rpartition("@")
    return f"{local}-{stamp}@{domain}" if at else f"{series_uid}-{stamp}"


def _occurrences(
    calendar: icalendar.Calendar,
    series: dict[str, _Component],
    window: tuple[datetime, datetime],
    calendar_has_zone: bool,
) -> list[ImportedEvent]:
    found: list[ImportedEvent] = []
    try:
        # after() yields in order of start, so the walk stops at the end of the window.
        for occurrence in recurring_ical_events.of(calendar).after(window[0]):
            start = occurrence.start
            if _as_instant(start, window[0].tzinfo) >= window[1]:
                break
            uid = str(occurrence["UID"]).strip()
            if uid not in series:
                continue
            place = series[uid]
            if len(found) >= MAX_OCCURRENCES:
                raise CalendarFormatError(
                    f"{_label(place)}.RRULE",
                    f"more than {MAX_OCCURRENCES} occurrences within the visit's days",
                    place.line_of("RRULE"),
                )
            recurrence_id = occurrence["RECURRENCE-ID"].dt
            found.append(
                _imported(
                    occurrence,
                    place,
                    calendar_has_zone,
                    uid=occurrence_uid(uid, recurrence_id),
                    series_uid=uid,
                )
            )
    except CalendarFormatError:
        raise
    except Exception as error:  # a rule recurring_ical_events cannot expand
        first = next(iter(series.values()))
        raise CalendarFormatError(
            f"{_label(first)}.RRULE", f"cannot be expanded: {error}", first.line_of("RRULE")
        ) from None
    return found


def _as_instant(value: Any, tz: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


# --- what our own feeds add to SUMMARY and DESCRIPTION (feeds/event.py), read back ---


@dataclass(frozen=True)
class Decorations:
    """A summary and description with the labels our feeds add taken off, and what they said."""

    title: str
    description: str
    part_of_day: str | None = None  # "(afternoon, time to be confirmed)"
    time_to_be_confirmed: bool = False  # "(time to be confirmed)" on a whole-day event
    participants: tuple[str, ...] = ()


_PARTICIPANTS = re.compile(r"^Participants: (.+)\.$", re.S)
# "(afternoon in Nara, Japan Time; time to be confirmed)", "(afternoon, Japan Time; ...)", and
# the older "(afternoon, time to be confirmed)": the place and zone are words, not data.
_PART_LABEL = rf"(?P<part>{'|'.join(PARTS_OF_DAY)})(?: in [^;]*|, [^;]*)?[,;] {TO_BE_CONFIRMED}"
_PART_SUMMARY = re.compile(rf"^(?P<title>.*) \({_PART_LABEL}\)$", re.S)
_DAY_LABELS = (TO_BE_CONFIRMED, f"date and {TO_BE_CONFIRMED}")
_LABEL_SENTENCE = re.compile(
    rf"^(?:{'|'.join(re.escape(label.capitalize()) for label in _DAY_LABELS)}"
    rf"|(?i:{_PART_LABEL}))\.$"
)


def read_decorations(summary: str, description: str, all_day: bool) -> Decorations:
    """Undo `event_summary` and `event_description`, so that importing one of our own feeds
    gives back the segment's title, participants and description rather than the labels."""
    title, label, part = summary, "", None
    if all_day:
        for candidate in _DAY_LABELS:
            if summary.endswith(f" ({candidate})"):
                title, label = summary[: -len(candidate) - 3], candidate
    else:
        found_label = _PART_SUMMARY.match(summary)
        if found_label:
            title, label, part = found_label["title"], found_label[0], found_label["part"]
    paragraphs = description.split("\n\n") if description else []
    # The label's sentence goes even when an editor has already taken it off the summary.
    if paragraphs and _LABEL_SENTENCE.match(paragraphs[0]):
        paragraphs.pop(0)
    participants: tuple[str, ...] = ()
    found = _PARTICIPANTS.match(paragraphs[0]) if paragraphs else None
    if found:
        participants = tuple(found.group(1).split(", "))
        paragraphs.pop(0)
    return Decorations(
        title=title,
        description="\n\n".join(paragraphs),
        part_of_day=part,
        time_to_be_confirmed=bool(label) and part is None,
        participants=participants,
    )
