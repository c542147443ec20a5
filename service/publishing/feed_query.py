"""Feed query strings (`?kind=meeting,meal&visit=...&tag=...&alarms=1h&lang=ja`) in canonical form,
so that equivalent URLs share one cache entry and odd ones cannot grow the cache."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from service.errors import InputError
from service.i18n import DEFAULT_LANGUAGE, checked_language
from service.models import SEGMENT_KINDS
from service.offsets import parse_offsets
from service.schedules.spec import SLUG

_TAG = re.compile(r"^[\w-]{1,60}$")
LIMIT = 20  # values per parameter


@dataclass(frozen=True)
class FeedFilter:
    visits: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    alarms: tuple[int, ...] = ()  # seconds before the start, largest first
    lang: str = ""  # the feed's language; "" for the default (one cache entry, stored VEVENTs)

    @property
    def narrows(self) -> bool:
        return bool(self.visits or self.kinds or self.tags)


def _values(pairs: list[tuple[str, str]], name: str) -> list[str]:
    found = [part.strip() for key, value in pairs if key == name for part in value.split(",")]
    values = sorted({value for value in found if value})
    if len(values) > LIMIT:
        raise InputError(name, f"at most {LIMIT} values")
    return values


def parse_feed_query(query: str) -> FeedFilter:
    """The filter a query string asks for; unknown parameters are ignored (cache busters)."""
    if not query:
        return FeedFilter()
    pairs = parse_qsl(query, keep_blank_values=True)
    visits = _values(pairs, "visit")
    for slug in visits:
        if not SLUG.match(slug):
            raise InputError("visit", f"{slug[:40]!r} is not a visit slug")
    kinds = _values(pairs, "kind")
    for kind in kinds:
        if kind not in SEGMENT_KINDS:
            raise InputError("kind", f"{kind[:40]!r} is not one of {', '.join(SEGMENT_KINDS)}")
    tags = _values(pairs, "tag")
    for tag in tags:
        if not _TAG.match(tag):
            raise InputError("tag", f"{tag[:40]!r} is not a tag")
    alarms: tuple[int, ...] = ()
    raw_alarms = _values(pairs, "alarms")
    if raw_alarms:
        try:
            alarms = tuple(parse_offsets(raw_alarms))
        except ValueError as error:
            raise InputError("alarms", str(error)) from None
    lang = ""
    raw_lang = _values(pairs, "lang")
    if len(raw_lang) > 1:
        raise InputError("lang", "give one language")
    if raw_lang:
        lang = checked_language(raw_lang[0])
        lang = "" if lang == DEFAULT_LANGUAGE else lang
    return FeedFilter(tuple(visits), tuple(kinds), tuple(tags), alarms, lang)
