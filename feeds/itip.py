"""iTIP messages (RFC 5546) for one segment: METHOD:REQUEST to put it in a follower's calendar
and to update it, METHOD:CANCEL to withdraw it, made from the feed's own VEVENT (same UID,
same SEQUENCE), for sending by email as iMIP (RFC 6047)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import icalendar

from feeds.calendar import PRODID
from feeds.timezones import vtimezone

Method = Literal["REQUEST", "CANCEL"]


def itip_method(status: str) -> Method:
    """The method that brings a follower's copy in line with a segment of this status."""
    return "CANCEL" if status == "cancelled" else "REQUEST"


def itip_calendar(
    vevent: bytes,
    method: Method,
    organizer: str,
    attendee: str,
    organizer_name: str = "",
) -> bytes:
    """A VCALENDAR with METHOD, the VTIMEZONE the event uses and the event, addressed from the
    service (ORGANIZER) to one follower (ATTENDEE, no reply asked: RSVP=FALSE).

    The feed's VEVENT already carries the UID and SEQUENCE that a calendar app matches an
    update against; a cancelled segment is already STATUS:CANCELLED with a higher SEQUENCE."""
    event = icalendar.Event.from_ical(vevent)
    if not isinstance(event, icalendar.Event):
        raise ValueError("vevent: not a single VEVENT")
    event.pop("ORGANIZER", None)
    sender = icalendar.vCalAddress(f"mailto:{_address('organizer', organizer)}")
    if organizer_name:
        sender.params["CN"] = organizer_name
    event.add("organizer", sender)
    follower = icalendar.vCalAddress(f"mailto:{_address('attendee', attendee)}")
    follower.params["CUTYPE"] = "INDIVIDUAL"
    follower.params["ROLE"] = "NON-PARTICIPANT"
    follower.params["PARTSTAT"] = "NEEDS-ACTION"
    follower.params["RSVP"] = "FALSE"
    event.add("attendee", follower)
    if method == "CANCEL":
        event["STATUS"] = icalendar.vText("CANCELLED")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    head = calendar.to_ical().removesuffix(b"END:VCALENDAR\r\n")
    return head + _zone_of(event) + event.to_ical() + b"END:VCALENDAR\r\n"


def _address(name: str, address: str) -> str:
    if not address or any(c in address for c in "\r\n:;,<> ") or "@" not in address:
        raise ValueError(f"{name}: not an email address: {address!r}")
    return address


def _zone_of(event: icalendar.Event) -> bytes:
    """The VTIMEZONE for the event's TZID (none for dates or UTC), covering its years."""
    start = event.get("DTSTART")
    tzid = start.params.get("TZID") if start is not None else None
    if not tzid or not isinstance(start.dt, datetime):
        return b""
    end = event.get("DTEND")
    last = end.dt.year if end is not None and isinstance(end.dt, datetime) else start.dt.year
    return vtimezone(str(tzid), start.dt.year - 1, last + 1)
