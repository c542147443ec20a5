"""One segment of a visit as one VEVENT."""

from __future__ import annotations

import re
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
    # What is known of an approximate start, as the caller words it (its language, the zone whose
    # afternoon it is); empty: the plain English label below.
    note: str = ""
    participants_label: str = "Participants"
    # RFC 5545 LANGUAGE of SUMMARY, DESCRIPTION and LOCATION, each only when its text is known
    # to be in that language (a translated feed whose schedule gives no translation says none).
    languages: tuple[tuple[str, str], ...] = ()

    @property
    def approximate(self) -> bool:
        return self.precision != "exact"

    @property
    def opaque(self) -> bool:
        """Whether the event blocks a follower's own calendar (TRANSP:OPAQUE).

        Only a clock time that will happen does: a cancelled segment will not, a whole day is
        not when anyone is busy, and a "time to be confirmed" window of 4-5 hours would mark
        the follower busy for far longer than the segment lasts, so that their calendar (and
        anyone inviting them) would see them unavailable for an afternoon on a guess.
        """
        return self.precision == "exact" and self.status != "cancelled"


def when_label(event: EventData) -> str:
    """How a reader should understand the start: a clock time, or what is known of it."""
    if event.approximate and event.note:
        return event.note
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
        parts.append(f"{event.participants_label}: " + ", ".join(event.participants) + ".")
    if event.description:
        parts.append(event.description)
    return "\n\n".join(parts)


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def build_event(event: EventData) -> icalendar.Event:
    """The VEVENT of a segment as an icalendar component: the reference for `render_event`."""
    _check_aware(event)
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
    vevent.add("summary", event_summary(event), parameters=_language_of(event, "SUMMARY"))
    if event.location:
        vevent.add("location", event.location, parameters=_language_of(event, "LOCATION"))
    description = event_description(event)
    if description:
        vevent.add("description", description, parameters=_language_of(event, "DESCRIPTION"))
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
    vevent.add("transp", "OPAQUE" if event.opaque else "TRANSPARENT")
    return vevent


def render_event(event: EventData) -> bytes:
    """The VEVENT of a segment, CRLF-terminated, folded at 75 octets; same input, same bytes.

    Byte for byte what `build_event(event).to_ical()` gives (the tests hold the two to that),
    written directly: a bulk load renders thousands of VEVENTs, and building icalendar
    components costs most of the time of storing a segment.
    """
    _check_aware(event)
    tz = ZoneInfo(event.timezone)
    if event.precision == "day":
        start_day = _local_date(event.start, tz)
        end_day = _local_date(event.end, tz)
        if end_day <= start_day:
            end_day = start_day + timedelta(days=1)
        dtstart = f"DTSTART;VALUE=DATE:{_date_value(start_day)}"
        dtend = f"DTEND;VALUE=DATE:{_date_value(end_day)}"
    else:
        dtstart = _zoned_line("DTSTART", event.start.astimezone(tz))
        dtend = _zoned_line("DTEND", event.end.astimezone(tz))
    url = _raw_value("url", event.url) if event.url else ""
    organizer = _raw_value("organizer_email", f"mailto:{event.organizer_email}")
    if event.organizer_name:
        organizer_line = f"ORGANIZER;CN={_cn_value(event.organizer_name)}:{organizer}"
    else:
        organizer_line = f"ORGANIZER:{organizer}"
    status = "tentative" if event.approximate and event.status == "confirmed" else event.status
    stamp = _utc_value(event.last_modified)
    description = event_description(event)
    # icalendar's order: its canonical VEVENT properties first, then the others by name.
    lines = [
        "BEGIN:VEVENT",
        "SUMMARY" + _language_param(event, "SUMMARY") + ":" + _text(event_summary(event)),
        dtstart,
        dtend,
        "DTSTAMP:" + stamp,
        "UID:" + _text(event.uid),
        f"SEQUENCE:{int(event.sequence)}",
        "CATEGORIES:" + ",".join(_text(c) for c in (event.kind.upper(), *event.categories)),
        "CREATED:" + _utc_value(event.created),
    ]
    if description:
        param = _language_param(event, "DESCRIPTION")
        lines.append("DESCRIPTION" + param + ":" + _text(description))
    lines.append("LAST-MODIFIED:" + stamp)
    if event.location:
        lines.append("LOCATION" + _language_param(event, "LOCATION") + ":" + _text(event.location))
    lines += [
        organizer_line,
        "STATUS:" + _text(_STATUS[status]),
        "TRANSP:" + ("OPAQUE" if event.opaque else "TRANSPARENT"),
    ]
    if url:
        lines.append("URL:" + url)
    lines.append("END:VEVENT")
    return b"\r\n".join([_fold(line.encode("utf-8")) for line in lines]) + b"\r\n"


def _language_of(event: EventData, name: str) -> dict[str, str]:
    language = dict(event.languages).get(name)
    return {"LANGUAGE": language} if language else {}


def _language_param(event: EventData, name: str) -> str:
    """ ";LANGUAGE=ja" as icalendar writes it (a language tag needs no quoting)."""
    language = dict(event.languages).get(name)
    return f";LANGUAGE={language}" if language else ""


def _check_aware(event: EventData) -> None:
    for name in ("start", "end", "created", "last_modified"):
        if getattr(event, name).tzinfo is None:
            raise ValueError(f"{name}: naive datetime; feeds take aware datetimes only")


def _text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 3.3.11 escapes it. Unlike icalendar, which first turns a
    literal backslash-N into a line break, a backslash is always kept as one: any text survives."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def _raw_value(name: str, value: str) -> str:
    """A URI or CAL-ADDRESS, written as it is: a line break cannot be written in one."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name}: a line break cannot be written in a URI: {value!r}")
    return value


_RFC6868 = re.compile(r'\^|\r\n|\r|\n|"')
_RFC6868_ESCAPES = {"^": "^^", "\r\n": "^n", "\r": "^n", "\n": "^n", '"': "^'"}
_QUOTABLE = re.compile("[,;:\u2019]")


def _cn_value(name: str) -> str:
    """A CN parameter value: RFC 6868 escapes, quoted when it holds a space, quote or delimiter."""
    escaped = _RFC6868.sub(lambda found: _RFC6868_ESCAPES[found.group(0)], name)
    if " " in name or "'" in name or _QUOTABLE.search(escaped):
        return f'"{escaped}"'
    return escaped


def _date_value(day: date) -> str:
    return f"{day.year:04}{day.month:02}{day.day:02}"


def _time_value(instant: datetime) -> str:
    return (
        f"{instant.year:04}{instant.month:02}{instant.day:02}"
        f"T{instant.hour:02}{instant.minute:02}{instant.second:02}"
    )


def _utc_value(instant: datetime) -> str:
    return _time_value(instant.astimezone(UTC)) + "Z"


# (zone key, abbreviation) -> the parameters and suffix that icalendar writes for a local time
# in that zone: "TZID=Asia/Tokyo", or a "Z" for the zones it knows to be UTC.
_ZONE_FORMS: dict[tuple[str, str | None], tuple[str, str]] = {}


def _zoned_line(name: str, instant: datetime) -> str:
    key = getattr(instant.tzinfo, "key", None)
    form = _ZONE_FORMS.get((key, instant.tzname())) if key is not None else None
    if form is None:
        prop = icalendar.vDDDTypes(instant)
        params = prop.params.to_ical().decode("utf-8")
        form = (f";{params}" if params else "", "Z" if prop.to_ical().endswith(b"Z") else "")
        if key is not None:
            _ZONE_FORMS[(key, instant.tzname())] = form
    return f"{name}{form[0]}:{_time_value(instant)}{form[1]}"


def _fold(line: bytes) -> bytes:
    """Fold as icalendar does: at most 74 octets a line, never inside a UTF-8 character, and a
    backslash or caret at the end of a line is moved to the next (it may start an escape)."""
    if len(line) <= 74:
        return line
    pieces = []
    start = 0
    while len(line) - start > 74:
        cut = start + 74
        while line[cut] & 0xC0 == 0x80:  # a continuation byte: back to the character's start
            cut -= 1
        if line[cut - 1] in b"\\^" and cut - start > 1:
            cut -= 1
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return b"\r\n ".join(pieces)
