"""Visits built in code, as the catalog takes them: segments at exact instants a few seconds
ahead, or at a part of a day, in a zone where they stay on one day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from service.clock import utc_now
from service.schedules.spec import ScheduleInput, SegmentSpec, VisitSpec, resolve_segment
from service.services import Services


def whole_second(seconds_ahead: float) -> datetime:
    """An instant on a whole second, at least `seconds_ahead` from now (segment times in
    schedules have whole seconds)."""
    return (utc_now() + timedelta(seconds=seconds_ahead + 1)).replace(microsecond=0)


def daytime_zone(*instants: datetime) -> str:
    """A zone in which all these instants fall on one day between 01:00 and 22:00 local time,
    so that a part-of-day window or a one-hour segment around them never crosses midnight.
    Never Europe/Rome or America/St_Johns: tests use those as the follower's zone, and a visit
    in the follower's own zone is written differently (one time, not two)."""
    for name in ("Asia/Tokyo", "America/New_York", "Asia/Kolkata"):
        local = [instant.astimezone(ZoneInfo(name)) for instant in instants]
        if len({t.date() for t in local}) == 1 and all(1 <= t.hour < 22 for t in local):
            return name
    raise AssertionError(f"no zone fits {instants}")


@dataclass(frozen=True)
class Seg:
    """A segment for `schedule`: an exact start instant, or a part of day on a date."""

    key: str
    title: str
    start: datetime | None = None
    part_of_day: str | None = None
    day: date | None = None
    kind: str = "meeting"
    participants: tuple[str, ...] = ("A Guest", "A Host")
    location: str = "Nara"


def schedule(services: Services, slug: str, segments: Sequence[Seg], tz: str) -> ScheduleInput:
    """A whole visit, resolved with the services' part-of-day windows, as the catalog takes it."""
    zone_info = ZoneInfo(tz)
    days = [s.start.astimezone(zone_info).date() if s.start else s.day for s in segments]
    assert all(days)
    visit = VisitSpec.model_validate(
        {
            "slug": slug,
            "title": f"Test visit {slug}",
            "timezone": tz,
            "first_day": min(days),  # type: ignore[type-var]
            "last_day": max(days),  # type: ignore[type-var]
            "guest": {"name": "A Guest", "office": "President"},
            "host": {"name": "A Host", "office": "Prime Minister"},
        }
    )
    resolved = []
    for segment, day in zip(segments, days, strict=True):
        data: dict[str, Any] = {
            "id": segment.key,
            "title": segment.title,
            "kind": segment.kind,
            "date": day,
            "location": segment.location,
            "participants": list(segment.participants),
        }
        if segment.start is not None:
            data["start"] = segment.start.astimezone(zone_info).time().isoformat()
        if segment.part_of_day is not None:
            data["part_of_day"] = segment.part_of_day
        spec = SegmentSpec.model_validate(data)
        resolved.append(resolve_segment(spec, visit, services.settings.part_of_day))
    return ScheduleInput(visit=visit, segments=tuple(resolved), origin="test")


def apply(services: Services, slug: str, segments: Sequence[Seg], tz: str) -> None:
    services.catalog.apply([schedule(services, slug, segments, tz)], utc_now())
