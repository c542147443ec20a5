"""/docs: Swagger UI from the app's own files (the swagger-ui-bundle package), started by a
script file rather than an inline one, so that the page keeps the same CSP as every other."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>visitcal API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


def swagger_files() -> StaticFiles:
    return StaticFiles(directory=str(swagger_ui_path))


def site_files() -> StaticFiles:
    return StaticFiles(packages=[("service.web", "static")])
