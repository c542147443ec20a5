"""Feeds and downloads: routes for the OpenAPI schema, and a lean ASGI path that serves them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.http_cache import feed_headers, is_fresh
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
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a feed request: one function for both paths."""
    feed = store.get(key)
    if feed is None:
        what = (
            f"segment {key.segment!r} of visit {key.slug!r}"
            if key.segment
            else f"visit {key.slug!r}"
        )
        body = json.dumps({"detail": f"no {what}"}).encode()
        return 404, [("content-type", "application/json")], body
    response_headers = feed_headers(feed, store.settings.feed_max_age_seconds, attachment)
    if is_fresh(headers, feed):
        kept = [
            (k, v) for k, v in response_headers if k in ("etag", "last-modified", "cache-control")
        ]
        return 304, kept, b""
    response_headers.append(("content-length", str(len(feed.body))))
    return 200, response_headers, b"" if head else feed.body


class FeedFastPath:
    """Serves GET and HEAD of feed paths straight from the store, ahead of FastAPI's routing.

    Feeds are the hot path (every subscribed calendar polls them); the routes below stay for the
    OpenAPI schema and answer the same through `feed_response`.
    """

    def __init__(self, app: ASGIApp, store: FeedStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            matched = match_feed(scope["path"])
            if matched is not None:
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                status, response_headers, body = feed_response(
                    self.store, *matched, headers, scope["method"] == "HEAD"
                )
                if status == 404:
                    response_headers.append(("content-length", str(len(body))))
                raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


router = APIRouter(tags=["feeds"])
CALENDAR_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed"},
    304: {"description": "Not modified (ETag or Last-Modified matched)"},
    404: {"description": "No such visit or segment"},
}


def _answer(request: Request, key: FeedKey, attachment: bool) -> Response:
    store: FeedStore = request.app.state.feeds
    status, headers, body = feed_response(
        store, key, attachment, request.headers, request.method == "HEAD"
    )
    response = Response(content=body, status_code=status, headers=dict(headers))
    return response


@router.api_route("/feeds/all.ics", methods=["GET", "HEAD"], responses=CALENDAR_RESPONSES)
def all_feed(request: Request) -> Response:
    """Subscribe: every public segment of every visit."""
    return _answer(request, FeedKey("all"), attachment=False)


@router.api_route("/feeds/visits/{slug}.ics", methods=["GET", "HEAD"], responses=CALENDAR_RESPONSES)
def visit_feed(request: Request, slug: str) -> Response:
    """Subscribe: one visit's public segments."""
    return _answer(request, FeedKey("visit", slug), attachment=False)


@router.api_route("/visits/{slug}.ics", methods=["GET", "HEAD"], responses=CALENDAR_RESPONSES)
def visit_download(request: Request, slug: str) -> Response:
    """Download a visit as an .ics file."""
    return _answer(request, FeedKey("visit", slug), attachment=True)


@router.api_route(
    "/visits/{slug}/segments/{segment}.ics", methods=["GET", "HEAD"], responses=CALENDAR_RESPONSES
)
def segment_download(request: Request, slug: str, segment: str) -> Response:
    """Download one segment as an .ics file."""
    return _answer(request, FeedKey("segment", slug, segment), attachment=True)
