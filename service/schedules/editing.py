"""Organizers' edits of visits and segments, through the same validation and catalog rules as
schedule files: stable UIDs, SEQUENCE+1, cancelled rather than deleted, history, reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from service.errors import Conflict, InputError
from service.models import Segment, Visit
from service.schedules.catalog import Catalog, check_sequence
from service.schedules.fields import visit_spec_data
from service.schedules.lookup import segment_by_key, visit_by_slug
from service.schedules.rows import input_error, merge_segment, segment_spec_data
from service.schedules.spec import (
    FieldError,
    ScheduleInput,
    SegmentInput,
    SegmentSpec,
    VisitSpec,
    resolve_segment,
)


def segment_row(catalog: Catalog, slug: str, key: str) -> Segment:
    with catalog.db.session() as session:
        return segment_by_key(session, visit_by_slug(session, slug), key)


def _visit_spec(data: dict[str, Any]) -> VisitSpec:
    try:
        return VisitSpec.model_validate(data)
    except ValidationError as error:
        raise input_error(error) from None


def _segment_input(
    catalog: Catalog, data: dict[str, Any], visit: VisitSpec, prefix: str = ""
) -> SegmentInput:
    try:
        spec = SegmentSpec.model_validate(data)
        return resolve_segment(spec, visit, catalog.settings.part_of_day)
    except ValidationError as error:
        raise input_error(error, prefix) from None
    except FieldError as error:
        field = f"{prefix}.{error.field_name}" if prefix else error.field_name
        raise InputError(field, error.reason) from None


# Each edit below is made inside the catalog's write transaction, from the rows as they are under
# its lock (Catalog.apply_edit): a PATCH merges into what the last writer committed rather than
# into a copy read before, and "exists already" or If-Match holds until the commit. Validation
# that needs no row runs before, outside the lock.


def create_visit(
    catalog: Catalog,
    visit_data: dict[str, Any],
    segments: list[dict[str, Any]],
    actor: str,
    now: datetime,
) -> None:
    """A new visit with its first segments; Conflict when the slug is taken."""
    spec = _visit_spec(visit_data)
    keys: set[str] = set()
    inputs = []
    for position, data in enumerate(segments):
        segment = _segment_input(catalog, data, spec, f"segments[{position}]")
        if segment.key in keys:
            raise InputError(f"segments[{position}].id", f"duplicate segment id {segment.key!r}")
        keys.add(segment.key)
        inputs.append(segment)

    def edit(session: Session) -> list[ScheduleInput]:
        if session.exec(select(Visit).where(Visit.slug == spec.slug)).first() is not None:
            raise Conflict(f"visit {spec.slug!r} exists already")
        return [ScheduleInput(spec, tuple(inputs), "api")]

    catalog.apply_edit(edit, now, actor=actor)


def change_visit(
    catalog: Catalog, slug: str, change: dict[str, Any], actor: str, now: datetime
) -> None:
    """Change some of a visit's fields, keeping the others as they are."""
    if change.get("slug", slug) != slug:
        raise InputError("slug", "a visit's slug cannot change (its UIDs derive from it)")

    def edit(session: Session) -> list[ScheduleInput]:
        visit = visit_by_slug(session, slug)
        data = visit_spec_data(visit)
        for name, value in change.items():
            if isinstance(value, dict) and isinstance(data.get(name), dict):
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        spec = _visit_spec(data)
        segments = list(session.exec(select(Segment).where(Segment.visit_id == visit.id)))
        if spec.timezone != visit.timezone and segments:
            raise InputError("timezone", "cannot change once the visit has segments")
        # Segments must stay within the visit's days.
        for segment in segments:
            if segment.status != "cancelled":
                where = f"segment {segment.key}"
                _segment_input(catalog, segment_spec_data(segment), spec, where)
        return [ScheduleInput(spec, (), "api", complete=False)]

    catalog.apply_edit(edit, now, actor=actor)


def cancel_visit(catalog: Catalog, slug: str, actor: str, now: datetime) -> None:
    """The visit is called off: it stays, marked cancelled, with every segment cancelled."""

    def edit(session: Session) -> list[ScheduleInput]:
        visit = visit_by_slug(session, slug)
        spec = _visit_spec({**visit_spec_data(visit), "status": "cancelled"})
        return [ScheduleInput(spec, (), "api", complete=True)]

    catalog.apply_edit(edit, now, actor=actor)


def add_segment(
    catalog: Catalog, slug: str, data: dict[str, Any], actor: str, now: datetime
) -> None:
    """A new segment; Conflict when the visit has one with this id."""

    def edit(session: Session) -> list[ScheduleInput]:
        visit = visit_by_slug(session, slug)
        spec = _visit_spec(visit_spec_data(visit))
        segment = _segment_input(catalog, data, spec)
        taken = session.exec(
            select(Segment).where(Segment.visit_id == visit.id, Segment.key == segment.key)
        ).first()
        if taken is not None:
            raise Conflict(f"segment {segment.key!r} exists already in visit {slug!r}")
        return [ScheduleInput(spec, (segment,), "api", complete=False)]

    catalog.apply_edit(edit, now, actor=actor)


def change_segment(
    catalog: Catalog,
    slug: str,
    key: str,
    change: dict[str, Any],
    actor: str,
    now: datetime,
    expected: int | None = None,
) -> None:
    """Apply a partial change ("afternoon" -> start "15:00") to the segment as it is now, so
    that parallel changes of different fields all stay; If-Match gives `expected`, and a
    segment no longer at that SEQUENCE is left alone (PreconditionFailed)."""
    if "id" in change and change["id"] != key:
        raise InputError("id", "a segment's id cannot change (its UID derives from it)")

    def edit(session: Session) -> list[ScheduleInput]:
        visit = visit_by_slug(session, slug)
        current = segment_by_key(session, visit, key)
        if expected is not None:
            check_sequence(current, expected)
        spec = _visit_spec(visit_spec_data(visit))
        data = merge_segment(segment_spec_data(current), change)
        return [ScheduleInput(spec, (_segment_input(catalog, data, spec),), "api", complete=False)]

    catalog.apply_edit(edit, now, actor=actor)


def cancel_segment(
    catalog: Catalog, slug: str, key: str, actor: str, now: datetime, expected: int | None = None
) -> None:
    change_segment(catalog, slug, key, {"status": "cancelled"}, actor, now, expected)
