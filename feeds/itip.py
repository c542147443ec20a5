"""iTIP messages (RFC 5546) for one segment: METHOD:REQUEST to put it in a follower's calendar
and to update it, METHOD:CANCEL to withdraw it, made from the feed's own VEVENT (same UID,
same SEQUENCE), for sending by email as iMIP (RFC 6047)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

import icalendar

from feeds.calendar import PRODID
from feeds.timezones import vtimezone

Method = Literal["REQUEST", "CANCEL"]
_END_CALENDAR = b"END:VCALENDAR\r\n"
_END_EVENT = b"END:VEVENT\r\n"


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
    head, tail = _addressed_from(vevent, method, _address("organizer", organizer), organizer_name)
    return head + _attendee_line(_address("attendee", attendee)) + tail


@lru_cache(maxsize=64)
def _addressed_from(
    vevent: bytes, method: Method, organizer: str, organizer_name: str
) -> tuple[bytes, bytes]:
    """The calendar for every follower of one segment version, split where the follower's
    ATTENDEE line goes (before END:VEVENT): made once, not once per follower."""
    event = icalendar.Event.from_ical(vevent)
    if not isinstance(event, icalendar.Event):
        raise ValueError("vevent: not a single VEVENT")
    event.pop("ORGANIZER", None)
    sender = icalendar.vCalAddress(f"mailto:{organizer}")
    if organizer_name:
        sender.params["CN"] = organizer_name
    event.add("organizer", sender)
    if method == "CANCEL":
        event["STATUS"] = icalendar.vText("CANCELLED")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    head = calendar.to_ical().removesuffix(_END_CALENDAR)
    whole = head + _zone_of(event) + event.to_ical() + _END_CALENDAR
    cut = whole.rindex(_END_EVENT)
    return whole[:cut], whole[cut:]


def itip_withdrawal(
    uid: str,
    sequence: int,
    stamp: datetime,
    organizer: str,
    attendee: str,
    organizer_name: str = "",
    summary: str = "Withdrawn",
) -> bytes:
    """A METHOD:CANCEL for an event withdrawn from public view (made restricted): only what RFC
    5546 asks of a VEVENT CANCEL (UID, SEQUENCE, DTSTAMP, ORGANIZER, ATTENDEE) with
    STATUS:CANCELLED and a neutral SUMMARY, built from scratch so that nothing of the segment as
    it now is (held back from the public) can ride along; no DTSTART (optional in a CANCEL)."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    sender = icalendar.vCalAddress(f"mailto:{_address('organizer', organizer)}")
    if organizer_name:
        sender.params["CN"] = organizer_name
    event.add("organizer", sender)
    event.add("summary", summary)
    event.add("status", "CANCELLED")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL")
    calendar.add_component(event)
    whole = calendar.to_ical()
    cut = whole.rindex(_END_EVENT)
    return whole[:cut] + _attendee_line(_address("attendee", attendee)) + whole[cut:]


def _attendee_line(address: str) -> bytes:
    follower = icalendar.vCalAddress(f"mailto:{address}")
    follower.params["CUTYPE"] = "INDIVIDUAL"
    follower.params["ROLE"] = "NON-PARTICIPANT"
    follower.params["PARTSTAT"] = "NEEDS-ACTION"
    follower.params["RSVP"] = "FALSE"
    holder = icalendar.Event()
    holder.add("attendee", follower)
    return holder.to_ical().removeprefix(b"BEGIN:VEVENT\r\n").removesuffix(_END_EVENT)


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
