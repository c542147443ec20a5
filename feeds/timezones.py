"""VTIMEZONE components generated from the tz database, cached per zone and year range."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import icalendar


@lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE of `tzid` covering the given years, as icalendar builds it from tzdata."""
    component = icalendar.Timezone.from_tzid(
        tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )
    return component.to_ical()
