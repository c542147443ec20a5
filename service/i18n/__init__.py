"""Languages followers read visitcal in: English, Japanese, Korean and Italian (gettext catalogs
under service/i18n/locale, compiled by `make install`); adding a language is adding a catalog."""

from service.i18n.catalogs import N_, gettext_for, translations
from service.i18n.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    checked_language,
    from_accept_language,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "checked_language",
    "from_accept_language",
    "gettext_for",
    "translations",
]
