"""Which languages there are, and which one a request or a form asks for."""

from __future__ import annotations

from service.errors import InputError

LANGUAGES = ("en", "ja", "ko", "it")
DEFAULT_LANGUAGE = "en"
# Each language named in itself: the switch on the pages and the calendar names say these.
LANGUAGE_NAMES = {"en": "English", "ja": "日本語", "ko": "한국어", "it": "Italiano"}


def checked_language(value: str, field: str = "lang") -> str:
    """A language code we have a catalog for ("ja", "ko-KR" -> "ko"), or InputError."""
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if code not in LANGUAGES:
        raise InputError(field, f"{value[:20]!r} is not one of {', '.join(LANGUAGES)}")
    return code


def from_accept_language(header: str | None) -> str:
    """The best of our languages for an Accept-Language header (RFC 9110 12.5.4), or English."""
    best, best_weight = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((header or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        code = tag.strip().lower().split("-", 1)[0]
        # Earlier entries win ties: a header lists what it prefers first.
        weight -= position * 1e-6
        if code in LANGUAGES and weight > best_weight:
            best, best_weight = code, weight
    return best
