"""The gettext catalogs, loaded once per language; a catalog's .po is read when its compiled .mo
is missing or older, so an edited translation never shows its stale compiled copy."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from service.i18n.languages import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for extraction only")
    """Marks a message for extraction where it is defined; it is translated where it is used."""
    return message


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of one of LANGUAGES; English texts as they are for any other code."""
    if language not in LANGUAGES:
        return NullTranslations()
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext_for(language: str) -> Callable[[str], str]:
    """`_` for one language: `_ = gettext_for(lang)`, then `_("Summit")` (what extraction finds)."""
    return translations(language).gettext
