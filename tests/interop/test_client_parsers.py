"""Feeds read by four independent parsers (icalendar, ical in strict mode, vobject and Mozilla's
ical.js, see tests/helpers/parsers.py) give the announced UIDs, UTC instants, status and summary
in any reader's zone; the seed feeds are byte-identical to the golden files in
tests/fixtures/feeds/.

The expected instants are written out by hand from the announcement and config/settings.toml
(morning 09-12, afternoon 13-18, evening 18-22, Asia/Tokyo = UTC+9), never computed by the code
under test.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE

import httpx
import pytest

from service.publishing.feed_store import FeedKey
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.parsers import (
    JS_DIR,
    JS_MISSING,
    JS_READY,
    NODE,
    PARSERS,
    PYTHON_PARSERS,
    PYTHON_READERS,
    READER_ZONES,
    Readers,
    Reading,
    by_uid,
    from_ical_js,
    reading,
)
from tests.helpers.services import FIXTURES, LEE, MELONI, empty_database, load_seed, open_services

GOLDEN_DIR = FIXTURES / "feeds"
SEED_FEEDS = ("lee", "meloni", "all")
# Set to rewrite the golden files from what the service serves now (then review the diff).
REGENERATE = os.environ.get("VISITCAL_REGENERATE_GOLDEN") == "1"


# --- What every parser must read: written out from the announcement, not from our code. ---

TBC = "time to be confirmed"
# Whose afternoon it is: a reader in Rome sees the window at 05:00-10:00 of their own day.
NARA = "in Nara, Japan Time;"


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
        f"Arrival in Nara (afternoon {NARA} {TBC})",
        "2026-01-13T04:00:00Z",
        "2026-01-13T09:00:00Z",
    ),
    timed(
        f"{LEE}.summit@visitcal",
        f"Summit meeting (afternoon {NARA} {TBC})",
        "2026-01-13T04:00:00Z",
        "2026-01-13T09:00:00Z",
    ),
    timed(
        f"{LEE}.dinner@visitcal",
        f"Dinner hosted by Prime Minister Takai (evening {NARA} {TBC})",
        "2026-01-13T09:00:00Z",
        "2026-01-13T13:00:00Z",
    ),
    # 14 January, morning 09:00-12:00 JST = 00:00-03:00Z; afternoon = 04:00-09:00Z.
    timed(
        f"{LEE}.exchange@visitcal",
        f"Exchange activities with both leaders (morning {NARA} {TBC})",
        "2026-01-14T00:00:00Z",
        "2026-01-14T03:00:00Z",
    ),
    timed(
        f"{LEE}.korean-community@visitcal",
        f"Meeting with representatives of the Korean community in Japan (afternoon {NARA} {TBC})",
        "2026-01-14T04:00:00Z",
        "2026-01-14T09:00:00Z",
    ),
    timed(
        f"{LEE}.departure@visitcal",
        f"Return to Korea (afternoon {NARA} {TBC})",
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


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Readers:
    return Readers(tmp_path_factory.mktemp("readers"))


# --- Feeds produced by the real service: seed loaded, served over HTTP on 127.0.0.1. ---


def seed_feed_keys() -> dict[str, FeedKey]:
    return {"lee": FeedKey("visit", LEE), "meloni": FeedKey("visit", MELONI), "all": FeedKey("all")}


@dataclass(frozen=True)
class ServedFeeds:
    backend: str
    over_http: dict[str, bytes]
    from_store: dict[str, bytes]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ServedFeeds:
    """The seed feeds as a subscribed calendar fetches them, once per backend for this file."""
    url = empty_database(request.param, request, tmp_path_factory.mktemp("interop"))
    with open_services(url) as services:
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
    readings = [reading(event) for event in PYTHON_READERS[parser](golden(feed).read_bytes())]
    assert by_uid(readings) == by_uid(EXPECTED[feed])


def test_loading_the_same_schedules_again_later_keeps_every_seed_feed_byte_identical(
    seeded: Services,
) -> None:
    first = {name: seeded.feeds.get(key) for name, key in seed_feed_keys().items()}
    load_seed(seeded, datetime(2026, 1, 20, 8, 30, tzinfo=UTC))  # nothing changed since the 9th
    for name, key in seed_feed_keys().items():
        again = seeded.feeds.get(key)
        assert again is not None and first[name] is not None
        assert again.body == first[name].body, f"{name}: reloading unchanged files changed bytes"
        assert again.etag == first[name].etag
        assert again.body == golden(name).read_bytes()


# --- Local times where the zone's rules matter: DST changes and a year boundary. ---

# The visits of interop/conftest.py's zone_feeds (tests/fixtures/visits/).
EXPECTED_ROME = [
    # 29 March: 01:30 CET (+01:00) to 04:00 CEST (+02:00).
    ("2026-rome.spring@visitcal", "2026-03-29T00:30:00Z", "2026-03-29T02:00:00Z"),
    # 25 October: 01:00 CEST (+02:00) to 04:00 CET (+01:00).
    ("2026-rome.autumn@visitcal", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"),
    # 31 December: 20:00 to 23:30 CET (+01:00).
    ("2026-rome.evening@visitcal", "2026-12-31T19:00:00Z", "2026-12-31T22:30:00Z"),
]
EXPECTED_LOS_ANGELES = [
    # 31 December 2026, 20:00 to 23:30 PST (-08:00): already 1 January 2027 in UTC.
    ("2026-los-angeles.evening@visitcal", "2027-01-01T04:00:00Z", "2027-01-01T07:30:00Z"),
]


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
