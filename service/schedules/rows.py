"""Stored rows turned back into the specs they came from, so an edit goes through the same
validation and rules as a schedule file."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from service.errors import InputError
from service.localtime import last_day, zone
from service.models import Segment
from service.schedules.spec import field_and_reason


def default_status(precision: str) -> str:
    return "confirmed" if precision == "exact" else "tentative"


def segment_spec_data(segment: Segment) -> dict[str, Any]:
    """The segment as a [[segment]] table would say it (local dates and times)."""
    tz = zone(segment.timezone)
    start = segment.start_at.astimezone(tz)
    data: dict[str, Any] = {
        "id": segment.key,
        "title": segment.title,
        "kind": segment.kind,
        "date": start.date(),
        "location": segment.location,
        "participants": list(segment.participants),
        "visibility": segment.visibility,
        "description": segment.description,
        "tags": list(segment.tags),
    }
    if segment.translations:
        data["translations"] = {lang: dict(texts) for lang, texts in segment.translations.items()}
    if segment.status != default_status(segment.precision):
        data["status"] = segment.status
    if segment.precision == "exact":
        data["start"] = start.time().isoformat(timespec="minutes")
        data["end"] = segment.end_at.astimezone(tz).time().isoformat(timespec="minutes")
    elif segment.precision == "part_of_day":
        data["part_of_day"] = segment.part_of_day
    else:
        last = last_day(segment.end_at, tz)
        if last != start.date():
            data["end_date"] = last
    return data


def merge_segment(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial change; giving a time drops the part of day and the reverse, and a
    status left at its default follows the new precision."""
    merged = {**current, **change}
    if "start" in change and change["start"] is not None:
        merged.pop("part_of_day", None)
        merged.pop("end_date", None)
        if "end" not in change:
            merged.pop("end", None)
    if "part_of_day" in change and change["part_of_day"] is not None:
        merged.pop("start", None)
        merged.pop("end", None)
        merged.pop("end_date", None)
    return {name: value for name, value in merged.items() if value is not None}


def input_error(error: ValidationError, prefix: str = "") -> InputError:
    """The first pydantic error as an InputError naming the field."""
    location, reason = field_and_reason(error.errors()[0])
    parts = [prefix] if prefix else []
    field = ".".join(parts + [str(part) for part in location]) or "body"
    return InputError(field, reason)
