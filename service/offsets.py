"""Reminder offsets: "1d", "1h", "15m", "30s" or ISO-8601 durations ("PT15M", "P1D")."""

from __future__ import annotations

import re
from datetime import timedelta

from babel.units import format_unit
from pydantic import TypeAdapter, ValidationError

MAX_OFFSET = timedelta(days=30)
# ASCII only: \d would also take "١" or "۱", digits nobody means to type into a form.
_SHORT = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$", re.I | re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ISO = TypeAdapter(timedelta)


def parse_offset(text: str) -> timedelta:
    """One offset; ValueError says why it is not acceptable."""
    short = _SHORT.match(text)
    if short:
        value = timedelta(**{_UNITS[short.group(2).lower()]: int(short.group(1))})
    elif text.strip().upper().startswith("P"):
        iso = text.strip().upper()
        if not iso.isascii():
            raise ValueError(f"{text!r} is not a duration: write its digits as 0-9")
        if any(unit in iso.partition("T")[0] for unit in "YM"):
            # Months and years have no fixed length (P1M would be any of 28 to 31 days).
            raise ValueError(f"{text!r}: months and years have no fixed length; give days (P30D)")
        try:
            value = _ISO.validate_python(iso)
        except ValidationError:
            raise ValueError(f"{text!r} is not a duration (e.g. 1d, 1h, 15m or PT15M)") from None
    else:
        raise ValueError(f"{text!r} is not a duration (e.g. 1d, 1h, 15m or PT15M)")
    if value <= timedelta(0):
        raise ValueError(f"{text!r} must be more than zero")
    if value < timedelta(seconds=1):
        raise ValueError(f"{text!r} must be at least one second")
    if value % timedelta(seconds=1):
        raise ValueError(f"{text!r} is not a whole number of seconds")
    if value > MAX_OFFSET:
        raise ValueError(f"{text!r} is more than 30 days")
    return value


def parse_offsets(items: list[str] | str) -> list[int]:
    """Offsets in seconds, largest first, without repeats."""
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    if not items:
        raise ValueError("give at least one offset")
    if len(items) > 10:
        raise ValueError("at most 10 offsets")
    seconds = {int(parse_offset(item).total_seconds()) for item in items}
    return sorted(seconds, reverse=True)


def describe_offset(seconds: int, lang: str = "en") -> str:
    """3600 -> "1 hour", 5400 -> "1 hour 30 minutes"; "1時間", "1시간", "1 ora" (CLDR units)."""
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            part = format_unit(count, f"duration-{unit}", length="long", locale=lang)
            # CLDR writes "1 時間"; Japanese prose writes the number against its unit.
            parts.append(part.replace(" ", "") if lang == "ja" else part)
    if not parts:
        return format_unit(0, "duration-second", length="long", locale=lang)
    return " ".join(parts[:2])
