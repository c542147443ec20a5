"""One segment of a visit as one VEVENT."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

TO_BE_CONFIRMED = "time to be confirmed"

# RFC 5545 STATUS values for our segment statuses.
_STATUS = {"tentative": "TENTATIVE", "confirmed": "CONFIRMED", "cancelled": "CANCELLED"}


@dataclass(frozen=True)
class EventData:
    """What a feed needs to know of a segment; every instant is aware."""

    uid: str
    title: str
    kind: str
    start: datetime
    end: datetime
    timezone: str
    precision: str  # "exact" | "part_of_day" | "day"
    status: str  # "tentative" | "confirmed" | "cancelled"
    sequence: int
    created: datetime
    last_modified: datetime
    part_of_day: str | None = None
    location: str = ""
    participants: tuple[str, ...] = ()
    description: str = ""
    categories: tuple[str, ...] = ()
    url: str = ""
    organizer_name: str = ""
    organizer_email: str = "noreply@visitcal.invalid"
    extra_lines: tuple[str, ...] = field(default=())

    @property
    def approximate(self) -> bool:
        return self.precision != "exact"


def when_label(event: EventData) -> str:
    """How a reader should understand the start: a clock time, or what is known of it."""
    if event.precision == "part_of_day":
        return f"{event.part_of_day}, {TO_BE_CONFIRMED}"
    if event.precision == "day":
        one_day = event.end - event.start <= timedelta(days=1)
        return TO_BE_CONFIRMED if one_day else f"date and {TO_BE_CONFIRMED}"
    return ""


def event_summary(event: EventData) -> str:
    label = when_label(event)
    return f"{event.title} ({label})" if label else event.title


def event_description(event: EventData) -> str:
    parts = []
    label = when_label(event)
    if label:
        parts.append(label[0].upper() + label[1:] + ".")
    if event.participants:
        parts.append("Participants: " + ", ".join(event.participants) + ".")
    if event.description:
        parts.append(event.description)
    return "\n\n".join(parts)


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def render_event(event: EventData) -> bytes:
    """The VEVENT of a segment, CRLF-terminated, folded at 75 octets; same input, same bytes."""
    for name in ("start", "end", "created", "last_modified"):
        if getattr(event, name).tzinfo is None:
            raise ValueError(f"{name}: naive datetime; feeds take aware datetimes only")
    tz = ZoneInfo(event.timezone)
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", event.last_modified.astimezone(UTC))
    if event.precision == "day":
        vevent.add("dtstart", _local_date(event.start, tz))
        end_day = _local_date(event.end, tz)
        if end_day <= _local_date(event.start, tz):
            end_day = _local_date(event.start, tz) + timedelta(days=1)
        vevent.add("dtend", end_day)
    else:
        vevent.add("dtstart", event.start.astimezone(tz))
        vevent.add("dtend", event.end.astimezone(tz))
    vevent.add("summary", event_summary(event))
    if event.location:
        vevent.add("location", event.location)
    description = event_description(event)
    if description:
        vevent.add("description", description)
    status = "tentative" if event.approximate and event.status == "confirmed" else event.status
    vevent.add("status", _STATUS[status])
    vevent.add("sequence", event.sequence)
    vevent.add("created", event.created.astimezone(UTC))
    vevent.add("last-modified", event.last_modified.astimezone(UTC))
    vevent.add("categories", [event.kind.upper(), *event.categories])
    if event.url:
        vevent.add("url", event.url)
    organizer = icalendar.vCalAddress(f"mailto:{event.organizer_email}")
    if event.organizer_name:
        organizer.params["cn"] = event.organizer_name
    vevent.add("organizer", organizer)
    # A whole-day or cancelled entry should not block a follower's own agenda.
    opaque = event.precision != "day" and event.status != "cancelled"
    vevent.add("transp", "OPAQUE" if opaque else "TRANSPARENT")
    return vevent.to_ical()
