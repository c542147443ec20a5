"""Visits as JSON: what exists, its segments, and where its feeds are."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from sqlmodel import select

from service.models import Segment, Visit
from service.schedules.spec import SLUG
from service.services import Services, visit_links

router = APIRouter(tags=["visits"])


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


class VisitDetail(VisitOut):
    description: str
    source: str
    segments: list[SegmentOut]


def _visit_out(services: Services, visit: Visit) -> dict[str, object]:
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
    }


@router.get("/api/visits", response_model=list[VisitOut])
def list_visits(request: Request) -> list[dict[str, object]]:
    """Every visit, latest first."""
    services: Services = request.app.state.services
    with services.db.session() as session:
        visits = session.exec(select(Visit).order_by(Visit.first_day.desc())).all()  # type: ignore[attr-defined]
    return [_visit_out(services, v) for v in visits]


@router.get(
    "/api/visits/{slug}",
    response_model=VisitDetail,
    responses={404: {"description": "No such visit"}},
)
def get_visit(request: Request, slug: str) -> dict[str, object]:
    """One visit with its public segments in order."""
    services: Services = request.app.state.services
    if not SLUG.fullmatch(slug):  # not a slug: no such visit (and PostgreSQL refuses NUL)
        raise HTTPException(404, f"no visit {slug!r}")
    with services.db.session() as session:
        visit = session.exec(select(Visit).where(Visit.slug == slug)).first()
        if visit is None:
            raise HTTPException(404, f"no visit {slug!r}")
        segments = session.exec(
            select(Segment)
            .where(Segment.visit_id == visit.id, Segment.visibility == "public")
            .order_by(Segment.start_at, Segment.uid)  # type: ignore[arg-type]
        ).all()
    base = services.settings.base_url
    return {
        **_visit_out(services, visit),
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
                "download_url": f"{base}/visits/{visit.slug}/segments/{s.key}.ics",
            }
            for s in segments
        ],
    }
