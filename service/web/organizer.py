"""The organizers' write API: visits and segments, with bearer tokens and If-Match."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from service.clock import utc_now
from service.errors import InputError, PreconditionFailed
from service.input_rules import Day, Item, Line, LocalTime, Name, Text
from service.schedules import editing
from service.schedules.spec import (
    TEXT,
    TITLE,
    Kind,
    PartOfDay,
    Person,
    SegmentSpec,
    Source,
    Translations,
    VisitSpec,
)
from service.services import Services
from service.web.auth import Organizer
from service.web.visit_json import visit_detail

router = APIRouter(prefix="/api", tags=["organizers"])
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, wrong or revoked organizer token"},
    404: {"description": "No such visit or segment"},
    409: {"description": "Exists already"},
    412: {"description": "If-Match names a sequence that is no longer current"},
}


class VisitCreate(VisitSpec):
    """A visit and its first segments, as a schedule file says them."""

    segments: list[SegmentSpec] = Field(default_factory=list, max_length=500)


class VisitChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Line | None = Field(default=None, min_length=1, max_length=TITLE)
    timezone: str | None = Field(default=None, max_length=64)
    first_day: Day | None = None
    last_day: Day | None = None
    status: Literal["announced", "confirmed", "postponed", "cancelled"] | None = None
    guest: Person | None = None
    host: Person | None = None
    place: Line | None = Field(default=None, max_length=TITLE)
    description: Text | None = Field(default=None, max_length=TEXT)
    source: Source | None = None
    tags: list[Item] | None = Field(default=None, max_length=50)
    # {"ja": {"title": ..., "place": ...}}: replaces the visit's translations as a whole.
    translations: Translations | None = None


class SegmentChange(BaseModel):
    """Any fields of a segment; `start` replaces a part of day and the reverse."""

    model_config = ConfigDict(extra="forbid")
    title: Line | None = Field(default=None, min_length=1, max_length=TITLE)
    kind: Kind | None = None
    date: Day | None = None
    end_date: Day | None = None
    start: LocalTime | None = None
    end: LocalTime | None = None
    part_of_day: PartOfDay | None = None
    location: Line | None = Field(default=None, max_length=TITLE)
    participants: list[Name] | None = Field(default=None, max_length=100)
    status: Literal["tentative", "confirmed", "cancelled"] | None = None
    visibility: Literal["public", "restricted"] | None = None
    description: Text | None = Field(default=None, max_length=TEXT)
    tags: list[Item] | None = Field(default=None, max_length=50)
    # {"ja": {"title": ..., "location": ...}}: replaces the segment's translations as a whole.
    translations: Translations | None = None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _expected(if_match: str | None) -> int | None:
    """If-Match: "seq-3" (the segment's ETag) or a bare 3; None when absent or `*`. A weak tag
    (W/"seq-3") never matches: If-Match compares strongly (RFC 9110 13.1.1), so it is a 412."""
    if if_match is None or if_match.strip() == "*":
        return None
    if if_match.strip().startswith("W/"):
        raise PreconditionFailed("If-Match: a weak ETag never matches; send the ETag as given")
    found = re.fullmatch(r'\s*"?(?:seq-)?(\d{1,9})"?\s*', if_match, re.ASCII)
    if not found:
        raise InputError("If-Match", 'give the segment\'s ETag, e.g. "seq-3"')
    return int(found.group(1))


def _segment_out(request: Request, response: Response, slug: str, key: str) -> dict[str, object]:
    services = _services(request)
    segment = editing.segment_row(services.catalog, slug, key)
    response.headers["ETag"] = f'"seq-{segment.sequence}"'
    return {
        "id": segment.key,
        "uid": segment.uid,
        "kind": segment.kind,
        "title": segment.title,
        "start": segment.start_at,
        "end": segment.end_at,
        "timezone": segment.timezone,
        "precision": segment.precision,
        "part_of_day": segment.part_of_day,
        "location": segment.location,
        "participants": segment.participants,
        "status": segment.status,
        "visibility": segment.visibility,
        "description": segment.description,
        "tags": segment.tags,
        "translations": segment.translations,
        "sequence": segment.sequence,
        "last_modified": segment.changed_at,
    }


IfMatch = Annotated[
    str | None,
    Header(description='Optional: the segment\'s ETag ("seq-N"); 412 if it is no longer current'),
]


@router.post("/visits", status_code=201, responses=WRITE_RESPONSES)
def create_visit(request: Request, body: VisitCreate, organizer: Organizer) -> dict[str, object]:
    """Create a visit with its segments."""
    data = body.model_dump(exclude={"segments"})
    segments = [s.model_dump(exclude_none=True) for s in body.segments]
    editing.create_visit(_services(request).catalog, data, segments, organizer, utc_now())
    return visit_detail(_services(request), body.slug)


@router.patch("/visits/{slug}", responses=WRITE_RESPONSES)
def change_visit(
    request: Request, slug: str, body: VisitChange, organizer: Organizer
) -> dict[str, object]:
    change = body.model_dump(exclude_unset=True)
    editing.change_visit(_services(request).catalog, slug, change, organizer, utc_now())
    return visit_detail(_services(request), slug)


@router.delete("/visits/{slug}", status_code=204, responses=WRITE_RESPONSES)
def delete_visit(request: Request, slug: str, organizer: Organizer, hard: bool = False) -> Response:
    """Cancel the visit and all its segments (they stay in feeds as cancelled);
    `?hard=true` removes it for good, with its history and reminders."""
    services = _services(request)
    if hard:
        services.catalog.delete_visit(slug)
    else:
        editing.cancel_visit(services.catalog, slug, organizer, utc_now())
    return Response(status_code=204)


@router.get("/visits/{slug}/segments/{segment}", responses=WRITE_RESPONSES)
def read_segment(
    request: Request, response: Response, slug: str, segment: str, organizer: Organizer
) -> dict[str, object]:
    """A segment with its ETag, for If-Match."""
    return _segment_out(request, response, slug, segment)


@router.post("/visits/{slug}/segments", status_code=201, responses=WRITE_RESPONSES)
def add_segment(
    request: Request, response: Response, slug: str, body: SegmentSpec, organizer: Organizer
) -> dict[str, object]:
    editing.add_segment(
        _services(request).catalog, slug, body.model_dump(exclude_none=True), organizer, utc_now()
    )
    return _segment_out(request, response, slug, body.id)


@router.patch("/visits/{slug}/segments/{segment}", responses=WRITE_RESPONSES)
def change_segment(
    request: Request,
    response: Response,
    slug: str,
    segment: str,
    body: SegmentChange,
    organizer: Organizer,
    if_match: IfMatch = None,
) -> dict[str, object]:
    """Refine or change a segment: same UID, SEQUENCE+1, reminders re-planned, followers told.
    The fields given are merged into the segment as it is when the write runs, so parallel
    changes of other fields are kept; with If-Match, a segment that has moved on is a 412."""
    change = body.model_dump(exclude_unset=True)
    expected = _expected(if_match)
    editing.change_segment(
        _services(request).catalog, slug, segment, change, organizer, utc_now(), expected
    )
    return _segment_out(request, response, slug, segment)


@router.delete("/visits/{slug}/segments/{segment}", status_code=204, responses=WRITE_RESPONSES)
def delete_segment(
    request: Request,
    slug: str,
    segment: str,
    organizer: Organizer,
    hard: bool = False,
    if_match: IfMatch = None,
) -> Response:
    """Cancel the segment (it stays in feeds as cancelled, followers are told);
    `?hard=true` removes it for good."""
    services = _services(request)
    expected = _expected(if_match)
    if hard:
        services.catalog.delete_segment(slug, segment, utc_now(), organizer, expected)
    else:
        editing.cancel_segment(services.catalog, slug, segment, organizer, utc_now(), expected)
    return Response(status_code=204)
