"""Importing an official calendar: round trips of our own feed, Google exports, recurrences,
dry runs that write nothing, bad input refused by line, and URLs fetched over real HTTP."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from sqlmodel import col, func, select
from typer.testing import Result

from feeds.ical_import import parse_calendar
from service.errors import InputError
from service.models import Change, Reminder, Segment, Visit
from service.publishing.feed_store import FeedKey
from service.schedules.calendar_import import ImportResult, guess_kind, import_calendar, segment_key
from service.schedules.organizer_tokens import create_token
from service.schedules.remote_calendar import fetch_calendar
from service.services import Services
from tests.helpers.cli import cli_env, invoke
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE, MELONI, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import"
NOW = datetime(2026, 1, 12, 9, tzinfo=UTC)
SUMMIT_UID = f"{LEE}.summit@visitcal"
DINNER_UID = f"{LEE}.dinner@visitcal"
PRESS_UID = "press-2026-01-13@mofa.go.jp"
PRESS_EVENT = f"""BEGIN:VEVENT\r
UID:{PRESS_UID}\r
DTSTAMP:20260112T000000Z\r
DTSTART;TZID=Asia/Tokyo:20260113T171000\r
DTEND;TZID=Asia/Tokyo:20260113T174000\r
SUMMARY:Joint press announcement\r
LOCATION:Nara Prefectural Office\r
CATEGORIES:PRESS\r
STATUS:CONFIRMED\r
SEQUENCE:0\r
END:VEVENT\r
"""


# --- helpers ---


def feed_text(services: Services, slug: str = LEE) -> str:
    """The visit's feed as a follower downloads it, unfolded to be edited line by line."""
    feed = services.feeds.get(FeedKey("visit", slug))
    assert feed is not None
    return feed.body.decode().replace("\r\n ", "")


def feed_bytes(services: Services, slug: str = LEE) -> bytes:
    services.feeds.invalidate()
    feed = services.feeds.get(FeedKey("visit", slug))
    assert feed is not None
    return feed.body


def edit_event(text: str, uid: str, **properties: str) -> str:
    """Replace properties (DTSTART="..."; None-like "" removes) of the VEVENT with `uid`."""
    blocks = re.split(r"(?=BEGIN:VEVENT\r\n)", text)
    for index, block in enumerate(blocks):
        if f"\r\nUID:{uid}\r\n" not in block:
            continue
        for name, value in properties.items():
            name = name.upper().replace("_", "-")
            pattern = re.compile(rf"^{name}[;:][^\r\n]*\r\n", re.M)
            replacement = f"{value}\r\n" if value else ""
            if pattern.search(block):
                block = pattern.sub(lambda _m, r=replacement: r, block, count=1)
            else:
                block = block.replace("END:VEVENT\r\n", f"{replacement}END:VEVENT\r\n")
        blocks[index] = block
        return "".join(blocks)
    raise AssertionError(f"no VEVENT {uid}")


def drop_event(text: str, uid: str) -> str:
    return re.sub(
        rf"BEGIN:VEVENT\r\n(?:(?!END:VEVENT).)*?UID:{re.escape(uid)}\r\n.*?END:VEVENT\r\n",
        "",
        text,
        flags=re.S,
    )


def add_event(text: str, event: str) -> str:
    return text.replace("END:VCALENDAR\r\n", event + "END:VCALENDAR\r\n")


def run_import(
    services: Services,
    data: bytes | str,
    slug: str = LEE,
    dry_run: bool = False,
    source: str = "test.ics",
) -> ImportResult:
    if isinstance(data, str):
        data = data.encode()
    return import_calendar(
        services.catalog,
        slug,
        data,
        source=source,
        actor=f"import:{source}",
        now=NOW,
        dry_run=dry_run,
    )


def segments(services: Services, slug: str = LEE) -> dict[str, Segment]:
    with services.db.session() as session:
        visit = session.exec(select(Visit).where(Visit.slug == slug)).one()
        rows = session.exec(select(Segment).where(Segment.visit_id == visit.id))
        return {row.key: row for row in rows}


def snapshot(services: Services) -> dict[str, Any]:
    """Everything an import could write: segments, visits, history, reminders, counters, feeds."""
    with services.db.session() as session:
        return {
            "segments": [
                s.model_dump() for s in session.exec(select(Segment).order_by(Segment.id))
            ],
            "visits": [v.model_dump() for v in session.exec(select(Visit).order_by(Visit.id))],
            "changes": session.exec(select(func.count()).select_from(Change)).one(),
            "reminders": session.exec(select(func.count()).select_from(Reminder)).one(),
            "version": services.db.catalog_version(),
            "feeds": {slug: feed_bytes(services, slug) for slug in (LEE, MELONI)},
        }


def local(instant: datetime, zone: str = "Asia/Tokyo") -> str:
    from zoneinfo import ZoneInfo

    return f"{instant.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


def cli(services: Services, *args: str, **settings: object) -> Result:
    return invoke(cli_env(services.settings.database_url, **settings), *args)


def allow_private(services: Services, **more: object) -> None:
    services.settings = services.settings.model_copy(update={"import_allow_private": True, **more})


class CalendarServer:
    """A plain HTTP server on 127.0.0.1 that answers files of tests/fixtures/import/."""

    def __init__(
        self, extra: dict[str, bytes] | None = None, redirects: dict[str, str] | None = None
    ) -> None:
        files = {f"/{p.name}": p.read_bytes() for p in FIXTURES.iterdir()} | (extra or {})
        moved = dict(redirects or {})

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.startswith("/redirect/") or self.path in moved:
                    self.send_response(302)
                    target = moved.get(self.path) or self.path.removeprefix("/redirect")
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CalendarServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def calendars() -> Iterator[CalendarServer]:
    with CalendarServer() as server:
        yield server


# --- round trips of our own feed ---


@pytest.mark.parametrize("slug", [LEE, MELONI])
def test_reimporting_our_own_feed_changes_nothing(seeded: Services, slug: str) -> None:
    before = snapshot(seeded)
    count = len(segments(seeded, slug))

    result = run_import(seeded, feed_text(seeded, slug), slug=slug)

    assert [s.change for s in result.segments] == ["unchanged"] * count
    assert snapshot(seeded) == before


def test_round_trip_keeps_uids_respects_sequence_and_adds_external_events(
    seeded: Services,
) -> None:
    uids_before = {key: s.uid for key, s in segments(seeded).items()}
    text = edit_event(
        feed_text(seeded),
        SUMMIT_UID,
        dtstart="DTSTART;TZID=Asia/Tokyo:20260113T150000",
        dtend="DTEND;TZID=Asia/Tokyo:20260113T163000",
        summary="SUMMARY:Summit meeting",
        status="STATUS:CONFIRMED",
        sequence="SEQUENCE:4",
    )
    text = add_event(text, PRESS_EVENT)

    result = run_import(seeded, text)

    assert [(s.key, s.change) for s in result.added] == [("press-2026-01-13", "added")]
    assert [(s.key, s.change) for s in result.changed] == [("summit", "refined")]
    rows = segments(seeded)
    assert {key: rows[key].uid for key in uids_before} == uids_before
    summit = rows["summit"]
    assert (summit.precision, summit.part_of_day, summit.status) == ("exact", None, "confirmed")
    assert (local(summit.start_at), local(summit.end_at)) == (
        "2026-01-13 15:00",
        "2026-01-13 16:30",
    )
    assert summit.title == "Summit meeting"
    assert summit.participants == ["Lee Jae-myung", "Sousuke Takai"]  # read back from DESCRIPTION
    assert summit.sequence == 4  # the calendar's SEQUENCE is a floor for ours
    press = rows["press-2026-01-13"]
    assert (press.uid, press.kind, press.visibility, press.sequence) == (
        PRESS_UID,
        "press",
        "public",
        0,
    )
    assert local(press.start_at) == "2026-01-13 17:10"
    # Followers' calendars see the update under the same UID, and the new event under its own.
    feed = icalendar.Calendar.from_ical(feed_bytes(seeded))
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert int(events[SUMMIT_UID]["SEQUENCE"]) == 4
    assert events[SUMMIT_UID].start == datetime(2026, 1, 13, 6, tzinfo=UTC)
    assert PRESS_UID in events
    # A second import of the same calendar is a no-op.
    again = run_import(seeded, text)
    assert {s.change for s in again.segments} == {"unchanged"}


def test_changed_event_gets_a_higher_sequence_even_when_the_calendar_keeps_its_own(
    seeded: Services,
) -> None:
    text = edit_event(
        feed_text(seeded), DINNER_UID, location="LOCATION:Nara Hotel", sequence="SEQUENCE:0"
    )

    run_import(seeded, text)

    dinner = segments(seeded)["dinner"]
    assert dinner.location == "Nara Hotel"
    assert dinner.sequence == 1  # changed: SEQUENCE+1, whatever the calendar said


def test_full_reimport_missing_an_event_cancels_its_segment(seeded: Services) -> None:
    text = drop_event(feed_text(seeded), DINNER_UID)

    result = run_import(seeded, text)

    assert [(s.key, s.change) for s in result.cancelled] == [("dinner", "cancelled")]
    assert [(f.field, f.before, f.after) for f in result.cancelled[0].fields] == [
        ("status", "tentative", "cancelled")
    ]
    dinner = segments(seeded)["dinner"]
    assert (dinner.status, dinner.sequence, dinner.uid) == ("cancelled", 1, DINNER_UID)
    feed = icalendar.Calendar.from_ical(feed_bytes(seeded))
    statuses = {str(e["UID"]): str(e["STATUS"]) for e in feed.walk("VEVENT")}
    assert statuses[DINNER_UID] == "CANCELLED"  # kept in the feed, so calendars learn of it


def test_restricted_segments_keep_their_visibility_and_are_not_cancelled_by_a_public_calendar(
    seeded: Services,
) -> None:
    # A calendar without the arrival (a public one cannot show it) and with the summit moved.
    calendar = edit_event(
        drop_event(feed_text(seeded), f"{LEE}.arrival@visitcal"),
        SUMMIT_UID,
        dtstart="DTSTART;TZID=Asia/Tokyo:20260113T150000",
        dtend="DTEND;TZID=Asia/Tokyo:20260113T160000",
    )
    with seeded.db.write() as session:
        for row in session.exec(select(Segment).where(col(Segment.key).in_(["arrival", "summit"]))):
            row.visibility = "restricted"
            session.add(row)

    result = run_import(seeded, calendar)

    rows = segments(seeded)
    assert (rows["arrival"].status, rows["arrival"].visibility) == ("tentative", "restricted")
    assert rows["summit"].visibility == "restricted"  # an import never publishes it
    assert local(rows["summit"].start_at) == "2026-01-13 15:00"
    assert result.cancelled == []


# --- dry runs ---


def test_dry_run_prints_the_diff_and_changes_nothing(seeded: Services, tmp_path: Path) -> None:
    text = edit_event(
        drop_event(feed_text(seeded), DINNER_UID),
        SUMMIT_UID,
        dtstart="DTSTART;TZID=Asia/Tokyo:20260113T150000",
        dtend="DTEND;TZID=Asia/Tokyo:20260113T163000",
    )
    path = tmp_path / "official.ics"
    path.write_text(add_event(text, PRESS_EVENT), encoding="utf-8", newline="")
    before = snapshot(seeded)

    result = cli(seeded, "import", str(path), "--visit", LEE, "--dry-run")

    assert result.exit_code == 0, result.output
    assert snapshot(seeded) == before
    lines = result.output.splitlines()

    def row(*cells: str) -> bool:
        return any(all(cell in line for cell in cells) for line in lines)

    assert row("added", "press-2026-01-13", "title", "Joint press announcement")
    assert row("start_at", "—", "2026-01-13 17:10 JST")
    assert row("refined", "summit", "start_at", "2026-01-13 13:00 JST", "2026-01-13 15:00 JST")
    assert row("end_at", "2026-01-13 18:00 JST", "2026-01-13 16:30 JST")
    assert row("precision", "part_of_day", "exact")
    assert row("part_of_day", "afternoon", "—")
    assert row("cancelled", "dinner", "status", "tentative", "cancelled")
    assert "1 added, 1 changed, 1 cancelled, 4 unchanged; nothing was written" in result.output

    applied = cli(seeded, "import", str(path), "--visit", LEE)

    assert applied.exit_code == 0, applied.output
    assert "imported into" in applied.output
    assert segments(seeded)["dinner"].status == "cancelled"
    assert snapshot(seeded)["feeds"][LEE] != before["feeds"][LEE]


def test_a_dry_run_reports_exactly_what_the_real_import_then_does(seeded: Services) -> None:
    text = edit_event(
        drop_event(feed_text(seeded), DINNER_UID),
        f"{LEE}.exchange@visitcal",
        dtstart="DTSTART;TZID=Asia/Tokyo:20260114T093000",
        dtend="DTEND;TZID=Asia/Tokyo:20260114T110000",
        location="LOCATION:Todai-ji\\, Nara",
    )
    text = add_event(text, PRESS_EVENT)

    dry = run_import(seeded, text, dry_run=True)
    real = run_import(seeded, text)

    assert dry.dry_run and not real.dry_run
    assert dry.segments == real.segments
    assert dry.warnings == real.warnings
    kinds = {s.key: s.change for s in real.segments}
    assert (kinds["exchange"], kinds["dinner"], kinds["press-2026-01-13"]) == (
        "refined",
        "cancelled",
        "added",
    )
    # The history records the import, under its actor, with the same before/after.
    with seeded.db.session() as session:
        history = session.exec(select(Change).where(Change.actor == "import:test.ics")).all()
    assert sorted(c.segment_key for c in history) == ["dinner", "exchange", "press-2026-01-13"]


# --- other calendars ---


def test_google_export_with_x_wr_timezone_lands_at_the_right_instants(seeded: Services) -> None:
    result = run_import(seeded, (FIXTURES / "google-meloni.ics").read_bytes(), slug=MELONI)

    rows = {s.uid: s for s in segments(seeded, MELONI).values()}
    arrival = rows["4k1n9arr1v4l0tokyo2026@google.com"]
    # A UTC time is that instant.
    assert arrival.start_at == datetime(2026, 1, 15, 7, tzinfo=UTC)
    assert (arrival.kind, arrival.status, arrival.location) == (
        "arrival",
        "confirmed",
        "Aeroporto di Haneda, Tokyo",
    )
    bilateral = rows["7s9mm1tb1l4t3r4l3@google.com"]
    # A floating time is read in the calendar's X-WR-TIMEZONE (Rome, UTC+1), not the visit's.
    assert bilateral.start_at == datetime(2026, 1, 16, 2, tzinfo=UTC)
    assert local(bilateral.start_at) == "2026-01-16 11:00"
    assert (bilateral.kind, bilateral.sequence, bilateral.timezone) == ("meeting", 2, "Europe/Rome")
    departure = rows["p4rt3nz4r0m4@google.com"]
    assert (departure.precision, departure.status) == ("day", "tentative")
    assert departure.start_at == datetime(2026, 1, 16, 15, tzinfo=UTC)  # 17 Jan 00:00 in Tokyo
    assert departure.end_at == datetime(2026, 1, 17, 15, tzinfo=UTC)
    # The council meeting in Rome on the 20th is not part of the visit: skipped, said so.
    assert "c0ns1gl10d31m1n1str1@google.com" not in rows
    assert len(result.warnings) == 1
    assert re.match(r"test\.ics:\d+: VEVENT c0ns1gl10d31m1n1str1@google\.com", result.warnings[0])
    assert "outside the visit (2026-01-15 to 2026-01-17); skipped" in result.warnings[0]
    # The seed's summit (day precision) is not in the calendar: a full import cancels it.
    assert [s.key for s in result.cancelled] == ["summit"]


def test_floating_times_without_x_wr_timezone_are_read_in_the_visits_zone(
    seeded: Services,
) -> None:
    run_import(seeded, (FIXTURES / "lee-floating.ics").read_bytes())

    doorstep = segments(seeded)["doorstep"]
    assert doorstep.start_at == datetime(2026, 1, 14, 1, tzinfo=UTC)  # 10:00 in Tokyo
    assert (doorstep.timezone, doorstep.kind) == ("Asia/Tokyo", "press")


def test_recurring_events_are_expanded_within_the_visits_days(seeded: Services) -> None:
    data = (FIXTURES / "recurring-meloni.ics").read_bytes()

    result = run_import(seeded, data, slug=MELONI)
    again = run_import(seeded, data, slug=MELONI)

    rows = segments(seeded, MELONI)
    briefings = sorted(
        (local(s.start_at), s.title, s.kind, s.uid)
        for s in rows.values()
        if s.uid.startswith("press-briefing")
    )
    assert briefings == [
        (
            "2026-01-15 08:30",
            "Morning press briefing",
            "press",
            "press-briefing-20260114T233000Z@delegation.example",
        ),
        # The occurrence the calendar moved (RECURRENCE-ID) keeps its identity.
        (
            "2026-01-16 09:30",
            "Morning press briefing (moved)",
            "press",
            "press-briefing-20260115T233000Z@delegation.example",
        ),
        (
            "2026-01-17 08:30",
            "Morning press briefing",
            "press",
            "press-briefing-20260116T233000Z@delegation.example",
        ),
    ]
    lunches = sorted(local(s.start_at) for s in rows.values() if s.uid.startswith("working-lunch"))
    assert lunches == ["2026-01-15 12:30", "2026-01-17 12:30"]  # Thursday and Saturday
    assert {s.kind for s in rows.values() if s.uid.startswith("working-lunch")} == {"meal"}
    assert len(result.added) == 5
    assert rows["press-briefing-20260114t233000z"].key == "press-briefing-20260114t233000z"
    assert {s.change for s in again.segments} == {"unchanged"}


def test_text_with_commas_semicolons_backslashes_newlines_and_cjk_survives_import(
    seeded: Services,
) -> None:
    run_import(seeded, (FIXTURES / "lee-text.ics").read_bytes())

    banquet = segments(seeded)["banquet-2026-01-13"]
    assert banquet.title == "Banquet, toasts; speeches \\ 만찬 (晩餐会)"
    assert banquet.location == "Nara Hotel, 1096 Takabatake-cho; Nara"
    assert banquet.description == (
        "Line one\nLine two, with a comma; and a semicolon\nA backslash: \\ (one)\n한국어와 日本語"
    )
    assert (banquet.kind, banquet.tags) == ("meal", ["Dinner"])
    # And through our own feed and back: the same text, nothing changed.
    before = snapshot(seeded)
    result = run_import(seeded, feed_text(seeded))
    assert {s.change for s in result.segments} == {"unchanged"}
    assert snapshot(seeded) == before


# --- bad input: refused with the line, nothing changed ---


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("not-icalendar.html", r"not-icalendar\.html:1: file: not iCalendar data"),
        (
            "unknown-tzid.ics",
            r"unknown-tzid\.ics:7: VEVENT summit@protocol\.example\.DTSTART: TZID 'Asia/Nara' is "
            r"neither defined by a VTIMEZONE in the file nor a known time zone",
        ),
        (
            "missing-dtstart.ics",
            r"missing-dtstart\.ics:10: VEVENT dinner@protocol\.example: DTSTART is missing",
        ),
    ],
)
def test_malformed_calendars_are_refused_naming_the_line_and_nothing_changes(
    seeded: Services, fixture: str, message: str
) -> None:
    before = snapshot(seeded)

    result = cli(seeded, "import", str(FIXTURES / fixture), "--visit", LEE)

    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        (b"", "file: is empty, not iCalendar data"),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
            "line 1: VCALENDAR: BEGIN:VCALENDAR is never closed",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260113T100000\r\n"
            b"END:VCALENDAR\r\n",
            "line 5: VCALENDAR: END:VCALENDAR does not close BEGIN:VEVENT (line 2)",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:13 January\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n",
            "line 4: VEVENT x.DTSTART:",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260113T100000\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n",
            "line 2: VEVENT: UID is missing",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260113T100000\r\n"
            b"DTEND:20260113T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "line 5: VEVENT x.DTEND: 2026-01-13 09:00:00+09:00 is before DTSTART",
        ),
        (
            b"BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Asia/Nara\r\nEND:VCALENDAR\r\n",
            "line 2: VCALENDAR.X-WR-TIMEZONE: 'Asia/Nara' is not an IANA time zone",
        ),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "line 2: file: is not UTF-8 text"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260113T000000\r\n"
            b"RRULE:FREQ=HOURLY;BYMINUTE=0,4,8,12,16,20,24,28,32,36,40,44,48,52,56\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n",
            "line 5: VEVENT x.RRULE: more than 500 occurrences within the visit's days",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260113T000000\r\n"
            b"RRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "line 5: VEVENT x.RRULE: FREQ=MINUTELY: a visit's events do not repeat more often "
            "than hourly",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260113T100000\r\n"
            b"STATUS:POSTPONED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "line 5: VEVENT x.STATUS: 'POSTPONED' is not one of TENTATIVE, CONFIRMED, CANCELLED",
        ),
    ],
)
def test_calendar_errors_say_where_and_why(calendar: bytes, message: str) -> None:
    from feeds.ical_import import CalendarFormatError

    with pytest.raises(CalendarFormatError) as raised:
        parse_calendar(
            calendar,
            zone="Asia/Tokyo",
            first_day=datetime(2026, 1, 13).date(),
            last_day=datetime(2026, 1, 14).date(),
            max_bytes=10_000,
        )
    assert message in str(raised.value)


def test_a_calendar_with_nothing_in_the_visits_days_is_refused_not_taken_as_empty(
    seeded: Services,
) -> None:
    before = snapshot(seeded)

    with pytest.raises(InputError) as raised:
        run_import(seeded, (FIXTURES / "google-meloni.ics").read_bytes())

    assert str(raised.value).startswith(
        "test.ics: calendar: no event falls within the visit's days (2026-01-13 to 2026-01-14)"
    )
    assert snapshot(seeded) == before


def test_zones_defined_in_the_file_and_windows_zone_names_are_read_at_the_right_instants() -> None:
    calendar = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Outlook//EN\r\n"
        b"BEGIN:VTIMEZONE\r\nTZID:Korea Custom\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        b"TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        b'BEGIN:VEVENT\r\nUID:a@x\r\nDTSTART;TZID="Korea Custom":20260113T150000\r\n'
        b"END:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b@x\r\nDTSTART;TZID=Tokyo Standard Time:20260113T160000\r\n"
        b"DURATION:PT45M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    a, b = parse_calendar(
        calendar,
        zone="Asia/Tokyo",
        first_day=datetime(2026, 1, 13).date(),
        last_day=datetime(2026, 1, 14).date(),
        max_bytes=10_000,
    )

    assert (a.start, a.end, a.zone) == (
        datetime(2026, 1, 13, 6, tzinfo=UTC),
        datetime(2026, 1, 13, 6, tzinfo=UTC),
        "Asia/Tokyo",  # a zone of the file's own: the segment is kept in the visit's
    )
    assert (b.start, b.end, b.zone) == (
        datetime(2026, 1, 13, 7, tzinfo=UTC),
        datetime(2026, 1, 13, 7, 45, tzinfo=UTC),
        "Asia/Tokyo",
    )


def test_a_uid_used_twice_or_owned_by_another_visit_is_refused(seeded: Services) -> None:
    before = snapshot(seeded)
    twice = add_event(feed_text(seeded), PRESS_EVENT + PRESS_EVENT)
    with pytest.raises(
        InputError,
        match=r"test\.ics:\d+: VEVENT press-2026-01-13@mofa\.go\.jp: "
        r"UID also used by the event at line \d+",
    ):
        run_import(seeded, twice)
    meloni_uid = f"{MELONI}.summit@visitcal"
    stolen = add_event(feed_text(seeded), PRESS_EVENT.replace(PRESS_UID, meloni_uid))
    with pytest.raises(InputError, match=f"belongs to a segment of visit '{MELONI}'"):
        run_import(seeded, stolen)
    assert snapshot(seeded) == before


def test_a_file_over_the_size_limit_is_refused(seeded: Services, tmp_path: Path) -> None:
    calendar = feed_bytes(seeded)
    limit = len(calendar) - 1
    path = tmp_path / "big.ics"
    path.write_bytes(calendar)
    before = snapshot(seeded)

    result = cli(seeded, "import", str(path), "--visit", LEE, import_max_bytes=limit)
    seeded.catalog.settings = seeded.settings.model_copy(update={"import_max_bytes": limit})
    with pytest.raises(InputError) as raised:
        run_import(seeded, calendar)

    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: {path}: file: is {len(calendar):,} bytes, over the limit of {limit:,} bytes"
    )
    assert str(raised.value) == (
        f"test.ics: file: is {len(calendar):,} bytes, over the limit of {limit:,} bytes"
    )
    assert snapshot(seeded) == before


def test_unknown_visit_and_missing_file_are_one_line_errors(
    seeded: Services, tmp_path: Path
) -> None:
    missing = cli(seeded, "import", str(tmp_path / "nope.ics"), "--visit", LEE)
    unknown = cli(seeded, "import", str(FIXTURES / "lee-text.ics"), "--visit", "no-such-visit")

    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: {tmp_path / 'nope.ics'}: file: no such file"
    assert unknown.exit_code == 3
    assert unknown.output.strip() == "error: no visit 'no-such-visit'"


# --- URLs ---


def test_import_from_a_url_over_real_http(seeded: Services, calendars: CalendarServer) -> None:
    url = f"{calendars.url}/redirect/lee-text.ics"  # one redirect on the way, checked too

    dry = cli(seeded, "import", url, "--visit", LEE, "--dry-run", import_allow_private="true")
    real = cli(seeded, "import", url, "--visit", LEE, import_allow_private="true")

    assert dry.exit_code == 0, dry.output
    assert "added" in dry.output and "banquet-2026-01-13" in dry.output
    assert real.exit_code == 0, real.output
    banquet = segments(seeded)["banquet-2026-01-13"]
    assert banquet.uid == "banquet-2026-01-13@protocol.example"
    with seeded.db.session() as session:
        actors = {
            c.actor for c in session.exec(select(Change).where(Change.segment_key == banquet.key))
        }
    # The history names the host only: an address's path, query and user can be secrets.
    assert actors == {f"import:{calendars.url}/…"}


def test_loopback_urls_are_refused_unless_settings_allow_them(
    seeded: Services, calendars: CalendarServer
) -> None:
    before = snapshot(seeded)
    url = f"{calendars.url}/lee-text.ics"

    refused = cli(seeded, "import", url, "--visit", LEE)
    by_name = cli(seeded, "import", url.replace("127.0.0.1", "localhost"), "--visit", LEE)

    assert refused.exit_code == 2
    assert refused.output.strip() == (
        f"error: url: {url}: 127.0.0.1 is 127.0.0.1, a loopback, private or link-local address; "
        "imports from such addresses are off (setting import_allow_private)"
    )
    assert by_name.exit_code == 2 and "a loopback, private or link-local address" in by_name.output
    assert snapshot(seeded) == before


def test_every_redirect_is_checked_like_the_first_url(seeded: Services) -> None:
    with CalendarServer(redirects={"/to-ftp": "ftp://127.0.0.1/lee.ics"}) as server:
        allow_private(seeded)
        with pytest.raises(InputError) as raised:
            run_import(seeded, fetch_calendar(f"{server.url}/to-ftp", seeded.settings))
        without = cli(seeded, "import", f"{server.url}/redirect/lee-text.ics", "--visit", LEE)

    assert str(raised.value) == (
        "url: ftp://127.0.0.1/lee.ics: only http and https URLs can be imported"
    )
    assert without.exit_code == 2 and "import_allow_private" in without.output


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/schedule.ics", "only http and https URLs can be imported"),
        ("file:///etc/passwd", "only http and https URLs can be imported"),
        ("webcal://example.org/x.ics", "use https:// for a webcal:// link"),
        ("http://10.0.0.1/x.ics", "10.0.0.1 is 10.0.0.1, a loopback, private or link-local"),
        ("http://169.254.169.254/latest", "a loopback, private or link-local address"),
        ("http://[::1]:8000/x.ics", "::1 is ::1, a loopback, private or link-local address"),
        ("http://[::ffff:127.0.0.1]/x", "a loopback, private or link-local address"),
    ],
)
def test_urls_that_are_not_public_http_are_refused_before_any_request(
    seeded: Services, url: str, reason: str
) -> None:
    before = snapshot(seeded)

    result = cli(seeded, "import", url, "--visit", LEE)

    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: url: {url}: ")
    assert reason in result.output
    assert snapshot(seeded) == before


def test_a_url_that_does_not_answer_is_a_clear_error(seeded: Services) -> None:
    before = snapshot(seeded)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections (the kernel does) and never answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    try:
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/schedule.ics"
        closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/schedule.ics"
        settings = {"import_allow_private": "true", "import_timeout_seconds": "0.5"}

        timed_out = cli(seeded, "import", silent_url, "--visit", LEE, **settings)
        refused = cli(seeded, "import", closed_url, "--visit", LEE, **settings)
    finally:
        silent.close()
        closed.close()

    assert timed_out.exit_code == 2
    assert timed_out.output.strip() == f"error: url: {silent_url}: did not answer within 0.5 s"
    assert refused.exit_code == 2
    assert refused.output.startswith(f"error: url: {closed_url}: cannot be fetched")
    assert snapshot(seeded) == before


def test_a_download_over_the_size_limit_is_refused(seeded: Services) -> None:
    with CalendarServer({"/big.ics": b"BEGIN:VCALENDAR\r\n" + b"X" * 10_000}) as server:
        result = cli(
            seeded,
            "import",
            f"{server.url}/big.ics",
            "--visit",
            LEE,
            import_allow_private="true",
            import_max_bytes="5000",
        )
        missing = cli(
            seeded, "import", f"{server.url}/gone.ics", "--visit", LEE, import_allow_private="true"
        )

    assert result.exit_code == 2
    assert "over the limit of 5,000 bytes" in result.output
    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: url: {server.url}/gone.ics: answered 404 Not Found"


# --- over HTTP ---


@pytest.fixture
def organizer(seeded: Services) -> dict[str, str]:
    token = create_token(seeded.db, "press-office", NOW)
    return {"Authorization": f"Bearer {token}"}


def test_http_import_needs_an_organizer_token(live: LiveServer, seeded: Services) -> None:
    before = snapshot(seeded)
    body = (FIXTURES / "lee-text.ics").read_bytes()

    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(
            f"{live.url}/visits/{LEE}/import",
            content=body,
            headers={"Content-Type": "text/calendar", **headers},
        )
        assert response.status_code == 401
    assert snapshot(seeded) == before


def test_http_import_of_a_body_with_dry_run_then_for_real(
    live: LiveServer, seeded: Services, organizer: dict[str, str]
) -> None:
    text = edit_event(
        drop_event(feed_text(seeded), DINNER_UID),
        SUMMIT_UID,
        dtstart="DTSTART;TZID=Asia/Tokyo:20260113T150000",
        dtend="DTEND;TZID=Asia/Tokyo:20260113T163000",
    )
    body = add_event(text, PRESS_EVENT).encode()
    headers = {"Content-Type": "text/calendar; charset=utf-8", **organizer}
    url = f"{live.url}/visits/{LEE}/import"
    before = snapshot(seeded)

    dry = httpx.post(url, params={"dry_run": "true"}, content=body, headers=headers)

    assert dry.status_code == 200, dry.text
    assert snapshot(seeded) == before
    answer = dry.json()
    assert answer["dry_run"] is True
    assert [s["key"] for s in answer["added"]] == ["press-2026-01-13"]
    assert [s["uid"] for s in answer["added"]] == [PRESS_UID]
    [summit] = answer["changed"]
    assert summit["change"] == "refined"
    fields = {f["field"]: (f["before"], f["after"]) for f in summit["fields"]}
    assert fields["precision"] == ("part_of_day", "exact")
    assert datetime.fromisoformat(fields["start_at"][1]) == datetime(2026, 1, 13, 6, tzinfo=UTC)
    assert [s["key"] for s in answer["cancelled"]] == ["dinner"]
    assert len(answer["unchanged"]) == 4

    real = httpx.post(url, content=body, headers=headers)

    assert real.status_code == 200, real.text
    assert {k: v for k, v in real.json().items() if k != "dry_run"} == {
        k: v for k, v in answer.items() if k != "dry_run"
    }
    feed = httpx.get(f"{live.url}/feeds/visits/{LEE}.ics")
    assert PRESS_UID in feed.text
    with seeded.db.session() as session:
        actors = {
            c.actor for c in session.exec(select(Change).where(Change.segment_key == "dinner"))
        }
    assert "press-office (import:body)" in actors


def test_http_import_from_a_url(
    live: LiveServer, seeded: Services, organizer: dict[str, str], calendars: CalendarServer
) -> None:
    url = f"{live.url}/visits/{MELONI}/import"
    source = {"url": f"{calendars.url}/google-meloni.ics"}

    refused = httpx.post(url, json=source, headers=organizer)
    allow_private(seeded)
    imported = httpx.post(url, json=source, headers=organizer)

    assert refused.status_code == 422
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "url"]
    assert "a loopback, private or link-local address" in detail["msg"]
    assert imported.status_code == 200, imported.text
    assert len(imported.json()["added"]) == 3
    assert imported.json()["warnings"][0].startswith(f"{source['url']}:")


def test_http_import_errors_are_422_naming_the_line(
    live: LiveServer, seeded: Services, organizer: dict[str, str]
) -> None:
    before = snapshot(seeded)
    url = f"{live.url}/visits/{LEE}/import"
    body = (FIXTURES / "unknown-tzid.ics").read_bytes()

    bad = httpx.post(url, content=body, headers={"Content-Type": "text/calendar", **organizer})
    wrong_type = httpx.post(url, content=b"x", headers={"Content-Type": "image/png", **organizer})
    no_visit = httpx.post(
        f"{live.url}/visits/nope/import",
        content=body,
        headers={"Content-Type": "text/calendar", **organizer},
    )
    bad_json = httpx.post(url, json={"link": "x"}, headers=organizer)

    assert bad.status_code == 422
    [detail] = bad.json()["detail"]
    assert detail["loc"] == ["body", "VEVENT summit@protocol.example.DTSTART"]
    assert detail["msg"].endswith("nor a known time zone (line 7)")
    assert wrong_type.status_code == 415
    assert no_visit.status_code == 404
    assert bad_json.status_code == 422
    assert snapshot(seeded) == before


def test_import_route_is_in_the_openapi_schema(live: LiveServer) -> None:
    schema = httpx.get(f"{live.url}/openapi.json").json()
    operation = schema["paths"]["/visits/{slug}/import"]["post"]
    assert set(operation["requestBody"]["content"]) == {"text/calendar", "application/json"}
    assert operation["security"]


# --- keys and kinds ---


def test_segment_keys_derive_from_uids_stay_unique_and_short() -> None:
    assert segment_key("Press-2026-01-13@mofa.go.jp", set()) == "press-2026-01-13"
    assert segment_key("no-at-sign", set()) == "no-at-sign"
    taken = {"summit"}
    other = segment_key("summit@other.example", taken)
    assert re.fullmatch(r"summit-[0-9a-f]{8}", other)
    assert segment_key("summit@other.example", taken) == other  # stable
    assert re.fullmatch(r"event-[0-9a-f]{8}", segment_key("정상회담@korea.kr", set()))
    long = segment_key("x" * 300 + "@example.org", set())
    assert len(long) <= 120 and re.fullmatch(r"x+-[0-9a-f]{8}", long)


@pytest.mark.parametrize(
    ("categories", "kind"),
    [
        (["MEETING"], "meeting"),
        (["Summit"], "meeting"),
        (["Working lunch"], "meal"),
        (["Press conference"], "press"),
        (["Nara", "Departure"], "departure"),
        (["Culture"], None),
        ([], None),
    ],
)
def test_kinds_are_guessed_from_categories(categories: list[str], kind: str | None) -> None:
    assert guess_kind(categories)[0] == kind


def test_with_public_imports_off_a_public_host_is_refused_before_any_lookup() -> None:
    from service.errors import InputError
    from service.schedules.remote_calendar import resolve_checked

    for host in ("calendar.example.org", "93.184.216.34"):
        with pytest.raises(InputError, match="import_allow_public"):
            resolve_checked(f"http://{host}/x.ics", host, 80, True, allow_public=False)
    assert resolve_checked("http://127.0.0.1/x.ics", "127.0.0.1", 80, True, False) == "127.0.0.1"
