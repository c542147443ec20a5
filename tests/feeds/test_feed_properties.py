"""Properties over generated input: text and instants survive feeds; restricted stays private."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feeds import CalendarMeta, EventData, render_calendar, render_event
from feeds.calendar import ZoneUse
from service.localtime import local_instant
from service.publishing.feed_store import FeedKey
from service.schedules.spec import ScheduleInput, SegmentSpec, VisitSpec, resolve_segment
from service.services import Services

# Text as organizers type it: CRLF, commas, semicolons, backslashes, markup, emoji, CJK.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;:\\\"'<>&\r\n\t ")),
        st.sampled_from(list("日本語한국어😀🇯🇵é")),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=120,
).map(lambda text: text.replace("\r\n", "\n").replace("\r", "\n"))
# A title, a name, a place: one line (input_rules.one_line refuses tabs and line breaks).
LINE = TEXT.map(lambda text: "".join(" " if c in "\n\t\u2028\u2029" else c for c in text))
_COUNTER = itertools.count()
ZONES = sorted(zone for zone in available_timezones() if "/" in zone and not zone.startswith("Etc"))
STAMP = datetime(2026, 1, 9, 12, tzinfo=UTC)


def _event(title: str, location: str, description: str, start: datetime, zone: str) -> EventData:
    return EventData(
        uid="property@visitcal",
        title=title,
        kind="meeting",
        start=start,
        end=start + timedelta(hours=1),
        timezone=zone,
        precision="exact",
        status="confirmed",
        sequence=0,
        created=STAMP,
        last_modified=STAMP,
        location=location,
        description=description,
    )


@settings(max_examples=150, deadline=None)
@given(title=TEXT, location=TEXT, description=TEXT)
def test_any_segment_text_round_trips_through_a_feed(
    title: str, location: str, description: str
) -> None:
    start = datetime(2026, 1, 13, 6, tzinfo=UTC)
    event = _event(title, location, description, start, "Asia/Tokyo")
    body = render_calendar(
        CalendarMeta("p", "", "Asia/Tokyo"),
        [render_event(event)],
        [ZoneUse("Asia/Tokyo", 2026, 2026)],
    )
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    parsed = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(parsed["SUMMARY"]) == title
    assert str(parsed["LOCATION"]) == location
    assert str(parsed["DESCRIPTION"]).endswith(description)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31)),
    clock=st.times(),
)
def test_any_aware_start_in_any_zone_round_trips_to_the_same_instant(
    zone: str, day: date, clock: time
) -> None:
    clock = clock.replace(microsecond=0, second=0)
    try:
        instant = local_instant(day, clock, ZoneInfo(zone))
    except ValueError:
        assume(False)  # a DST gap or fold: refused by rule, tested elsewhere
        return
    event = _event("Meeting", "", "", instant, zone)
    body = render_calendar(
        CalendarMeta("p", "", zone), [render_event(event)], [ZoneUse(zone, day.year, day.year)]
    )
    parsed = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert parsed.decoded("DTSTART").astimezone(UTC) == instant
    assert parsed.decoded("DTEND").astimezone(UTC) == instant + timedelta(hours=1)


_SEGMENT = st.fixed_dictionaries(
    {
        "title": LINE.filter(lambda t: t.strip() != "" and len(t) <= 300),
        "kind": st.sampled_from(["arrival", "meeting", "meal", "press", "other"]),
        "hour": st.integers(min_value=0, max_value=22),
        "restricted": st.booleans(),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(segments=st.lists(_SEGMENT, min_size=1, max_size=8))
def test_restricted_segments_never_appear_in_a_public_feed(
    sqlite_services: Services, segments: list[dict[str, object]]
) -> None:
    slug = f"generated-{next(_COUNTER)}"  # the database outlives one example: a visit each
    visit = VisitSpec.model_validate(
        {
            "slug": slug,
            "title": "Generated",
            "first_day": "2026-03-02",
            "last_day": "2026-03-02",
            "guest": {"name": "G"},
        }
    )
    inputs = []
    for number, raw in enumerate(segments):
        spec = SegmentSpec.model_validate(
            {
                "id": f"s{number}",
                # A marker that cannot occur by chance says whether the details leaked.
                "title": f"secret{slug}s{number} {raw['title']}"
                if raw["restricted"]
                else raw["title"],
                "kind": raw["kind"],
                "date": "2026-03-02",
                "start": f"{raw['hour']:02d}:00",
                "visibility": "restricted" if raw["restricted"] else "public",
            }
        )
        inputs.append(resolve_segment(spec, visit, sqlite_services.settings.part_of_day))
    sqlite_services.catalog.apply([ScheduleInput(visit, tuple(inputs))], STAMP)
    uids = {n: f"{slug}.s{n}@visitcal" for n in range(len(segments))}
    restricted = {uids[n] for n, raw in enumerate(segments) if raw["restricted"]}
    public = {uids[n] for n, raw in enumerate(segments) if not raw["restricted"]}
    for key in (FeedKey("all"), FeedKey("visit", slug)):
        feed = sqlite_services.feeds.get(key)
        assert feed is not None
        seen = {str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.body).walk("VEVENT")}
        assert public <= seen
        assert not restricted & seen
        assert f"secret{slug}s".encode() not in feed.body


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=LINE.filter(lambda t: t.strip() == t and t != ""), location=LINE, description=TEXT)
def test_any_segment_text_round_trips_through_a_feed_and_an_import(
    sqlite_services: Services, title: str, location: str, description: str
) -> None:
    from sqlmodel import select

    from service.models import Segment
    from service.schedules.calendar_import import import_calendar

    slug = f"imported-{next(_COUNTER)}"
    visit = VisitSpec.model_validate(
        {
            "slug": slug,
            "title": slug,
            "first_day": "2026-03-02",
            "last_day": "2026-03-02",
            "guest": {"name": "G"},
        }
    )
    spec = SegmentSpec.model_validate(
        {
            "id": "talks",
            "title": title,
            "kind": "meeting",
            "date": "2026-03-02",
            "start": "10:00",
            "location": location,
            "description": description,
        }
    )
    written = resolve_segment(spec, visit, sqlite_services.settings.part_of_day)
    sqlite_services.catalog.apply([ScheduleInput(visit, (written,))], STAMP)
    feed = sqlite_services.feeds.get(FeedKey("visit", slug))
    assert feed is not None
    # Gone from the database, then back from its own feed: only what the feed said remains.
    sqlite_services.catalog.delete_segment(slug, "talks", STAMP, "test")
    import_calendar(
        sqlite_services.catalog, slug, feed.body, source="feed", actor="test", now=STAMP
    )
    with sqlite_services.db.session() as session:
        imported = session.exec(
            select(Segment).where(Segment.uid == f"{slug}.talks@visitcal")
        ).one()
    assert (imported.title, imported.location, imported.description) == (
        written.title,
        written.location,
        written.description,
    )
    assert (imported.start_at, imported.end_at) == (written.start_at, written.end_at)
