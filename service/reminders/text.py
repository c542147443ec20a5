"""The words of a reminder or change notice: what, who, where, when in both zones, and links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.localtime import zone
from service.models import Segment, Visit
from service.offsets import describe_offset


@dataclass(frozen=True)
class Links:
    segment_ics: str
    visit_feed: str
    unsubscribe: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def _clock(instant: datetime, tz_name: str) -> str:
    local = instant.astimezone(zone(tz_name))
    return f"{local:%H:%M} {local:%Z}"


def _day(instant: datetime, tz_name: str) -> str:
    return f"{instant.astimezone(zone(tz_name)):%a %d %b %Y}"


def when(segment: Segment, visit: Visit, follower_tz: str) -> str:
    """ "15:00 JST / 07:00 CET", or what is known of an approximate time, in both zones."""
    zones = [visit.timezone] + ([follower_tz] if follower_tz != visit.timezone else [])
    if segment.precision == "day":
        last = segment.end_at - timedelta(microseconds=1)
        first_day, last_day = _day(segment.start_at, visit.timezone), _day(last, visit.timezone)
        span = first_day if first_day == last_day else f"{first_day} – {last_day}"
        return f"{span} ({visit.timezone}), time to be confirmed"
    if segment.precision == "part_of_day":
        windows = " / ".join(
            f"{_clock(segment.start_at, z).split()[0]}–{_clock(segment.end_at, z)}" for z in zones
        )
        return f"{segment.part_of_day} ({windows}), time to be confirmed"
    return " / ".join(_clock(segment.start_at, z) for z in zones)


def headline(segment: Segment) -> str:
    parts = [segment.title]
    if segment.participants:
        names = segment.participants
        parts.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    if segment.location:
        parts.append(segment.location)
    return " — ".join(parts)


def _local_line(segment: Segment, tz_name: str) -> str:
    """The segment's day and time as a clock in `tz_name` shows it."""
    tz = zone(tz_name)
    start, end = segment.start_at.astimezone(tz), segment.end_at.astimezone(tz)
    if segment.precision == "day":
        return f"{start:%a %d %b %Y} ({tz_name}), time to be confirmed"
    span = f"{start:%a %d %b %Y %H:%M}"
    if segment.precision == "part_of_day":
        return f"{span}–{end:%H:%M %Z} ({tz_name}), {segment.part_of_day}, time to be confirmed"
    return f"{span} {start:%Z} ({tz_name})"


def compose(
    kind: str,
    segment: Segment,
    visit: Visit,
    follower_tz: str,
    lead_seconds: int,
    links: Links,
    late: bool = False,
) -> Message:
    """A reminder ("in 1 hour: ...") or a notice ("Cancelled: ...") for one follower."""
    moment = when(segment, visit, follower_tz)
    head = headline(segment)
    if kind == "reminder":
        title = f"{head} — in {describe_offset(lead_seconds)}: {moment}"
        if late:
            title += " (sent late)"
    elif kind == "cancelled":
        title = f"Cancelled: {head} (was {moment})"
    elif kind == "refined":
        title = f"Time confirmed: {head} — {moment}"
    else:
        title = f"Changed: {head} — now {moment}"
    lines = [title, "", f"Visit: {visit.title}", f"When: {_local_line(segment, visit.timezone)}"]
    if follower_tz != visit.timezone:
        lines.append(f"Your time: {_local_line(segment, follower_tz)}")
    if segment.location:
        lines.append(f"Where: {segment.location}")
    if segment.participants:
        lines.append("Who: " + ", ".join(segment.participants))
    lines.append(f"Status: {segment.status}")
    lines += [
        "",
        f"Add to your calendar: {links.segment_ics}",
        f"Follow the visit: {links.visit_feed}",
        f"Unsubscribe: {links.unsubscribe}",
    ]
    return Message(title=title, body="\n".join(lines) + "\n")
