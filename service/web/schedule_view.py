"""What the web pages show: visits and their schedules read in a chosen zone, with links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel.dates import format_skeleton
from sqlmodel import col, select

from service import urls
from service.errors import InputError
from service.i18n import DEFAULT_LANGUAGE, N_, gettext_for
from service.i18n.words import word
from service.localtime import zone
from service.models import Change, Segment, Visit
from service.publishing.calendar_links import google_event, google_subscribe, outlook_subscribe
from service.schedules.content_language import localized
from service.schedules.fields import TIME_COLUMNS
from service.schedules.history import publicly_visible
from service.schedules.lookup import visit_by_slug
from service.schedules.when import (
    Timing,
    When,
    describe_when,
    long_day,
    visit_dates,
    when_phrase,
    zone_in_words,
)
from service.services import Services

# The zone a reader from the guest's country most likely keeps. Countries with several zones
# are left out on purpose: a wrong guess is worse than no guess.
GUEST_ZONES = {
    "republic of korea": "Asia/Seoul",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "italy": "Europe/Rome",
    "japan": "Asia/Tokyo",
    "china": "Asia/Shanghai",
    "india": "Asia/Kolkata",
    "france": "Europe/Paris",
    "germany": "Europe/Berlin",
    "united kingdom": "Europe/London",
    "spain": "Europe/Madrid",
    "philippines": "Asia/Manila",
    "vietnam": "Asia/Ho_Chi_Minh",
    "viet nam": "Asia/Ho_Chi_Minh",
    "singapore": "Asia/Singapore",
    "thailand": "Asia/Bangkok",
    "taiwan": "Asia/Taipei",
    "new zealand": "Pacific/Auckland",
}
RECENT = timedelta(days=7)
_FIELD_WORDS = {
    **dict.fromkeys(TIME_COLUMNS, N_("time")),
    "title": N_("title"),
    "kind": N_("kind"),
    "location": N_("place"),
    "participants": N_("participants"),
    "status": N_("status"),
    "description": N_("details"),
    "tags": N_("tags"),
    "visibility": N_("visibility"),
}
_CHANGE_WORDS = {
    "moved": N_("Moved {day}"),
    "refined": N_("Time confirmed {day}"),
    "cancelled": N_("Cancelled {day}"),
    "restored": N_("Back on the schedule {day}"),
    "changed": N_("Changed {day}"),
}
_REGIONS = {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe"}
_REGIONS |= {"Indian", "Pacific"}


def guest_zone(country: str) -> str | None:
    return GUEST_ZONES.get(country.strip().lower())


@cache
def zone_names() -> tuple[str, ...]:
    """Zones offered to type into a form: the geographic IANA names, and UTC."""
    names = (name for name in available_timezones() if name.split("/", 1)[0] in _REGIONS)
    return ("UTC", *sorted(names))


@dataclass(frozen=True)
class ChangeNote:
    text: str  # "Time confirmed 10 Jan 2026 (revision 1): time"
    was: tuple[str, ...]  # "time was afternoon, Tue 13 Jan, 13:00–18:00 JST"
    recent: bool


def _instant(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day_of_change(day: date, lang: str) -> str:
    """ "10 Jan 2026" (the day in UTC: a change's day is not any one reader's)."""
    if lang == DEFAULT_LANGUAGE:
        return f"{day.day} {day:%b %Y}"
    return format_skeleton("yMMMd", day, locale=lang)


def describe_change(
    segment: Segment,
    change: Change | None,
    tz_name: str,
    now: datetime,
    lang: str = DEFAULT_LANGUAGE,
) -> ChangeNote | None:
    """What the latest change to a segment was, from the history when it is there."""
    _ = gettext_for(lang)
    if change is None:
        if segment.sequence == 0:
            return None
        text = _("Updated {day}, revision {revision}").format(
            day=_day_of_change(segment.changed_at.date(), lang), revision=segment.sequence
        )
        return ChangeNote(text, (), now - segment.changed_at <= RECENT)
    before = change.before or {}
    fields = sorted(set(before) | set(change.after or {}), key=list(_FIELD_WORDS).index)
    if change.kind in ("cancelled", "restored"):  # the status is what the headline says
        fields = [name for name in fields if name != "status"]
    words = list(dict.fromkeys(_(_FIELD_WORDS[name]) for name in fields if name in _FIELD_WORDS))
    headline = _(_CHANGE_WORDS.get(change.kind, _CHANGE_WORDS["changed"]))
    text = headline.format(day=_day_of_change(change.at.date(), lang))
    text += " " + _("(revision {revision})").format(revision=segment.sequence)
    if words:
        text += _(": ") + _(", ").join(words)
    was: list[str] = []
    if any(name in before for name in TIME_COLUMNS):
        old = Timing(
            _instant(before.get("start_at", segment.start_at)),
            _instant(before.get("end_at", segment.end_at)),
            str(before.get("precision", segment.precision)),
            before.get("part_of_day", segment.part_of_day),
            str(before.get("timezone", segment.timezone)),
        )
        was.append(_("time was {when}").format(when=when_phrase(old, tz_name, lang)))
    was_words = {
        "title": N_("title was {value}"),
        "location": N_("place was {value}"),
        "status": N_("status was {value}"),
    }
    for name, wording in was_words.items():
        if name in fields and before.get(name):
            value = before[name]
            translated = name == "status" and lang != DEFAULT_LANGUAGE  # English: as the API says
            shown = word(value, lang) if translated else value
            was.append(_(wording).format(value=shown))
    return ChangeNote(text, tuple(was), now - _instant(change.at) <= RECENT)


@dataclass(frozen=True)
class VisitSummary:
    slug: str
    title: str
    dates: str
    place: str
    status: str
    guest: str
    host: str
    first_day: date
    last_day: date


def _person(office: str, name: str, country: str, lang: str = DEFAULT_LANGUAGE) -> str:
    who = f"{office} {name}".strip()
    return f"{who} ({country})" if who and country else who or country


def _who(visit: Visit, role: str, lang: str) -> str:
    """The guest or host as the schedule says them in `lang`, else office, name and country."""
    said = (visit.translations or {}).get(lang, {}).get(role, "")
    if said:
        return said
    return _person(
        getattr(visit, f"{role}_office"),
        getattr(visit, f"{role}_name"),
        getattr(visit, f"{role}_country"),
    )


def summarize(visit: Visit, lang: str = DEFAULT_LANGUAGE) -> VisitSummary:
    return VisitSummary(
        slug=visit.slug,
        title=localized(visit, "title", lang),
        dates=visit_dates(visit.first_day, visit.last_day, lang),
        place=localized(visit, "place", lang),
        status=visit.status,
        guest=_who(visit, "guest", lang),
        host=_who(visit, "host", lang),
        first_day=visit.first_day,
        last_day=visit.last_day,
    )


def split_upcoming(
    visits: Sequence[VisitSummary], today: date
) -> tuple[list[VisitSummary], list[VisitSummary]]:
    """Visits not yet over, soonest first; then past ones, latest first."""
    upcoming = sorted((v for v in visits if v.last_day >= today), key=lambda v: v.first_day)
    past = sorted((v for v in visits if v.last_day < today), key=lambda v: v.first_day)
    return upcoming, past[::-1]


def all_visits(services: Services, lang: str = DEFAULT_LANGUAGE) -> list[VisitSummary]:
    with services.db.session() as session:
        return [summarize(visit, lang) for visit in session.exec(select(Visit))]


@dataclass(frozen=True)
class ZoneChoice:
    name: str
    label: str  # the switch's text
    meaning: str  # why it is offered: "the visit's local time"
    current: bool


@dataclass(frozen=True)
class SegmentView:
    key: str
    title: str
    kind: str
    when: When
    location: str
    participants: tuple[str, ...]
    status: str
    description: str
    change: ChangeNote | None
    ics_path: str
    google_url: str


@dataclass(frozen=True)
class DayView:
    day: date
    heading: str
    segments: tuple[SegmentView, ...]


@dataclass(frozen=True)
class VisitPage:
    visit: VisitSummary
    description: str
    source: str
    zone: str
    zones: tuple[ZoneChoice, ...]
    days: tuple[DayView, ...]
    feed_url: str
    webcal_url: str
    google_url: str
    outlook_url: str
    download_path: str


def zone_choices(visit: Visit, shown: str, lang: str = DEFAULT_LANGUAGE) -> tuple[ZoneChoice, ...]:
    """The visit's zone, the guest's, UTC, and the one shown if it is none of those."""
    _ = gettext_for(lang)
    names = {
        visit.timezone: (
            _("Local time ({zone})").format(zone=visit.timezone),
            _("the visit's local time"),
        )
    }
    guest = guest_zone(visit.guest_country)
    if guest and guest not in names:
        # The guest's country as the schedule names it, or (in another language) the zone's name.
        country = visit.guest_country if lang == DEFAULT_LANGUAGE else zone_in_words(guest, lang)
        names[guest] = (
            f"{country} ({guest})",
            _("the guest's zone"),
        )
    names.setdefault("UTC", ("UTC", ""))
    names.setdefault(shown, (shown, ""))
    return tuple(
        ZoneChoice(name, label, meaning, name == shown) for name, (label, meaning) in names.items()
    )


def group_by_day(
    segments: Sequence[SegmentView], lang: str = DEFAULT_LANGUAGE
) -> tuple[DayView, ...]:
    days: dict[date, list[SegmentView]] = {}
    for segment in segments:
        days.setdefault(segment.when.day, []).append(segment)
    return tuple(DayView(day, long_day(day, lang), tuple(days[day])) for day in sorted(days))


def _latest_changes(session: Any, visit_id: int) -> dict[str, Change]:
    """The latest public change of each segment: one made while it was restricted is not."""
    rows = session.exec(
        select(Change).where(Change.visit_id == visit_id).order_by(col(Change.at), col(Change.id))
    ).all()
    # The page lists public segments only, so no segment counts as restricted now.
    public = publicly_visible(list(rows), set())
    # The last one per segment wins.
    return {row.segment_key: row for row in public if row.segment_key and row.kind != "added"}


def checked_zone(tz_name: str) -> str:
    try:
        zone(tz_name)
    except ValueError as error:
        raise InputError("tz", str(error)) from None
    return tz_name


def visit_page(
    services: Services,
    slug: str,
    tz_name: str | None,
    now: datetime,
    lang: str = DEFAULT_LANGUAGE,
) -> VisitPage:
    """A visit's public schedule read in `tz_name` (default: the visit's zone), in `lang`."""
    with services.db.session() as session:
        visit = visit_by_slug(session, slug)
        segments = session.exec(
            select(Segment)
            .where(Segment.visit_id == visit.id, Segment.visibility == "public")
            # Segments that start together keep the order they were announced (written) in.
            .order_by(col(Segment.start_at), col(Segment.id))
        ).all()
        assert visit.id is not None
        changes = _latest_changes(session, visit.id)
    shown = checked_zone(tz_name) if tz_name else visit.timezone
    page_url = urls.visit_page(services.settings.base_url, slug)
    views = [
        SegmentView(
            key=s.key,
            title=localized(s, "title", lang),
            kind=s.kind,
            when=_when_listed(s, shown, lang),
            location=localized(s, "location", lang),
            participants=tuple(s.participants),
            status=s.status,
            description=localized(s, "description", lang).strip(),
            change=describe_change(s, changes.get(s.key), shown, now, lang),
            ics_path=urls.with_language(urls.segment_download("", slug, s.key), lang),
            google_url=google_event(s, s.description.strip(), f"{page_url}#{s.key}"),
        )
        for s in segments
    ]
    links = urls.visit_links(services.settings, slug, lang)
    return VisitPage(
        visit=summarize(visit, lang),
        description=localized(visit, "description", lang).strip(),
        source=_source(visit, lang),
        zone=shown,
        zones=zone_choices(visit, shown, lang),
        days=group_by_day(views, lang),
        feed_url=links.feed,
        webcal_url=links.webcal,
        google_url=google_subscribe(links.webcal),
        outlook_url=outlook_subscribe(links.feed, localized(visit, "title", lang)),
        download_path=urls.with_language(urls.visit_download("", slug), lang),
    )


def _when_listed(segment: Segment, tz_name: str, lang: str) -> When:
    when = describe_when(Timing.of(segment), tz_name, lang)
    if segment.status == "cancelled" and when.approximate:  # nothing is to be confirmed any more
        return replace(when, note=when.part)
    return when


def _source(visit: Visit, lang: str = DEFAULT_LANGUAGE) -> str:
    if not visit.source_name:
        return ""
    day = visit.source_date
    if not day:
        return visit.source_name
    if lang == DEFAULT_LANGUAGE:
        return f"{visit.source_name}, {day.day} {day:%B %Y}"
    return f"{visit.source_name}, {format_skeleton('yMMMMd', day, locale=lang)}"
