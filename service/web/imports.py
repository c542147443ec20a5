"""Importing an official calendar into a visit over HTTP: the .ics in the body, or a URL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from service.clock import utc_now
from service.errors import InputError
from service.schedules.calendar_import import (
    CalendarInputError,
    ImportResult,
    SegmentDiff,
    import_calendar,
)
from service.schedules.remote_calendar import fetch_calendar, public_source
from service.schedules.spec import SLUG
from service.services import Services
from service.web.auth import Organizer

router = APIRouter(tags=["import"])

CALENDAR_TYPES = ("text/calendar", "text/plain", "application/octet-stream")
JSON_LIMIT = 16_384


class ImportFromUrl(BaseModel):
    """Import the calendar at this http(s) URL."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)


class FieldChangeOut(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class SegmentDiffOut(BaseModel):
    key: str
    uid: str
    title: str
    change: str  # added, changed, moved, refined, restored, cancelled, unchanged
    start: datetime
    fields: list[FieldChangeOut]


class ImportOut(BaseModel):
    visit: str
    dry_run: bool  # true: nothing was written
    added: list[SegmentDiffOut]
    changed: list[SegmentDiffOut]
    cancelled: list[SegmentDiffOut]
    unchanged: list[SegmentDiffOut]
    warnings: list[str]  # events skipped (outside the visit's days)


def _out(diff: SegmentDiff) -> SegmentDiffOut:
    return SegmentDiffOut(
        key=diff.key,
        uid=diff.uid,
        title=diff.title,
        change=diff.change,
        start=diff.start,
        fields=[FieldChangeOut(field=f.field, before=f.before, after=f.after) for f in diff.fields],
    )


def _result_out(result: ImportResult) -> ImportOut:
    return ImportOut(
        visit=result.visit,
        dry_run=result.dry_run,
        added=[_out(d) for d in result.added],
        changed=[_out(d) for d in result.changed],
        cancelled=[_out(d) for d in result.cancelled],
        unchanged=[_out(d) for d in result.unchanged],
        warnings=list(result.warnings),
    )


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` rather than read whole first."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InputError("body", f"is {int(declared):,} bytes, over the limit of {limit:,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InputError("body", f"is over the limit of {limit:,} bytes")
    return bytes(body)


_REQUEST_BODY = {
    "required": True,
    "content": {
        "text/calendar": {"schema": {"type": "string", "description": "The .ics file"}},
        "application/json": {"schema": ImportFromUrl.model_json_schema()},
    },
}


@router.post(
    "/visits/{slug}/import",
    response_model=ImportOut,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        401: {"description": "No valid organizer token"},
        404: {"description": "No such visit"},
        412: {"description": "The visit changed while it was being imported"},
        415: {"description": "Neither text/calendar nor application/json"},
        422: {"description": "The calendar or URL cannot be imported; nothing was written"},
    },
)
async def import_into_visit(
    request: Request, slug: str, organizer: Organizer, dry_run: bool = False
) -> ImportOut:
    """Import an official calendar into the visit: send the `.ics` as `text/calendar`, or
    `{"url": ...}` as JSON to have it fetched. Events become segments (UIDs kept, SEQUENCE
    respected), public segments missing from the calendar are cancelled, events outside the
    visit's days are skipped with a warning. `dry_run=true` answers the same diff and writes
    nothing."""
    services: Services = request.app.state.services
    if not SLUG.fullmatch(slug):
        raise HTTPException(404, f"no visit {slug!r}")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = services.settings.import_max_bytes
    if content_type == "application/json":
        try:
            asked = ImportFromUrl.model_validate_json(await _body(request, JSON_LIMIT))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "body"
            raise InputError(field, str(first["msg"])) from None
        source = asked.url
        data = await run_in_threadpool(fetch_calendar, asked.url, services.settings)
    elif content_type in CALENDAR_TYPES:
        source = "body"
        data = await _body(request, limit)
    else:
        raise HTTPException(
            415, 'send the .ics as text/calendar, or {"url": "..."} as application/json'
        )
    try:
        result = await run_in_threadpool(
            import_calendar,
            services.catalog,
            slug,
            data,
            source=source,
            actor=f"{organizer} (import:{public_source(source)})",
            now=utc_now(),
            dry_run=dry_run,
        )
    except CalendarInputError as error:
        # A 422 body names the field and the reason; the line goes with the reason.
        where = f" (line {error.line})" if error.line else ""
        raise InputError(error.field, error.reason + where) from None
    return _result_out(result)
