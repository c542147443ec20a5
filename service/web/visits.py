"""Visits as JSON: what exists, its segments, and where its feeds are."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import select

from service.models import Visit
from service.services import Services
from service.web.visit_json import VisitDetail, VisitOut, visit_detail, visit_out

router = APIRouter(tags=["visits"])


@router.get("/api/visits", response_model=list[VisitOut])
def list_visits(request: Request) -> list[dict[str, object]]:
    """Every visit, latest first."""
    services: Services = request.app.state.services
    with services.db.session() as session:
        visits = session.exec(select(Visit).order_by(Visit.first_day.desc())).all()  # type: ignore[attr-defined]
    return [visit_out(services, v) for v in visits]


@router.get(
    "/api/visits/{slug}",
    response_model=VisitDetail,
    responses={404: {"description": "No such visit"}},
)
def get_visit(request: Request, slug: str) -> dict[str, object]:
    """One visit with its public segments in order."""
    return visit_detail(request.app.state.services, slug)
