"""The ASGI application: FastAPI routes behind the lean feed path."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp

from service.errors import Busy, InputError, Unauthorized, VisitcalError
from service.i18n import gettext_for
from service.schedules.spec import field_and_reason
from service.services import Services
from service.web import (
    docs,
    feeds,
    history,
    imports,
    metrics,
    organizer,
    pages,
    subscriptions,
    visits,
)
from service.web.body_limit import BodyLimit
from service.web.docs import site_files, swagger_files
from service.web.feeds import FeedFastPath
from service.web.html import render
from service.web.language import page_language
from service.web.organizer_gate import OrganizerGate
from service.web.rate_limit import RateLimit
from service.web.security_headers import SecurityHeaders
from service.web.write_routes import WriteRoutes


def _name_field(error: Any) -> dict[str, Any]:
    """FastAPI's own 422 entry, with the field named in `loc` as our other errors do."""
    location, reason = field_and_reason(error)
    return jsonable_encoder({"type": error["type"], "loc": list(location), "msg": reason})


def _busy(request: Request, error: Busy) -> Response:
    """503 with Retry-After: a page for a browser, JSON for the API."""
    headers = {"Retry-After": str(error.retry_after)}
    if "text/html" in request.headers.get("accept", ""):
        title = gettext_for(page_language(request))("Busy, try again")
        page = render(request, "message.html", 503, title=title, message=str(error))
        page.headers.update(headers)
        return page
    return JSONResponse({"detail": str(error)}, status_code=503, headers=headers)


BUSY: dict[int | str, dict[str, Any]] = {
    503: {"description": "The database stayed busy with other writes: retry after Retry-After"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such thing"}}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong token (Authorization: Bearer)"}
}


def app_from_settings() -> ASGIApp:
    """The app of one of `visitcal serve --workers N`'s processes (uvicorn calls this in each):
    its own services and logging, from the settings."""
    from service.logs import configure_logging
    from service.settings import get_settings

    settings = get_settings()
    configure_logging(settings)
    return create_app(Services.build(settings))


def _guarded(api: FastAPI, services: Services) -> ASGIApp:
    """The checks every request passes before FastAPI (feed GETs never reach them): security
    headers on every answer, rate limits on anonymous writes, the organizer token before a
    write body is read, the body limit."""
    settings = services.settings
    routes = WriteRoutes(api)
    import_limit = max(settings.max_body_bytes, settings.import_max_bytes + 65_536)

    def body_limit(path: str) -> int:
        return import_limit if path.endswith("/import") else settings.max_body_bytes

    app: ASGIApp = BodyLimit(api, body_limit)
    app = OrganizerGate(app, routes, services.db)
    app = RateLimit(
        app,
        routes.is_anonymous_write,
        settings.anonymous_write_burst,
        settings.anonymous_writes_per_minute,
        settings.trust_proxy_headers,
    )
    return SecurityHeaders(app)


def create_app(services: Services) -> ASGIApp:
    api = FastAPI(
        title="visitcal",
        version="0.1.0",
        description="Calendar feeds and reminders for official visit schedules.",
        responses=BUSY,
        # Swagger UI from the app's own files (service/web/docs.py); no ReDoc: it loads its
        # script from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    api.state.services = services
    api.state.feeds = services.feeds

    @api.exception_handler(VisitcalError)
    async def _our_error(request: Request, error: VisitcalError) -> Response:
        if isinstance(error, Busy):
            return _busy(request, error)
        if isinstance(error, InputError):  # the same shape as FastAPI's own 422s
            detail = [{"loc": ["body", error.field], "msg": error.reason, "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=422)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        return JSONResponse({"detail": str(error)}, status_code=error.http_status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_name_field(e) for e in error.errors()]}, status_code=422)

    # GET and HEAD as two routes so that each has its own OpenAPI operationId.
    @api.get("/healthz", tags=["health"])
    @api.head("/healthz", tags=["health"])
    def healthz() -> dict[str, object]:
        """Alive, and the database answers."""
        # Read, not shown: the catalog's version moves with restricted segments' changes too,
        # and public readers would learn that something they cannot see changed.
        services.db.catalog_version()
        return {"status": "ok"}

    api.include_router(feeds.router)
    api.include_router(metrics.router)
    api.include_router(visits.router, responses=NOT_FOUND)
    api.include_router(subscriptions.router, responses={**NOT_FOUND, **UNAUTHORIZED})
    api.include_router(pages.router)  # last: /visits/{slug} is a page, /visits/{slug}.ics a feed
    api.include_router(organizer.router)
    api.include_router(history.router, responses=NOT_FOUND)
    api.include_router(imports.router)
    api.include_router(docs.router)
    # Mounted in this order: /static/swagger before the site's own /static.
    api.mount("/static/swagger", swagger_files(), name="swagger")
    api.mount("/static", site_files(), name="static")
    fast = FeedFastPath(_guarded(api, services), services.feeds)
    # uvicorn and tests reach FastAPI's attributes (state, openapi) through the wrapper.
    fast.state = api.state  # type: ignore[attr-defined]
    fast.fastapi = api  # type: ignore[attr-defined]
    return fast
