"""Pages and API answers carry a CSP that allows only the app's own files, refuse framing and
sniffing and send no Referer; pages have no inline script or style; /docs loads nothing from
another site; the feed fast path stays as lean as it was (none of these headers)."""

from __future__ import annotations

import re

import httpx

from service.web.security_headers import CSP
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE

PAGES = ("/", f"/visits/{LEE}", "/reminders", "/docs")


def test_pages_and_api_answers_carry_the_security_headers(live: LiveServer) -> None:
    for path in (*PAGES, "/openapi.json", f"/api/visits/{LEE}", "/healthz", "/no-such-page"):
        answer = httpx.get(f"{live.url}{path}")
        assert answer.headers["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "no-referrer", path
    refused = httpx.post(f"{live.url}/api/visits", json={})  # answered before FastAPI: 401
    assert refused.status_code == 401 and refused.headers["x-frame-options"] == "DENY"


def test_pages_have_no_inline_script_or_style_and_their_files_are_served(
    live: LiveServer,
) -> None:
    for path in PAGES:
        html = httpx.get(f"{live.url}{path}").text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            served = httpx.get(f"{live.url}{asset}")
            assert served.status_code == 200 and served.content, asset
            assert served.headers["x-content-type-options"] == "nosniff"


def test_docs_load_nothing_from_another_site(live: LiveServer) -> None:
    html = httpx.get(f"{live.url}/docs").text
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "/static/swagger/swagger-ui.css",
        "/static/swagger/swagger-ui-bundle.js",
        "/static/docs.js",
    ]
    assert "/openapi.json" in httpx.get(f"{live.url}/static/docs.js").text
    assert httpx.get(f"{live.url}/openapi.json").json()["info"]["title"] == "visitcal"
    assert httpx.get(f"{live.url}/redoc").status_code == 404  # ReDoc would load a CDN script


def test_feeds_take_the_lean_path_without_these_headers(live: LiveServer) -> None:
    answer = httpx.get(f"{live.url}/feeds/all.ics")
    assert answer.status_code == 200
    assert "content-security-policy" not in answer.headers
