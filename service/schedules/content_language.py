"""A visit's or a segment's texts in a reader's language: the schedule's translation when it
gives one, else its default text (never an empty field)."""

from __future__ import annotations

from typing import Any

# Which texts may be translated, and their limits: service.schedules.spec (VISIT_TEXTS,
# SEGMENT_TEXTS); the rest of a schedule is names, codes and times.


def localized(row: Any, field: str, lang: str) -> str:
    """`row.<field>` in `lang` when the schedule translates it, else the default text."""
    translated = (getattr(row, "translations", None) or {}).get(lang, {}).get(field, "")
    return translated or getattr(row, field)


def is_translated(row: Any, field: str, lang: str) -> bool:
    return bool((getattr(row, "translations", None) or {}).get(lang, {}).get(field))
