"""A visit's or a segment's texts in a reader's language: the schedule's translation when it
gives one, else its default text (never an empty field)."""

from __future__ import annotations

from typing import Any

# The texts a schedule may give in several languages (the rest are names, codes and times).
VISIT_TEXTS = ("title", "place", "description")
SEGMENT_TEXTS = ("title", "location", "description")


def localized(row: Any, field: str, lang: str) -> str:
    """`row.<field>` in `lang` when the schedule translates it, else the default text."""
    translated = (getattr(row, "translations", None) or {}).get(lang, {}).get(field, "")
    return translated or getattr(row, field)


def is_translated(row: Any, field: str, lang: str) -> bool:
    return bool((getattr(row, "translations", None) or {}).get(lang, {}).get(field))
