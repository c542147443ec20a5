"""HTML responses rendered from service/web/templates, with an ETag of their bytes."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from service.i18n import translations
from service.i18n.words import word
from service.web.form_errors import reason_in
from service.web.language import page_language, remember, switch_links

templates = Environment(
    loader=PackageLoader("service.web", "templates"),
    autoescape=True,  # every text from a schedule or a form is escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


# The page's language is in each render's context, so one environment serves every language
# at once (no per-request install of callables into shared state).
@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context["lang"]).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations(context["lang"]).ngettext(singular, plural, count)


@pass_context
def _reason(context: Context, reason: str) -> str:
    """`{{ problem.reason|reason }}`: an error's reason as the page's language says it."""
    return reason_in(reason, context["lang"])


@pass_context
def _word(context: Context, code: str) -> str:
    """`{{ s.status|word }}`: a status or kind as the page's language says it."""
    return word(code, context["lang"])


templates.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.filters["word"] = _word
templates.filters["reason"] = _reason


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def render(
    request: Request, template: str, status: int = 200, cacheable: bool = True, **context: Any
) -> Response:
    """The page as HTML in the reader's language; a page anyone may see carries an ETag of its
    bytes and answers 304. `lang` in `context` overrides the reader's choice (it is computed
    once by the caller when the page's data depends on it)."""
    lang = context.pop("lang", None) or page_language(request)
    languages = switch_links(request, lang)
    page = templates.get_template(template).render(lang=lang, languages=languages, **context)
    body = page.encode("utf-8")
    response: Response
    if not cacheable or status != 200:
        response = HTMLResponse(body, status, headers={"cache-control": "no-store"})
    else:
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"etag": etag, "cache-control": "no-cache"}  # always revalidate: schedules change
        if etag_matches(request.headers.get("if-none-match"), etag):
            response = Response(status_code=304, headers=headers)
        else:
            response = HTMLResponse(body, headers=headers)
    response.headers["content-language"] = lang
    remember(request, response)
    return response
