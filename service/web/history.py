"""What changed in a visit: a list, and an Atom feed to follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from service.schedules.history import atom_feed, public_changes
from service.services import Services

router = APIRouter(tags=["history"])


class ChangeOut(BaseModel):
    id: str  # stable; says nothing of how many changes there were
    segment: str
    kind: str
    summary: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("/visits/{slug}/changes", response_model=list[ChangeOut])
def list_changes(request: Request, slug: str) -> list[dict[str, object]]:
    """Every change to the visit's public schedule, newest first: who, when, before/after."""
    services: Services = request.app.state.services
    _visit, changes = public_changes(services.db, slug, services.settings.secret_key)
    return [{**change.__dict__, "summary": change.summary()} for change in changes]


@router.get(
    "/visits/{slug}/changes.atom",
    responses={200: {"content": {"application/atom+xml": {}}}},
    response_class=Response,
)
def changes_feed(request: Request, slug: str) -> Response:
    """The same changes as an Atom feed."""
    services: Services = request.app.state.services
    visit, changes = public_changes(services.db, slug, services.settings.secret_key)
    return Response(
        atom_feed(services.settings.base_url, visit, changes), media_type="application/atom+xml"
    )
