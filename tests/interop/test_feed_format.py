"""The bytes of a feed follow RFC 5545 where clients are known to be strict: CRLF line ends,
lines folded at 75 octets, no floating times, DTEND on every event, a VTIMEZONE for every TZID,
METHOD:PUBLISH with an ORGANIZER; text survives a round trip; same data, same bytes.

The checks read the raw content lines with the small parser below, not with the library that
wrote them, so a mistake shared by writer and reader cannot hide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import vobject

from feeds import CalendarMeta, EventData, render_calendar, render_event
from feeds.calendar import ZoneUse
from tests.helpers.parsers import PYTHON_PARSERS, PYTHON_READERS
from tests.helpers.services import FIXTURES

GOLDEN_DIR = FIXTURES / "feeds"

# --- A reader of content lines that knows nothing of icalendar. ---


@dataclass
class Component:
    name: str
    properties: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def values(self, name: str) -> list[tuple[dict[str, str], str]]:
        return [(params, value) for prop, params, value in self.properties if prop == name]

    def walk(self, name: str) -> Iterator[Component]:
        for child in self.children:
            if child.name == name:
                yield child
            yield from child.walk(name)


def _split_unquoted(text: str, separator: str, limit: int = -1) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted and limit != 0:
            parts.append(current)
            current = ""
            limit -= 1
        else:
            current += char
    return [*parts, current]


def content_line(line: str) -> tuple[str, dict[str, str], str]:
    """`NAME;P=V;Q="W":value` -> ("NAME", {"P": "V", "Q": "W"}, "value")."""
    head, value = _split_unquoted(line, ":", limit=1)
    name, *params = _split_unquoted(head, ";")
    parsed = {}
    for param in params:
        key, _, param_value = param.partition("=")
        parsed[key.upper()] = param_value.strip('"')
    return name.upper(), parsed, value


def unfold(body: bytes) -> list[str]:
    lines: list[str] = []
    for raw in body.decode("utf-8").split("\r\n"):
        if raw[:1] in (" ", "\t"):
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def parse(body: bytes) -> Component:
    root = Component("ROOT")
    stack = [root]
    for line in unfold(body):
        name, params, value = content_line(line)
        if name == "BEGIN":
            child = Component(value.upper())
            stack[-1].children.append(child)
            stack.append(child)
        elif name == "END":
            assert stack[-1].name == value.upper(), f"END:{value} closes {stack[-1].name}"
            stack.pop()
        else:
            stack[-1].properties.append((name, params, value))
    assert stack == [root], "unclosed component"
    (calendar,) = root.children
    assert calendar.name == "VCALENDAR"
    return calendar


def rfc5545_text(text: str) -> str:
    """A TEXT value as RFC 5545 3.3.11 writes it."""
    escaped = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\n", "\\n")


# --- Feeds under test: the golden seed feeds, service feeds in several zones, tricky text. ---

TRICKY = "Talks, lunch; toasts \\ backslash\nsecond line 日本語 한국어"
LONG = "長い説明、한국어 설명, commas; semicolons \\ and newlines\n" * 12
T0 = datetime(2026, 1, 9, 12, tzinfo=UTC)


def tricky_event(**changes: object) -> EventData:
    fields: dict[str, object] = {
        "uid": "2026-01-tricky.text@visitcal",
        "title": TRICKY,
        "kind": "meeting",
        "start": datetime(2026, 1, 13, 4, tzinfo=UTC),
        "end": datetime(2026, 1, 13, 5, 30, tzinfo=UTC),
        "timezone": "Asia/Tokyo",
        "precision": "exact",
        "status": "confirmed",
        "sequence": 2,
        "created": T0,
        "last_modified": T0 + timedelta(hours=1),
        "location": TRICKY + " " + LONG,
        "description": LONG,
        "url": "http://visitcal.test/visits/2026-01-tricky#text",
        "organizer_name": "Protocol Office, 日本; 한국",
    }
    fields.update(changes)
    return EventData(**fields)  # type: ignore[arg-type]


def tricky_calendar() -> bytes:
    meta = CalendarMeta(name="Tricky text", description="", timezone="Asia/Tokyo")
    return render_calendar(
        meta, [render_event(tricky_event())], [ZoneUse("Asia/Tokyo", 2026, 2026)]
    )


GOLDEN = {
    "golden-lee": "2026-01-lee-jae-myung-nara.ics",
    "golden-meloni": "2026-01-meloni-japan.ics",
    "golden-all": "all.ics",
}
# The visits of interop/conftest.py's zone_feeds, in Europe/Rome and America/Los_Angeles.
SERVICE = {"service-rome": "rome", "service-los-angeles": "los-angeles", "service-all-zones": "all"}
FEEDS = [*GOLDEN, *SERVICE, "tricky-text"]


def feed_body(name: str, request: pytest.FixtureRequest) -> bytes:
    if name in GOLDEN:
        return (GOLDEN_DIR / GOLDEN[name]).read_bytes()
    if name == "tricky-text":
        return tricky_calendar()
    zone_feeds: dict[str, bytes] = request.getfixturevalue("zone_feeds")
    return zone_feeds[SERVICE[name]]


@pytest.fixture(params=FEEDS)
def feed(request: pytest.FixtureRequest) -> bytes:
    return feed_body(request.param, request)


# --- Format. ---


def test_every_line_ends_in_crlf(feed: bytes) -> None:
    assert feed.endswith(b"\r\n")
    without_crlf = feed.replace(b"\r\n", b"")
    assert b"\n" not in without_crlf, "a bare LF"
    assert b"\r" not in without_crlf, "a bare CR"


def test_no_line_is_longer_than_75_octets(feed: bytes) -> None:
    long_lines = [line for line in feed.split(b"\r\n") if len(line) > 75]
    assert long_lines == []


def test_folding_never_splits_a_utf8_character(feed: bytes) -> None:
    for line in feed.split(b"\r\n"):
        line.decode("utf-8")  # raises on half a character


def test_no_event_time_is_floating(feed: bytes) -> None:
    for event in parse(feed).walk("VEVENT"):
        for name in ("DTSTART", "DTEND"):
            for params, value in event.values(name):
                zoned = "TZID" in params or value.endswith("Z")
                date_only = params.get("VALUE") == "DATE" and len(value) == 8
                assert zoned or date_only, f"floating {name}:{value} ({params})"
        for name in ("DTSTAMP", "CREATED", "LAST-MODIFIED"):  # RFC 5545: always in UTC
            for _params, value in event.values(name):
                assert value.endswith("Z"), f"{name}:{value} is not UTC"


def test_every_event_has_one_uid_one_dtstart_and_one_dtend(feed: bytes) -> None:
    events = list(parse(feed).walk("VEVENT"))
    assert events
    for event in events:
        counts = {name: len(event.values(name)) for name in ("UID", "DTSTART", "DTEND")}
        assert counts == {"UID": 1, "DTSTART": 1, "DTEND": 1}, event.values("UID")
        assert not event.values("DURATION")


def test_every_tzid_used_has_exactly_one_vtimezone(feed: bytes) -> None:
    calendar = parse(feed)
    used = {
        params["TZID"]
        for event in calendar.walk("VEVENT")
        for _name, params, _value in event.properties
        if "TZID" in params
    }
    defined = [
        value for zone in calendar.walk("VTIMEZONE") for _params, value in zone.values("TZID")
    ]
    assert len(defined) == len(set(defined)), f"duplicate VTIMEZONEs: {defined}"
    assert used <= set(defined), f"TZIDs without a VTIMEZONE: {used - set(defined)}"


@pytest.mark.parametrize(
    "name",
    [
        *GOLDEN,
        "service-rome",
        "service-los-angeles",
        "service-all-zones",
        "tricky-text",
    ],
)
def test_each_vtimezone_starts_before_the_first_local_time_that_uses_it(
    name: str, request: pytest.FixtureRequest
) -> None:
    calendar = parse(feed_body(name, request))
    first_observance = {}
    for zone in calendar.walk("VTIMEZONE"):
        ((_params, tzid),) = zone.values("TZID")
        onsets = [value for child in zone.children for _params, value in child.values("DTSTART")]
        first_observance[tzid] = min(onsets)
    for event in calendar.walk("VEVENT"):
        for prop in ("DTSTART", "DTEND"):
            for params, value in event.values(prop):
                if "TZID" in params:
                    tzid = params["TZID"]
                    assert first_observance[tzid] <= value, (
                        f"{prop};TZID={tzid}:{value} is before the VTIMEZONE's first "
                        f"observance {first_observance[tzid]}"
                    )


def test_calendar_is_published_and_every_event_names_its_organizer(feed: bytes) -> None:
    calendar = parse(feed)
    assert calendar.values("METHOD") == [({}, "PUBLISH")]
    assert calendar.values("VERSION") == [({}, "2.0")]
    for event in calendar.walk("VEVENT"):
        organizers = event.values("ORGANIZER")
        assert len(organizers) == 1, event.values("UID")
        assert organizers[0][1].lower().startswith("mailto:")


# --- Text round trip through three independent parsers. ---


@pytest.mark.parametrize("parser", PYTHON_PARSERS)
def test_text_with_commas_semicolons_backslashes_newlines_japanese_korean_survives_round_trip(
    parser: str,
) -> None:
    body = tricky_calendar()
    assert b"\r\n " in body, "the long text is folded"
    (read,) = PYTHON_READERS[parser](body)
    assert (read.summary, read.location, read.description, read.organizer_cn) == (
        TRICKY,  # an exact time: no "to be confirmed" label
        TRICKY + " " + LONG,
        LONG,
        "Protocol Office, 日本; 한국",
    )


def test_calendar_name_and_description_are_written_and_read_back_as_text() -> None:
    text = "Talks, lunch; toasts \\ backslash 日本語 한국어"
    body = render_calendar(CalendarMeta(name=text, description=text, timezone="Asia/Tokyo"), [], [])
    calendar = parse(body)
    for name in ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC"):
        assert calendar.values(name) == [({}, rfc5545_text(text))], name
    read = vobject.readOne(body.decode("utf-8"))
    assert read.contents["name"][0].value == text
    assert read.x_wr_calname.value == text
    assert read.x_wr_caldesc.value == text


def test_calendar_description_in_paragraphs_is_written_and_read_back_as_text() -> None:
    text = "First paragraph, with a comma.\n\nSecond paragraph; 日本語 한국어."
    meta = CalendarMeta(name="Visit", description=text, timezone="Asia/Tokyo")
    body = render_calendar(meta, [], [])
    calendar = parse(body)
    for name in ("DESCRIPTION", "X-WR-CALDESC"):
        assert calendar.values(name) == [({}, rfc5545_text(text))], name
    read = vobject.readOne(body.decode("utf-8"))
    assert read.description.value == text
    assert read.x_wr_caldesc.value == text


# --- Determinism: same data, same bytes. ---


def test_render_event_gives_identical_bytes_for_identical_data() -> None:
    first = render_event(tricky_event())
    assert render_event(tricky_event()) == first  # a new, equal EventData
    assert render_event(tricky_event(sequence=2)) == first
    assert render_event(tricky_event(sequence=3)) != first  # and the data does matter


def test_render_calendar_gives_identical_bytes_for_identical_data() -> None:
    assert tricky_calendar() == tricky_calendar()
