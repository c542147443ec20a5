"""The language a page is shown in: the switch's `?lang=` (remembered in a cookie), else the
remembered choice, else the browser's Accept-Language."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response

from service.errors import InputError
from service.i18n import LANGUAGE_NAMES, LANGUAGES, checked_language, from_accept_language

COOKIE = "visitcal_lang"
ONE_YEAR = 365 * 24 * 3600


def _known(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return checked_language(value)
    except InputError:
        return None  # a stale cookie or a hand-typed ?lang= falls back, it is not an error page


def chosen_language(request: Request) -> str | None:
    """The language the switch asks for in this request, if any."""
    return _known(request.query_params.get("lang"))


def page_language(request: Request) -> str:
    return (
        chosen_language(request)
        or _known(request.cookies.get(COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
    )


def remember(request: Request, response: Response) -> None:
    """Keep the switch's choice for the next pages; say that pages vary by language."""
    chosen = chosen_language(request)
    if chosen:
        response.set_cookie(COOKIE, chosen, max_age=ONE_YEAR, samesite="lax", httponly=True)
    response.headers["vary"] = "Accept-Language, Cookie"


def switch_links(request: Request, current: str) -> list[tuple[str, str, str, bool]]:
    """(code, name, href, current) per language: the same page with `?lang=` set."""
    kept = [(k, v) for k, v in parse_qsl(request.url.query) if k != "lang"]
    links = []
    for code in LANGUAGES:
        query = urlencode([*kept, ("lang", code)])
        links.append((code, LANGUAGE_NAMES[code], f"{request.url.path}?{query}", code == current))
    return links
