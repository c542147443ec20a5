"""feeds/itip.py: an iTIP REQUEST or CANCEL made from a feed's VEVENT keeps its UID and
SEQUENCE, names the organizer and the one attendee, and carries the VTIMEZONE it uses."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from feeds.event import EventData, render_event
from feeds.itip import itip_calendar, itip_method


def _event(precision: str = "exact", status: str = "confirmed") -> bytes:
    return render_event(
        EventData(
            uid="visit.summit@visitcal.test",
            title="Summit meeting",
            kind="meeting",
            start=datetime(2026, 1, 13, 6, tzinfo=UTC),
            end=datetime(2026, 1, 13, 7, 30, tzinfo=UTC),
            timezone="Asia/Tokyo",
            precision=precision,
            status=status,
            sequence=3,
            created=datetime(2026, 1, 9, tzinfo=UTC),
            last_modified=datetime(2026, 1, 10, tzinfo=UTC),
        )
    )


def test_request_keeps_uid_and_sequence_and_carries_its_zone() -> None:
    body = itip_calendar(
        _event(), "REQUEST", "visits@example.test", "desk@example.test", "visitcal"
    )
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "REQUEST"
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Tokyo"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "visit.summit@visitcal.test" and int(event["SEQUENCE"]) == 3
    assert str(event["ORGANIZER"]) == "mailto:visits@example.test"
    assert event["ORGANIZER"].params["CN"] == "visitcal"
    assert event["ATTENDEE"].params["RSVP"] == "FALSE"
    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    assert strict.method == "REQUEST" and strict.events[0].sequence == 3


def test_cancel_of_a_whole_day_segment_needs_no_zone() -> None:
    body = itip_calendar(_event("day", "cancelled"), "CANCEL", "v@example.test", "d@example.test")
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "CANCEL" and not calendar.walk("VTIMEZONE")
    [event] = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert itip_method("cancelled") == "CANCEL" and itip_method("tentative") == "REQUEST"


def test_an_attendee_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="attendee"):
        itip_calendar(_event(), "REQUEST", "v@example.test", "x\r\nATTENDEE:evil@example.test")
