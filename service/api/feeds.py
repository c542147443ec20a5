"""Feeds and downloads: routes for the OpenAPI schema, and a lean ASGI path that serves them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.http_cache import RawHeaders, is_fresh, prepared_headers
from service.feed_store import FeedKey, FeedStore

NAME = r"[a-z0-9][a-z0-9-]{0,119}"
_ROUTES = [
    (re.compile(r"^/feeds/all\.ics$"), "all", False),
    (re.compile(rf"^/feeds/visits/(?P<slug>{NAME})\.ics$"), "visit", False),
    (re.compile(rf"^/visits/(?P<slug>{NAME})\.ics$"), "visit", True),
    (re.compile(rf"^/visits/(?P<slug>{NAME})/segments/(?P<segment>{NAME})\.ics$"), "segment", True),
]


def match_feed(path: str) -> tuple[FeedKey, bool] | None:
    """The feed a path names and whether it is a download, or None."""
    for pattern, scope, attachment in _ROUTES:
        found = pattern.match(path)
        if found:
            groups = found.groupdict()
            return FeedKey(scope, groups.get("slug", ""), groups.get("segment", "")), attachment
    return None


def feed_response(
    store: FeedStore, key: FeedKey, attachment: bool, headers: Mapping[str, str], head: bool
) -> tuple[int, RawHeaders, bytes]:
    """Status, encoded headers and body for a feed request: one function for both paths.

    The headers may be shared with other responses of the same feed: copy before changing them.
    """
    feed = store.get(key)
    if feed is None:
        what = (
            f"segment {key.segment!r} of visit {key.slug!r}"
            if key.segment
            else f"visit {key.slug!r}"
        )
        body = json.dumps({"detail": f"no {what}"}).encode()
        length = str(len(body)).encode()
        return 404, [(b"content-type", b"application/json"), (b"content-length", length)], body
    prepared = prepared_headers(feed, store.settings.feed_max_age_seconds, attachment)
    if is_fresh(headers, feed):
        return 304, prepared.not_modified, b""
    return 200, prepared.ok, b"" if head else feed.body


_CONDITIONS = (b"if-none-match", b"if-modified-since")
_ALL = (FeedKey("all"), False)


class FeedFastPath:
    """Serves GET and HEAD of feed paths straight from the store, ahead of FastAPI's routing.

    Feeds are the hot path (every subscribed calendar polls them); the routes below stay for the
    OpenAPI schema and answer the same through `feed_response`. Per request it decodes only the
    two conditional headers, and sends headers encoded once per feed.
    """

    def __init__(self, app: ASGIApp, store: FeedStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET" or method == "HEAD":
                path = scope["path"]
                if path == "/feeds/all.ics":
                    matched: tuple[FeedKey, bool] | None = _ALL
                else:
                    matched = match_feed(path) if path.endswith(".ics") else None
                if matched is not None:
                    conditions: dict[str, str] = {}
                    for name, value in scope["headers"]:
                        if name in _CONDITIONS:
                            text = value.decode("latin-1")
                            header = name.decode("latin-1")
                            # Repeated header lines are one comma-separated list (RFC 9110 5.3).
                            seen = conditions.get(header)
                            conditions[header] = text if seen is None else f"{seen}, {text}"
                    status, headers, body = feed_response(
                        self.store, *matched, conditions, method == "HEAD"
                    )
                    start = {"type": "http.response.start", "status": status, "headers": [*headers]}
                    await send(start)
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


router = APIRouter(tags=["feeds"])
CALENDAR_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed"},
    304: {"description": "Not modified (ETag or Last-Modified matched)"},
    404: {"description": "No such visit or segment"},
}


Endpoint = TypeVar("Endpoint", bound=Callable[..., Response])


def _get_and_head(path: str) -> Callable[[Endpoint], Endpoint]:
    """GET and HEAD of `path` as two routes: one route with both methods would give both
    operations the same OpenAPI operationId, which the specification forbids."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.get(path, responses=CALENDAR_RESPONSES)(endpoint)
        router.head(path, responses=CALENDAR_RESPONSES)(endpoint)
        return endpoint

    return register


def _answer(request: Request, key: FeedKey, attachment: bool) -> Response:
    store: FeedStore = request.app.state.feeds
    status, headers, body = feed_response(
        store, key, attachment, request.headers, request.method == "HEAD"
    )
    response = Response(content=body, status_code=status)
    response.raw_headers = [*headers]
    return response


@_get_and_head("/feeds/all.ics")
def all_feed(request: Request) -> Response:
    """Subscribe: every public segment of every visit."""
    return _answer(request, FeedKey("all"), attachment=False)


@_get_and_head("/feeds/visits/{slug}.ics")
def visit_feed(request: Request, slug: str) -> Response:
    """Subscribe: one visit's public segments."""
    return _answer(request, FeedKey("visit", slug), attachment=False)


@_get_and_head("/visits/{slug}.ics")
def visit_download(request: Request, slug: str) -> Response:
    """Download a visit as an .ics file."""
    return _answer(request, FeedKey("visit", slug), attachment=True)


@_get_and_head("/visits/{slug}/segments/{segment}.ics")
def segment_download(request: Request, slug: str, segment: str) -> Response:
    """Download one segment as an .ics file."""
    return _answer(request, FeedKey("segment", slug, segment), attachment=True)
