"""VALARMs added to already rendered VEVENTs, for feeds that ask for them (`?alarms=1h,15m`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache

import icalendar

_END_EVENT = b"END:VEVENT\r\n"


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


def with_alarms(events: Sequence[bytes], offsets: tuple[int, ...]) -> list[bytes]:
    """Each VEVENT with the alarms inserted before its END line."""
    if not offsets:
        return list(events)
    block = alarm_block(offsets) + _END_EVENT
    return [event[: -len(_END_EVENT)] + block for event in events]
