"""The ASGI application: FastAPI routes behind the lean feed path."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from service.api import feeds, subscriptions, visits
from service.api.feeds import FeedFastPath
from service.errors import InputError, Unauthorized, VisitcalError
from service.services import Services


def create_app(services: Services) -> ASGIApp:
    api = FastAPI(
        title="visitcal",
        version="0.1.0",
        description="Calendar feeds and reminders for official visit schedules.",
    )
    api.state.services = services
    api.state.feeds = services.feeds

    @api.exception_handler(VisitcalError)
    async def _our_error(_request: Request, error: VisitcalError) -> JSONResponse:
        if isinstance(error, InputError):  # the same shape as FastAPI's own 422s
            detail = [{"loc": ["body", error.field], "msg": error.reason, "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=422)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        return JSONResponse({"detail": str(error)}, status_code=error.http_status, headers=headers)

    @api.api_route("/healthz", methods=["GET", "HEAD"], tags=["health"])
    def healthz() -> dict[str, object]:
        """Alive, and the database answers."""
        return {"status": "ok", "catalog_version": services.db.catalog_version()}

    api.include_router(feeds.router)
    api.include_router(visits.router)
    api.include_router(subscriptions.router)
    fast = FeedFastPath(api, services.feeds)
    # uvicorn and tests reach FastAPI's attributes (state, openapi) through the wrapper.
    fast.state = api.state  # type: ignore[attr-defined]
    fast.fastapi = api  # type: ignore[attr-defined]
    return fast
