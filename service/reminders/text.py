"""The words of a reminder or change notice: what, who, where, when in both zones, and links."""

from __future__ import annotations

from dataclasses import dataclass

from service.models import Segment, Visit
from service.offsets import describe_offset
from service.schedules.when import Timing, dated_line, when_in_zones


@dataclass(frozen=True)
class Links:
    segment_ics: str
    visit_feed: str
    unsubscribe: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def when(segment: Segment, visit: Visit, follower_tz: str) -> str:
    """ "15:00 JST / 07:00 CET", or what is known of an approximate time, in both zones."""
    zones = [visit.timezone] + ([follower_tz] if follower_tz != visit.timezone else [])
    return when_in_zones(Timing.of(segment), zones)


def headline(segment: Segment) -> str:
    parts = [segment.title]
    if segment.participants:
        names = segment.participants
        parts.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    if segment.location:
        parts.append(segment.location)
    return " — ".join(parts)


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
    timing = Timing.of(segment)
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
    lines = [
        title,
        "",
        f"Visit: {visit.title}",
        f"When: {dated_line(Timing.of(segment), visit.timezone)}",
    ]
    if follower_tz != visit.timezone:
        lines.append(f"Your time: {dated_line(timing, follower_tz)}")
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
