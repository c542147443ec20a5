"""Local wall-clock times in an IANA zone turned into aware instants, refusing gaps and folds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.input_rules import canonical_zone, canonical_zones


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ValueError with a reason a user understands."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise ValueError(f"{name!r} is not an IANA time zone")
    canonical_zone(name)  # not "localtime", "Factory", "posix/..." nor "right/...": one meaning
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, UnicodeError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Asia/Tokyo)") from None


def is_zone(name: str) -> bool:
    return name in canonical_zones()


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The instant at which `tz` shows `day` `clock`; a wall time that the zone skips (DST gap)
    or shows twice (DST fold) is rejected rather than guessed."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != naive:
            raise ValueError(f"{day} {clock:%H:%M} does not exist in {tz.key} (clocks go forward)")
        raise ValueError(
            f"{day} {clock:%H:%M} occurs twice in {tz.key} (clocks go back); give a time "
            "outside the repeated hour"
        )
    return first.astimezone(UTC)


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight as an instant (the first instant of `day`, even where midnight is skipped)."""
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    return midnight.astimezone(UTC)


def last_day(end: datetime, tz: ZoneInfo) -> date:
    """The last day, as `tz` counts days, of a span that ends at `end`: the end is exclusive,
    so a span ending at midnight ends on the day before."""
    return (end - timedelta(microseconds=1)).astimezone(tz).date()
