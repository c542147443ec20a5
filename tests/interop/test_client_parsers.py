"""Feeds read by four independent parsers (icalendar, ical in strict mode, vobject and Mozilla's
ical.js) give the announced UIDs, UTC instants, status and summary in any reader's zone; the
seed feeds are byte-identical to the golden files in tests/fixtures/feeds/.

The expected instants are written out by hand from the announcement and config/settings.toml
(morning 09-12, afternoon 13-18, evening 18-22, Asia/Tokyo = UTC+9), never computed by the code
under test. Each reader zone runs in its own process with TZ set, as a follower's client would:
a floating time would read differently there. The Python parsers of one zone run in one
subprocess (this file run as a script), ical.js in one node process (tests/js/parse_ics.mjs,
fresh timezone registry per feed); zones run in parallel and results are cached by feed bytes,
so the whole file stays fast.

Run this file as `python tests/interop/test_client_parsers.py FILE...` to print what the Python
parsers read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from subprocess import PIPE
from typing import TYPE_CHECKING, Any

import icalendar
import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

if TYPE_CHECKING:
    from service.publishing.feed_store import FeedKey
    from service.services import Services

TESTS = Path(__file__).resolve().parents[1]
JS_DIR = TESTS / "js"
GOLDEN_DIR = TESTS / "fixtures" / "feeds"
READER_ZONES = ("Asia/Tokyo", "Europe/Rome", "America/Los_Angeles")
PYTHON_PARSERS = ("icalendar", "ical", "vobject")
PARSERS = (*PYTHON_PARSERS, "ical.js")
SEED_FEEDS = ("lee", "meloni", "all")
# Set to rewrite the golden files from what the service serves now (then review the diff).
REGENERATE = os.environ.get("VISITCAL_REGENERATE_GOLDEN") == "1"

Reading = dict[str, Any]  # uid, summary, status, all_day, start, end


# --- What every parser must read: written out from the announcement, not from our code. ---

LEE = "2026-01-lee-jae-myung-nara"
MELONI = "2026-01-meloni-japan"
TBC = "time to be confirmed"


def timed(uid: str, summary: str, start: str, end: str) -> Reading:
    """Announced as a part of a day: tentative, with UTC instants."""
    return dict(uid=uid, summary=summary, status="TENTATIVE", all_day=False, start=start, end=end)


def all_day(uid: str, summary: str, first: str, end: str) -> Reading:
    """An all-day event has no single instant: its dates (end exclusive) are what readers share."""
    return dict(uid=uid, summary=summary, status="TENTATIVE", all_day=True, start=first, end=end)


EXPECTED_LEE = [
    # 13 January, afternoon 13:00-18:00 JST = 04:00-09:00Z; evening 18:00-22:00 = 09:00-13:00Z.
    timed(
        f"{LEE}.arrival@visitcal",
        f"Arrival in Nara (afternoon, {TBC})",
        "2026-01-13T04:00:00Z",
        "2026-01-13T09:00:00Z",
    ),
    timed(
        f"{LEE}.summit@visitcal",
        f"Summit meeting (afternoon, {TBC})",
        "2026-01-13T04:00:00Z",
        "2026-01-13T09:00:00Z",
    ),
    timed(
        f"{LEE}.dinner@visitcal",
        f"Dinner hosted by Prime Minister Takai (evening, {TBC})",
        "2026-01-13T09:00:00Z",
        "2026-01-13T13:00:00Z",
    ),
    # 14 January, morning 09:00-12:00 JST = 00:00-03:00Z; afternoon = 04:00-09:00Z.
    timed(
        f"{LEE}.exchange@visitcal",
        f"Exchange activities with both leaders (morning, {TBC})",
        "2026-01-14T00:00:00Z",
        "2026-01-14T03:00:00Z",
    ),
    timed(
        f"{LEE}.korean-community@visitcal",
        f"Meeting with representatives of the Korean community in Japan (afternoon, {TBC})",
        "2026-01-14T04:00:00Z",
        "2026-01-14T09:00:00Z",
    ),
    timed(
        f"{LEE}.departure@visitcal",
        f"Return to Korea (afternoon, {TBC})",
        "2026-01-14T04:00:00Z",
        "2026-01-14T09:00:00Z",
    ),
]
EXPECTED_MELONI = [
    # The whole visit, Thu 15 to Sat 17 January: DTEND is the day after (exclusive).
    all_day(
        f"{MELONI}.summit@visitcal",
        f"Summit meeting with Prime Minister Takai (date and {TBC})",
        "2026-01-15",
        "2026-01-18",
    ),
]
EXPECTED = {"lee": EXPECTED_LEE, "meloni": EXPECTED_MELONI, "all": EXPECTED_LEE + EXPECTED_MELONI}
FEED_PATHS = {
    "lee": f"/feeds/visits/{LEE}.ics",
    "meloni": f"/feeds/visits/{MELONI}.ics",
    "all": "/feeds/all.ics",
}


def by_uid(readings: list[Reading]) -> list[Reading]:
    """Order is not part of a feed's meaning; UIDs are."""
    return sorted(readings, key=lambda reading: (reading["uid"], reading["start"]))


# --- The Python parsers, as a calendar client built on each would use them. ---


def _utc(moment: datetime) -> str:
    # A floating (naive) time becomes the reader's local time here, as it would in a client.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reading(uid: Any, summary: Any, status: Any, start: date, end: date) -> Reading:
    status = getattr(status, "value", status)  # ical's EventStatus is an enum
    common = {"uid": str(uid), "summary": str(summary), "status": status and str(status)}
    if isinstance(start, datetime) and isinstance(end, datetime):
        return common | {"all_day": False, "start": _utc(start), "end": _utc(end)}
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        return common | {"all_day": True, "start": start.isoformat(), "end": end.isoformat()}
    return common | {"all_day": None, "start": repr(start), "end": repr(end)}  # mixed: wrong


def read_with_icalendar(body: bytes) -> list[Reading]:
    calendar = icalendar.Calendar.from_ical(body)
    return [
        _reading(e["UID"], e["SUMMARY"], e["STATUS"], e.decoded("DTSTART"), e.decoded("DTEND"))
        for e in calendar.walk("VEVENT")
    ]


def read_with_ical(body: bytes) -> list[Reading]:
    # Without ical.compat's enable_compat_mode: the library's strict reading of RFC 5545.
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return [_reading(e.uid, e.summary, e.status, e.dtstart, e.dtend) for e in calendar.events]


def read_with_vobject(body: bytes) -> list[Reading]:
    calendar = vobject.readOne(body.decode("utf-8"))
    return [
        _reading(e.uid.value, e.summary.value, e.status.value, e.dtstart.value, e.dtend.value)
        for e in calendar.contents.get("vevent", [])
    ]


PYTHON_READERS: dict[str, Callable[[bytes], list[Reading]]] = {
    "icalendar": read_with_icalendar,
    "ical": read_with_ical,
    "vobject": read_with_vobject,
}


def read_files_with_python_parsers(paths: list[str]) -> dict[str, dict[str, Any]]:
    """{path: {parser: readings, or {"error": ...}}}: one parser failing does not hide others."""
    results: dict[str, dict[str, Any]] = {}
    for path in paths:
        body = Path(path).read_bytes()
        results[path] = {}
        for name, reader in PYTHON_READERS.items():
            try:
                results[path][name] = reader(body)
            except Exception as error:  # reported by the test of that parser
                results[path][name] = {"error": f"{type(error).__name__}: {error}"}
    return results


# --- Running every parser in every reader zone, batched and cached by feed bytes. ---

NODE = shutil.which("node")
JS_READY = NODE is not None and (JS_DIR / "node_modules" / "ical.js").is_dir()
JS_MISSING = (
    "ical.js interoperability needs node and tests/js/node_modules "
    f"(node: {NODE or 'not found'}); run `make js` to install ical.js"
)


def from_ical_js(event: dict[str, Any]) -> Reading:
    if event["all_day"]:
        start, end = event["start_date"], event["end_date"]
    else:
        start, end = event["start_utc"], event["end_utc"]
    return {
        "uid": event["uid"],
        "summary": event["summary"],
        "status": event["status"],
        "all_day": event["all_day"],
        "start": start,
        "end": end,
    }


class Readers:
    """What each parser reads of a feed in each reader zone; every feed body is read once."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.results: dict[tuple[str, str, str], Any] = {}  # (digest, zone, parser) -> result

    def read(self, bodies: list[bytes]) -> None:
        files: dict[str, Path] = {}
        for body in bodies:
            digest = hashlib.sha256(body).hexdigest()
            if (digest, READER_ZONES[0], "icalendar") not in self.results and digest not in files:
                files[digest] = self.workdir / f"{digest[:16]}.ics"
                files[digest].write_bytes(body)
        if not files:
            return
        paths = [str(path) for path in files.values()]
        running: list[tuple[str, str, subprocess.Popen[bytes]]] = []
        for zone in READER_ZONES:
            env = {**os.environ, "TZ": zone}
            python = [sys.executable, str(Path(__file__)), *paths]
            running.append((zone, "python", subprocess.Popen(python, env=env, stdout=PIPE)))
            if JS_READY:
                node = [str(NODE), str(JS_DIR / "parse_ics.mjs"), *paths]
                running.append((zone, "node", subprocess.Popen(node, env=env, stdout=PIPE)))
        for zone, program, process in running:
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0, f"{program} readers under TZ={zone} crashed"
            by_path = json.loads(out)
            for digest, path in files.items():
                if program == "python":
                    for parser, result in by_path[str(path)].items():
                        self.results[(digest, zone, parser)] = result
                else:
                    events = by_path[str(path)]
                    result = events if isinstance(events, dict) else list(map(from_ical_js, events))
                    self.results[(digest, zone, "ical.js")] = result

    def in_every_zone(self, parser: str, body: bytes) -> dict[str, Any]:
        """{zone: sorted readings} for one parser; fails the test with the parser's error."""
        if parser == "ical.js" and not JS_READY:
            pytest.skip(JS_MISSING)
        self.read([body])
        digest = hashlib.sha256(body).hexdigest()
        seen: dict[str, Any] = {}
        for zone in READER_ZONES:
            result = self.results[(digest, zone, parser)]
            if isinstance(result, dict):
                pytest.fail(f"{parser} could not read the feed under TZ={zone}: {result['error']}")
            seen[zone] = by_uid(result)
        return seen


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Readers:
    return Readers(tmp_path_factory.mktemp("readers"))


# --- Feeds produced by the real service: seed loaded, served over HTTP on 127.0.0.1. ---
# This file is also the Python readers' subprocess, so the service, conftest and httpx are
# imported where they are used: the readers start in a fraction of the time.


@contextmanager
def migrated_services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[Services]:
    """A fresh database of the backend with the real services on it, as conftest builds them."""
    from service.services import Services
    from tests.helpers.services import fresh_postgres, make_settings

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('interop') / 'visitcal.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        fresh_postgres(url)
    services = Services.build(make_settings(url))
    services.db.migrate()
    try:
        yield services
    finally:
        services.close()


def seed_feed_keys() -> dict[str, FeedKey]:
    from service.publishing.feed_store import FeedKey

    return {"lee": FeedKey("visit", LEE), "meloni": FeedKey("visit", MELONI), "all": FeedKey("all")}


@dataclass(frozen=True)
class ServedFeeds:
    backend: str
    over_http: dict[str, bytes]
    from_store: dict[str, bytes]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ServedFeeds:
    """The seed feeds as a subscribed calendar fetches them, once per backend for this file."""
    import httpx

    from tests.helpers.live_server import LiveServer
    from tests.helpers.services import load_seed

    with migrated_services(request, tmp_path_factory, request.param) as services:
        load_seed(services)  # now = 2026-01-09T12:00Z, base_url http://visitcal.test
        over_http = {}
        with LiveServer(services) as server:
            for name, path in FEED_PATHS.items():
                response = httpx.get(server.url + path)
                assert response.status_code == 200, f"GET {path}: {response.status_code}"
                over_http[name] = response.content
        from_store = {}
        for name, key in seed_feed_keys().items():
            feed = services.feeds.get(key)
            assert feed is not None, f"FeedStore.get({key}) found nothing"
            from_store[name] = feed.body
    return ServedFeeds(request.param, over_http, from_store)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("feed", SEED_FEEDS)
def test_parser_reads_announced_uids_utc_instants_status_and_summary_in_every_reader_zone(
    served: ServedFeeds, zone_feeds: dict[str, bytes], readers: Readers, feed: str, parser: str
) -> None:
    # One batch of subprocesses for every feed this file reads: each costs a parser start-up.
    readers.read([*served.over_http.values(), *zone_feeds.values()])
    seen = readers.in_every_zone(parser, served.over_http[feed])
    assert seen == {zone: by_uid(EXPECTED[feed]) for zone in READER_ZONES}


# --- Golden files: the seed feeds, byte for byte and by meaning. ---

GOLDEN_FILES = {"lee": f"{LEE}.ics", "meloni": f"{MELONI}.ics", "all": "all.ics"}


def golden(feed: str) -> Path:
    return GOLDEN_DIR / GOLDEN_FILES[feed]


def test_ical_js_reader_gives_the_same_events_for_a_feed_on_stdin_and_by_path() -> None:
    if not JS_READY:
        pytest.skip(JS_MISSING)
    script, path = str(JS_DIR / "parse_ics.mjs"), golden("all")
    on_stdin = subprocess.run([str(NODE), script], input=path.read_bytes(), stdout=PIPE, check=True)
    by_path = subprocess.run([str(NODE), script, str(path)], stdout=PIPE, check=True)
    events = json.loads(on_stdin.stdout)
    assert events == json.loads(by_path.stdout)[str(path)]
    assert by_uid([from_ical_js(event) for event in events]) == by_uid(EXPECTED["all"])


@pytest.mark.parametrize("feed", SEED_FEEDS)
def test_seed_feed_served_over_http_and_from_store_is_byte_identical_to_golden_file(
    served: ServedFeeds, feed: str
) -> None:
    body = served.over_http[feed]
    assert body == served.from_store[feed], "HTTP serves other bytes than FeedStore.get"
    if REGENERATE:
        golden(feed).parent.mkdir(parents=True, exist_ok=True)
        golden(feed).write_bytes(body)
        pytest.skip(f"rewrote {golden(feed)}: review `git diff` before committing")
    assert body == golden(feed).read_bytes(), (
        f"the {feed} feed on {served.backend} differs from {golden(feed)}; if the change is "
        "intended, rerun with VISITCAL_REGENERATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("parser", PYTHON_PARSERS)
@pytest.mark.parametrize("feed", SEED_FEEDS)
def test_golden_file_means_the_announced_uids_instants_status_and_summary(
    feed: str, parser: str
) -> None:
    readings = PYTHON_READERS[parser](golden(feed).read_bytes())
    assert by_uid(readings) == by_uid(EXPECTED[feed])


def test_loading_the_same_schedules_again_later_keeps_every_seed_feed_byte_identical(
    seeded: Services,
) -> None:
    from tests.helpers.services import load_seed

    first = {name: seeded.feeds.get(key) for name, key in seed_feed_keys().items()}
    load_seed(seeded, datetime(2026, 1, 20, 8, 30, tzinfo=UTC))  # nothing changed since the 9th
    for name, key in seed_feed_keys().items():
        again = seeded.feeds.get(key)
        assert again is not None and first[name] is not None
        assert again.body == first[name].body, f"{name}: reloading unchanged files changed bytes"
        assert again.etag == first[name].etag
        assert again.body == golden(name).read_bytes()


# --- Local times where the zone's rules matter: DST changes and a year boundary. ---

ROME_DST = """\
[visit]
slug = "2026-rome-dst"
title = "Visit to Rome across both DST changes"
timezone = "Europe/Rome"
first_day = 2026-03-28
last_day = 2026-10-25

[visit.guest]
name = "Guest of Rome"

[[segment]]
id = "spring"
title = "Night meeting as clocks go forward"
kind = "meeting"
date = 2026-03-29
start = "01:30"
end = "04:00"

[[segment]]
id = "autumn"
title = "Night meeting as clocks go back"
kind = "meeting"
date = 2026-10-25
start = "01:00"
end = "04:00"
"""

LOS_ANGELES_NEW_YEAR = """\
[visit]
slug = "2026-los-angeles-new-year"
title = "New Year's Eve in Los Angeles"
timezone = "America/Los_Angeles"
first_day = 2026-12-31
last_day = 2027-01-01

[visit.guest]
name = "Guest of Los Angeles"

[[segment]]
id = "eve"
title = "New Year's Eve reception"
kind = "ceremony"
date = 2026-12-31
start = "20:00"
end = "23:30"
"""

EXPECTED_ROME = [
    # 29 March: 01:30 CET (+01:00) to 04:00 CEST (+02:00).
    ("2026-rome-dst.spring@visitcal", "2026-03-29T00:30:00Z", "2026-03-29T02:00:00Z"),
    # 25 October: 01:00 CEST (+02:00) to 04:00 CET (+01:00).
    ("2026-rome-dst.autumn@visitcal", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"),
]
EXPECTED_LOS_ANGELES = [
    # 31 December 2026, 20:00 to 23:30 PST (-08:00): already 1 January 2027 in UTC.
    ("2026-los-angeles-new-year.eve@visitcal", "2027-01-01T04:00:00Z", "2027-01-01T07:30:00Z"),
]


@pytest.fixture(scope="module")
def zone_feeds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    from service.publishing.feed_store import FeedKey
    from service.schedules.files import parse_schedule

    with migrated_services(request, tmp_path_factory, "sqlite") as services:
        windows = services.settings.part_of_day
        schedules = [
            parse_schedule(ROME_DST, Path("rome.toml"), windows),
            parse_schedule(LOS_ANGELES_NEW_YEAR, Path("los-angeles.toml"), windows),
        ]
        services.catalog.apply(schedules, datetime(2026, 1, 9, 12, tzinfo=UTC))
        services.feeds.invalidate()
        feeds = {
            "rome": services.feeds.get(FeedKey("visit", "2026-rome-dst")),
            "los-angeles": services.feeds.get(FeedKey("visit", "2026-los-angeles-new-year")),
        }
    return {name: feed.body for name, feed in feeds.items() if feed is not None}


def instants(seen: dict[str, list[Reading]]) -> dict[str, list[tuple[str, str, str]]]:
    return {zone: [(r["uid"], r["start"], r["end"]) for r in rs] for zone, rs in seen.items()}


@pytest.mark.parametrize("parser", PARSERS)
def test_parser_reads_local_times_across_rome_dst_changes_as_the_right_utc_instants(
    zone_feeds: dict[str, bytes], readers: Readers, parser: str
) -> None:
    readers.read(list(zone_feeds.values()))
    seen = readers.in_every_zone(parser, zone_feeds["rome"])
    assert instants(seen) == {zone: sorted(EXPECTED_ROME) for zone in READER_ZONES}


@pytest.mark.parametrize("parser", [*PYTHON_PARSERS, "ical.js"])
def test_parser_reads_new_years_eve_west_of_utc_as_the_right_utc_instant(
    zone_feeds: dict[str, bytes], readers: Readers, parser: str
) -> None:
    readers.read(list(zone_feeds.values()))
    seen = readers.in_every_zone(parser, zone_feeds["los-angeles"])
    assert instants(seen) == {zone: EXPECTED_LOS_ANGELES for zone in READER_ZONES}


if __name__ == "__main__":
    json.dump(read_files_with_python_parsers(sys.argv[1:]), sys.stdout)
