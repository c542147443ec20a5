"""Feeds and downloads: routes for the OpenAPI schema, and a lean ASGI path that serves them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import InputError
from service.metrics import count_feed
from service.publishing.feed_query import parse_feed_query
from service.publishing.feed_store import FeedKey, FeedStore
from service.schedules.spec import NAME
from service.web.http_cache import RawHeaders, is_fresh, prepared_headers

_ROUTES = [
    (re.compile(r"^/feeds/all\.ics$"), "all", False),
    (re.compile(rf"^/feeds/visits/(?P<slug>{NAME})\.ics$"), "visit", False),
    (re.compile(rf"^/visits/(?P<slug>{NAME})\.ics$"), "visit", True),
    (re.compile(rf"^/visits/(?P<slug>{NAME})/segments/(?P<segment>{NAME})\.ics$"), "segment", True),
    (re.compile(r"^/feeds/private/(?P<token>[A-Za-z0-9_-]{20,100})\.ics$"), "private", False),
]


def match_feed(path: str) -> tuple[FeedKey, bool] | None:
    """The feed a path names and whether it is a download, or None."""
    for pattern, scope, attachment in _ROUTES:
        found = pattern.match(path)
        if found:
            groups = found.groupdict()
            if scope == "private":
                return FeedKey(scope, private=groups["token"]), attachment
            return FeedKey(scope, groups.get("slug", ""), groups.get("segment", "")), attachment
    return None


def resolve(store: FeedStore, key: FeedKey, query: str) -> FeedKey | None:
    """The request's full key: its query's filter and alarms, and what a private token opens.
    InputError for a bad query; None for an unknown or revoked private feed."""
    narrow = parse_feed_query(query)
    if key.scope == "private":
        return store.private_key(key.private, narrow)
    return replace(key, filter=narrow) if query else key


def _error(status: int, detail: object) -> tuple[int, RawHeaders, bytes]:
    body = json.dumps({"detail": detail}).encode()
    length = str(len(body)).encode()
    return status, [(b"content-type", b"application/json"), (b"content-length", length)], body


def answer(
    store: FeedStore,
    key: FeedKey,
    attachment: bool,
    query: str,
    headers: Mapping[str, str],
    head: bool,
) -> tuple[int, RawHeaders, bytes]:
    """A feed request from path key and query to status, headers and body."""
    try:
        resolved = resolve(store, key, query)
    except InputError as error:
        detail = [{"loc": ["query", error.field], "msg": error.reason, "type": "value_error"}]
        return _error(422, detail)
    if resolved is None:
        return _error(404, "no such private feed (it may have been revoked)")
    return feed_response(store, resolved, attachment, headers, head)


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
        return _error(404, f"no {what}")
    private = key.scope == "private"
    prepared = prepared_headers(feed, store.settings.feed_max_age_seconds, attachment, private)
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
                    query = scope.get("query_string", b"").decode("latin-1")
                    key, attachment = matched
                    status, headers, body = await self._answer(
                        key, attachment, query, conditions, method == "HEAD"
                    )
                    count_feed(status)
                    start = {"type": "http.response.start", "status": status, "headers": [*headers]}
                    await send(start)
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, key: FeedKey, attachment: bool, query: str, conditions: dict[str, str], head: bool
    ) -> tuple[int, RawHeaders, bytes]:
        """From memory on the event loop when the store holds the feed (the usual case);
        otherwise in the thread pool, so that a database that is slow to answer (rendering a
        feed, checking the catalog's version, a private token) holds no other request."""
        if key.scope != "private":
            try:
                resolved = resolve(self.store, key, query)  # no database for public feeds
            except InputError:
                resolved = None
            if resolved is not None and self.store.holds(resolved):
                return feed_response(self.store, resolved, attachment, conditions, head)
        return await run_in_threadpool(answer, self.store, key, attachment, query, conditions, head)


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
    query = request.url.query
    head = request.method == "HEAD"
    status, headers, body = answer(store, key, attachment, query, request.headers, head)
    count_feed(status)
    response = Response(content=body, status_code=status)
    response.raw_headers = [*headers]
    return response


FilterQuery = Annotated[str | None, Query(description="Comma-separated values")]
LanguageQuery = Annotated[
    str | None,
    Query(
        description="The feed's language: en (default), ja, ko or it; labels, calendar name "
        "and the schedule's translated texts"
    ),
]


@_get_and_head("/feeds/all.ics")
def all_feed(
    request: Request,
    visit: FilterQuery = None,
    kind: FilterQuery = None,
    tag: FilterQuery = None,
    alarms: Annotated[str | None, Query(description="e.g. 1h,15m: adds VALARMs")] = None,
    lang: LanguageQuery = None,
) -> Response:
    """Subscribe: every public segment of every visit, or only some visits, kinds or tags."""
    # The parameters are declared for the schema; `resolve` reads the query as a whole.
    return _answer(request, FeedKey("all"), attachment=False)


@_get_and_head("/feeds/private/{token}.ics")
def private_feed(
    request: Request,
    token: str,
    alarms: Annotated[str | None, Query(description="e.g. 1h,15m: adds VALARMs")] = None,
    lang: LanguageQuery = None,
) -> Response:
    """Subscribe: a saved private feed (`visitcal feed create`); 404 once revoked."""
    return _answer(request, FeedKey("private", private=token), attachment=False)


@_get_and_head("/feeds/visits/{slug}.ics")
def visit_feed(request: Request, slug: str, lang: LanguageQuery = None) -> Response:
    """Subscribe: one visit's public segments."""
    return _answer(request, FeedKey("visit", slug), attachment=False)


@_get_and_head("/visits/{slug}.ics")
def visit_download(request: Request, slug: str, lang: LanguageQuery = None) -> Response:
    """Download a visit as an .ics file."""
    return _answer(request, FeedKey("visit", slug), attachment=True)


@_get_and_head("/visits/{slug}/segments/{segment}.ics")
def segment_download(
    request: Request, slug: str, segment: str, lang: LanguageQuery = None
) -> Response:
    """Download one segment as an .ics file."""
    return _answer(request, FeedKey("segment", slug, segment), attachment=True)
