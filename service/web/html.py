"""HTML responses rendered from service/web/templates, with an ETag of their bytes."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

templates = Environment(
    loader=PackageLoader("service.web", "templates"),
    autoescape=True,  # every text from a schedule or a form is escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def render(
    request: Request, template: str, status: int = 200, cacheable: bool = True, **context: Any
) -> Response:
    """The page as HTML; a page anyone may see carries an ETag of its bytes and answers 304."""
    body = templates.get_template(template).render(**context).encode("utf-8")
    if not cacheable or status != 200:
        return HTMLResponse(body, status, headers={"cache-control": "no-store"})
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"etag": etag, "cache-control": "no-cache"}  # always revalidate: schedules change
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, headers=headers)
