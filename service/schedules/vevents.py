"""Rows mapped to what feeds/ takes: a segment and its visit become an EventData and a VEVENT."""

from __future__ import annotations

import hashlib
from typing import Any

from feeds import EventData, render_event
from feeds.calendar import PRODID
from service.models import Segment, Visit
from service.schedules.when import Timing, feed_note
from service.settings import Settings
from service.urls import visit_page


def segment_event(segment: Segment | Any, visit: Visit, settings: Settings) -> EventData:
    """`segment` is a row, or any object with a row's attributes (a bulk insert's values)."""
    return EventData(
        uid=segment.uid,
        title=segment.title,
        kind=segment.kind,
        start=segment.start_at,
        end=segment.end_at,
        timezone=segment.timezone,
        precision=segment.precision,
        part_of_day=segment.part_of_day,
        status=segment.status,
        sequence=segment.sequence,
        created=segment.created_at,
        last_modified=segment.changed_at,
        location=segment.location,
        participants=tuple(segment.participants),
        description=segment.description,
        categories=tuple(segment.tags),
        # A restricted segment is not on the public page: a link there would show nothing.
        url=""
        if segment.visibility == "restricted"
        else f"{visit_page(settings.base_url, visit.slug)}#{segment.key}",
        organizer_name=visit.source_name or visit.host_name or visit.title,
        organizer_email=settings.organizer_email,
        note=feed_note(Timing.of(segment), segment.location),
    )


def render_segment(segment: Segment | Any, visit: Visit, settings: Settings) -> str:
    return render_event(segment_event(segment, visit, settings)).decode("utf-8")


def render_key(settings: Settings) -> str:
    """What stored VEVENTs depend on besides their rows: when it changes, they are re-rendered."""
    basis = "\n".join([PRODID, settings.base_url, settings.organizer_email, "render-v2"])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]
