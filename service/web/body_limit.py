"""Request bodies bounded while they are read: a declared length over the limit is refused
before reading, and a body that passes the limit as it streams in is refused at that point."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.write_routes import READS


def _too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes"


class BodyLimit:
    """413 for a body over `limit_for(path)` bytes, without holding more than that in memory."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await JSONResponse({"detail": _too_large(limit)}, 413)(scope, receive, send)
                return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the app's reading of the body: FastAPI and Starlette turn
                    # an HTTPException there into this status, like any other.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, bounded, send)
