"""Conditional GET for feeds: ETag, Last-Modified, 304 and download headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from service.publishing.feed_store import RenderedFeed

CALENDAR = "text/calendar; charset=utf-8"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 5987 UTF-8 name (Korean, Japanese...)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=utf-8''{quote(filename, safe='')}"


def is_fresh(headers: Mapping[str, str], feed: RenderedFeed) -> bool:
    """Whether the client's copy is current (RFC 9110 13.1.2 and 13.1.3: If-None-Match wins)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return feed.etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return feed.last_modified.replace(microsecond=0) <= since
    return False


def feed_headers(
    feed: RenderedFeed, max_age: int, attachment: bool, private: bool = False
) -> list[tuple[str, str]]:
    # A private feed must not sit in shared caches, where revoking it could not reach.
    audience = "private" if private else "public"
    headers = [
        ("content-type", CALENDAR),
        ("etag", feed.etag),
        ("last-modified", format_datetime(feed.last_modified, usegmt=True)),
        ("cache-control", f"{audience}, max-age={max_age}"),
    ]
    if attachment:
        headers.append(("content-disposition", content_disposition(feed.filename)))
    return headers


RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class PreparedHeaders:
    """A feed's response headers, encoded once per feed rather than on every request."""

    ok: RawHeaders  # 200 to GET and HEAD, with Content-Length
    not_modified: RawHeaders  # 304: the validators and Cache-Control only


def prepared_headers(
    feed: RenderedFeed, max_age: int, attachment: bool, private: bool = False
) -> PreparedHeaders:
    key = ("http-headers", max_age, attachment, private)
    found = feed.derived.get(key)
    if found is None:
        headers = feed_headers(feed, max_age, attachment, private)
        headers.append(("content-length", str(len(feed.body))))
        ok = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        not_modified = [(name, value) for name, value in ok if name in _NOT_MODIFIED]
        found = feed.derived[key] = PreparedHeaders(ok, not_modified)
    return found  # type: ignore[no-any-return]


_NOT_MODIFIED = (b"etag", b"last-modified", b"cache-control")
