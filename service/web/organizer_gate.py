"""The organizer token checked before a write route reads its body: a stranger's upload is
refused unread (401), whatever its size."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.db import Database
from service.errors import VisitcalError
from service.schedules.organizer_tokens import organizer_for
from service.web.write_routes import WriteRoutes

REFUSED = "an organizer token is required (Authorization: Bearer <token>)"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class OrganizerGate:
    """401 for an organizer write without a valid token, before the body is read. The route's
    own dependency checks again (and is what the OpenAPI schema shows)."""

    def __init__(self, app: ASGIApp, routes: WriteRoutes, db: Database) -> None:
        self.app = app
        self.routes = routes
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.routes.is_organizer_write(scope):
            token = bearer_token(scope)
            try:
                name = await run_in_threadpool(organizer_for, self.db, token) if token else None
            except VisitcalError:  # the database is busy: the route says so, in its own words
                name = ""
            if name is None:
                answer = JSONResponse(
                    {"detail": REFUSED}, 401, headers={"WWW-Authenticate": "Bearer"}
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
