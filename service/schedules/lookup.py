"""A visit by its slug, or NotFound: the one lookup every reader and writer of a visit uses."""

from __future__ import annotations

from sqlmodel import Session, select

from service.errors import NotFound
from service.models import Segment, Visit
from service.schedules.spec import SLUG


def visit_by_slug(session: Session, slug: str) -> Visit:
    # Not a slug: no such visit, and no database trip (PostgreSQL refuses NUL in text).
    visit = None
    if SLUG.fullmatch(slug):
        visit = session.exec(select(Visit).where(Visit.slug == slug)).first()
    if visit is None:
        raise NotFound(f"no visit {slug!r}")
    return visit


def segment_by_key(session: Session, visit: Visit, key: str) -> Segment:
    segment = None
    if SLUG.fullmatch(key):
        segment = session.exec(
            select(Segment).where(Segment.visit_id == visit.id, Segment.key == key)
        ).first()
    if segment is None:
        raise NotFound(f"no segment {key!r} in visit {visit.slug!r}")
    return segment
