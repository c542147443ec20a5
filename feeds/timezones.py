"""VTIMEZONE components generated from the tz database, cached per zone and year range."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

import icalendar

# Names a tz database has that mean this machine's setting, or nothing stable.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


def machine_zone(name: str) -> bool:
    """A name the tz database has that is not one zone everywhere: this machine's own setting
    (localtime, posixrules), Factory, or the posix/ and right/ copies."""
    return name in _NOT_ZONES or name.startswith(("posix/", "right/"))


@lru_cache(maxsize=1)
def canonical_zones() -> frozenset[str]:
    """IANA zone names as the tz database lists them (links such as Japan included), without
    the machine-local ones and the posix/ and right/ copies: a name means one thing anywhere."""
    return frozenset(name for name in available_timezones() if not machine_zone(name))


@lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE of `tzid` covering the given years, as icalendar builds it from tzdata."""
    component = icalendar.Timezone.from_tzid(
        tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )
    return component.to_ical()
