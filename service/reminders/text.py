"""The words of a reminder or change notice: what, who, where, when in both zones, and links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.models import Segment, Visit
from service.offsets import describe_offset
from service.reminders.notice_changes import Difference
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


_FIELD_NAMES = {
    "title": "Title",
    "location": "Where",
    "participants": "Who",
    "status": "Status",
}


def changed_lines(changes: Sequence[Difference], visit_tz: str, follower_tz: str) -> list[str]:
    """ "Time: Tue 13 Jan 2026 14:00 JST (Asia/Tokyo) → Tue 13 Jan 2026 15:00 JST (...)", with
    the follower's own time on a line of its own, and a line for each other field."""
    lines = []
    for change in changes:
        if change.field == "time":
            before, after = change.before, change.after
            lines.append(f"  Time: {dated_line(before, visit_tz)} → {dated_line(after, visit_tz)}")
            if follower_tz != visit_tz:
                lines.append(
                    f"  Your time: {dated_line(before, follower_tz)}"
                    f" → {dated_line(after, follower_tz)}"
                )
            continue
        name = _FIELD_NAMES.get(change.field, change.field)
        lines.append(f"  {name}: {_shown(change.before)} → {_shown(change.after)}")
    return lines


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value) if value not in (None, "") else "(none)"


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
    changes: Sequence[Difference] = (),
) -> Message:
    """A reminder ("in 1 hour: ..."), a notice ("Cancelled: ...", with what changed, before and
    after) or a calendar invitation's cover note, for one follower."""
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
    elif kind == "invitation":
        title = f"In your calendar: {head} — {moment}"
    else:
        title = f"Changed: {head} — now {moment}"
    lines = [title, ""]
    if changes:
        lines += ["What changed:", *changed_lines(changes, visit.timezone, follower_tz), ""]
    lines += [
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
