"""Rows mapped to what feeds/ takes: a segment and its visit become an EventData and a VEVENT."""

from __future__ import annotations

import hashlib
from typing import Any

from feeds import EventData, render_event
from feeds.calendar import PRODID
from service.i18n import DEFAULT_LANGUAGE, gettext_for
from service.models import Segment, Visit
from service.schedules.content_language import is_translated, localized
from service.schedules.when import Timing, feed_note
from service.settings import Settings
from service.urls import visit_page


def segment_event(
    segment: Segment | Any, visit: Visit | Any, settings: Settings, lang: str = DEFAULT_LANGUAGE
) -> EventData:
    """`segment` is a row, or any object with a row's attributes (a bulk insert's values);
    `lang` the feed's language: its labels, and the schedule's texts where it translates them."""
    _ = gettext_for(lang)
    location = localized(segment, "location", lang)
    languages: tuple[tuple[str, str], ...] = ()
    if lang != DEFAULT_LANGUAGE:
        # SUMMARY and DESCRIPTION carry our labels in `lang` around the schedule's text: they
        # are said to be in `lang` when the schedule's text there is too (or there is none).
        said = {
            "SUMMARY": is_translated(segment, "title", lang),
            "DESCRIPTION": is_translated(segment, "description", lang) or not segment.description,
            "LOCATION": is_translated(segment, "location", lang),
        }
        languages = tuple((name, lang) for name, known in said.items() if known)
    return EventData(
        uid=segment.uid,
        title=localized(segment, "title", lang),
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
        location=location,
        participants=tuple(segment.participants),
        description=localized(segment, "description", lang),
        categories=tuple(segment.tags),
        # A restricted segment is not on the public page: a link there would show nothing.
        url=""
        if segment.visibility == "restricted"
        else f"{visit_page(settings.base_url, visit.slug)}#{segment.key}",
        organizer_name=visit.source_name or visit.host_name or visit.title,
        organizer_email=settings.organizer_email,
        note=feed_note(Timing.of(segment), location, lang),
        participants_label=_("Participants"),
        languages=languages,
    )


def render_segment(
    segment: Segment | Any, visit: Visit | Any, settings: Settings, lang: str = DEFAULT_LANGUAGE
) -> str:
    return render_event(segment_event(segment, visit, settings, lang)).decode("utf-8")


def render_key(settings: Settings) -> str:
    """What stored VEVENTs depend on besides their rows: when it changes, they are re-rendered."""
    basis = "\n".join([PRODID, settings.base_url, settings.organizer_email, "render-v2"])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]
