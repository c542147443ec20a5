"""One rule for the text, days, local times and zones anyone may give (API, forms, schedule
files, imports): no control characters (a tab and line breaks only in multi-line texts), days
within a sane range, local times without a UTC offset, canonical IANA zone names."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from feeds.timezones import canonical_zones

FIRST_YEAR = 2000
LAST_YEAR = 2100
TITLE = 300  # a title, a name, a place
TEXT = 20_000  # a description
TAG = 100  # one tag or participant... and what a list item may be at most
# C0 controls but HTAB, LF and CR; DEL; C1 controls. On one line: no tab nor line break either
# (the Unicode line and paragraph separators included).
_MULTI_LINE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ONE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _refuse_control(pattern: re.Pattern[str], allowed: str) -> Any:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            code = f"U+{ord(found.group()):04X}"
            raise ValueError(f"contains a control character ({code}); {allowed}")
        return value

    return check


one_line = _refuse_control(_ONE_LINE_BAD, "give plain text on one line")
multi_line = _refuse_control(_MULTI_LINE_BAD, "only tabs and line breaks are allowed")


def sane_day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


def local_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(
            f"{value.isoformat()} carries a UTC offset; give the local time in the visit's "
            "zone (e.g. 15:00)"
        )
    return value


def _clock_text(value: Any) -> Any:
    """Accept "15:00" (a string) or 15:00:00 (a TOML local time)."""
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (HH:MM)") from None
    return value


def canonical_zone(name: str) -> str:
    if name not in canonical_zones():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Asia/Tokyo)")
    return name


Line = Annotated[str, AfterValidator(one_line)]
Text = Annotated[str, AfterValidator(multi_line)]
Item = Annotated[str, StringConstraints(max_length=TAG), AfterValidator(one_line)]
Name = Annotated[str, StringConstraints(max_length=TITLE), AfterValidator(one_line)]
Day = Annotated[date, AfterValidator(sane_day)]
LocalTime = Annotated[time, BeforeValidator(_clock_text), AfterValidator(local_clock)]
Zone = Annotated[str, StringConstraints(max_length=64), AfterValidator(canonical_zone)]
