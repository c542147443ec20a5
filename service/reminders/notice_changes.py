"""What a change notice tells: the segment's fields before the first change of a burst and now,
read from the history (service.models.Change)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.models import Change, Segment
from service.schedules.when import Timing

# The fields a follower is told about; the time is one field made of four columns.
_TIME_FIELDS = ("start_at", "end_at", "precision", "part_of_day")
_SHOWN = ("title", "location", "participants", "status")


@dataclass(frozen=True)
class Difference:
    field: str  # "time", or one of _SHOWN
    before: Any  # a Timing for "time"
    after: Any


def differences(session: Session, segment: Segment, since: datetime) -> list[Difference]:
    """The segment's shown fields that differ between before its changes since `since` (the
    notice's first change) and now; empty when the history has nothing to say."""
    rows = session.exec(
        select(Change)
        .where(
            col(Change.visit_id) == segment.visit_id,
            col(Change.segment_key) == segment.key,
            col(Change.at) >= since,
        )
        .order_by(col(Change.at), col(Change.id))
    ).all()
    earliest: dict[str, Any] = {}
    for row in rows:
        for name, value in (row.before or {}).items():
            earliest.setdefault(name, value)
    found = []
    now_timing = Timing.of(segment)
    if any(name in earliest for name in _TIME_FIELDS):
        before_timing = replace(
            now_timing,
            start=_instant(earliest.get("start_at"), now_timing.start),
            end=_instant(earliest.get("end_at"), now_timing.end),
            precision=earliest.get("precision", now_timing.precision),
            part_of_day=earliest.get("part_of_day", now_timing.part_of_day),
        )
        if before_timing != now_timing:
            found.append(Difference("time", before_timing, now_timing))
    for name in _SHOWN:
        if name in earliest and earliest[name] != _plain(getattr(segment, name)):
            found.append(Difference(name, earliest[name], getattr(segment, name)))
    return found


def _instant(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed
    return default


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
