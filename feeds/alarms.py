"""VALARMs added to already rendered VEVENTs, for feeds that ask for them (`?alarms=1h,15m`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache

import icalendar

_END_EVENT = b"END:VEVENT\r\n"
# Lines of a rendered VEVENT (feeds/event.py writes each unfolded) that rule alarms out.
_CANCELLED = b"\r\nSTATUS:CANCELLED\r\n"
_WHOLE_DAY = b"\r\nDTSTART;VALUE=DATE:"


@lru_cache(maxsize=64)
def alarm_block(offsets: tuple[int, ...]) -> bytes:
    """One DISPLAY alarm per offset (seconds before the start), as VALARM components."""
    parts = []
    for seconds in offsets:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", "Reminder")
        alarm.add("trigger", -timedelta(seconds=seconds))
        parts.append(alarm.to_ical())
    return b"".join(parts)


def takes_alarms(event: bytes) -> bool:
    """Alarms belong on segments that will happen, at a time that means something.

    Not on a cancelled one, and not on a whole day: its start is midnight wherever the reader
    is, so "1 hour before" would ring at 23:00 the evening before in every zone (and some
    client libraries refuse a relative alarm on a DATE start). Followers of whole-day segments
    get their reminders from the reminder service, which words the day in the visit's zone.
    """
    return _CANCELLED not in event and _WHOLE_DAY not in event


def with_alarms(events: Sequence[bytes], offsets: tuple[int, ...]) -> list[bytes]:
    """Each VEVENT that takes alarms with them inserted before its END line; others as they are."""
    if not offsets:
        return list(events)
    block = alarm_block(offsets) + _END_EVENT
    return [event[: -len(_END_EVENT)] + block if takes_alarms(event) else event for event in events]
