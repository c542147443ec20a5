"""The words shown for the codes a schedule uses: statuses and kinds of segment, each marked for
translation here (a page translates them where it shows them)."""

from __future__ import annotations

from service.i18n.catalogs import N_, gettext_for

WORDS = {
    # Statuses of a visit and of a segment.
    "announced": N_("Announced"),
    "confirmed": N_("Confirmed"),
    "postponed": N_("Postponed"),
    "cancelled": N_("Cancelled"),
    "tentative": N_("Tentative"),
    # Kinds of segment.
    "arrival": N_("Arrival"),
    "meeting": N_("Meeting"),
    "meal": N_("Meal"),
    "ceremony": N_("Ceremony"),
    "exchange": N_("Exchange"),
    "community": N_("Community"),
    "press": N_("Press"),
    "departure": N_("Departure"),
    "other": N_("Other"),
}


def word(code: str, lang: str) -> str:
    """ "tentative" -> "Tentative", "未確定", "미정", "Provvisorio"; an unknown code as it is."""
    return gettext_for(lang)(WORDS[code]) if code in WORDS else code
