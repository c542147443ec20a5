"""Visits as the JSON API shows them (with where their feeds are), for the API's readers and
the organizer's writes alike."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import select

from service.models import Segment, Visit
from service.schedules.lookup import visit_by_slug
from service.services import Services
from service.urls import segment_download, visit_links


class SegmentOut(BaseModel):
    id: str
    uid: str
    kind: str
    title: str
    start: datetime
    end: datetime
    timezone: str
    precision: str
    part_of_day: str | None
    location: str
    participants: list[str]
    status: str
    sequence: int
    download_url: str
    translations: dict[str, dict[str, str]]  # {"ja": {"title": ..., "location": ...}}


class VisitOut(BaseModel):
    slug: str
    title: str
    guest: str
    host: str
    place: str
    timezone: str
    first_day: date
    last_day: date
    status: str
    feed_url: str
    webcal_url: str
    download_url: str
    translations: dict[str, dict[str, str]]  # {"ja": {"title": ..., "place": ...}}


class VisitDetail(VisitOut):
    description: str
    source: str
    segments: list[SegmentOut]


def visit_out(services: Services, visit: Visit) -> dict[str, object]:
    links = visit_links(services.settings, visit.slug)
    return {
        "slug": visit.slug,
        "title": visit.title,
        "guest": visit.guest_name,
        "host": visit.host_name,
        "place": visit.place,
        "timezone": visit.timezone,
        "first_day": visit.first_day,
        "last_day": visit.last_day,
        "status": visit.status,
        "feed_url": links.feed,
        "webcal_url": links.webcal,
        "download_url": links.download,
        "translations": visit.translations,
    }


def visit_detail(services: Services, slug: str) -> dict[str, object]:
    """One visit with its public segments in order, or NotFound."""
    with services.db.session() as session:
        visit = visit_by_slug(session, slug)
        segments = session.exec(
            select(Segment)
            .where(Segment.visit_id == visit.id, Segment.visibility == "public")
            .order_by(Segment.start_at, Segment.uid)  # type: ignore[arg-type]
        ).all()
    return {
        **visit_out(services, visit),
        "description": visit.description.strip(),
        "source": visit.source_name,
        "segments": [
            {
                "id": s.key,
                "uid": s.uid,
                "kind": s.kind,
                "title": s.title,
                "start": s.start_at,
                "end": s.end_at,
                "timezone": s.timezone,
                "precision": s.precision,
                "part_of_day": s.part_of_day,
                "location": s.location,
                "participants": s.participants,
                "status": s.status,
                "sequence": s.sequence,
                "download_url": segment_download(services.settings.base_url, visit.slug, s.key),
                "translations": s.translations,
            }
            for s in segments
        ],
    }
