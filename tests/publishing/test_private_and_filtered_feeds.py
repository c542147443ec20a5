"""Filtered feeds, saved private feeds with restricted segments, and optional alarms."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar

from service.publishing.private_feeds import create_private_feed, revoke_private_feed
from service.schedules.editing import add_segment, cancel_segment
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE, MELONI

NOW = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.fixture
def client(seeded: Services) -> Iterator[httpx.Client]:
    add_segment(
        seeded.catalog,
        LEE,
        {
            "id": "arrival-time",
            "title": "Arrival at Kintetsu Nara station",
            "kind": "arrival",
            "date": "2026-01-13",
            "start": "13:10",
            "visibility": "restricted",
        },
        "test",
        NOW,
    )
    with LiveServer(seeded) as server, httpx.Client(base_url=server.url) as http:
        yield http


def uids(body: bytes) -> set[str]:
    return {str(event["UID"]) for event in Calendar.from_ical(body).walk("VEVENT")}


def test_kind_and_visit_filters_narrow_the_all_feed(client: httpx.Client) -> None:
    meetings = uids(client.get("/feeds/all.ics?kind=meeting").content)
    assert meetings == {f"{LEE}.summit@visitcal", f"{MELONI}.summit@visitcal"}
    lee_meals = uids(client.get(f"/feeds/all.ics?kind=meal,meeting&visit={LEE}").content)
    assert lee_meals == {f"{LEE}.summit@visitcal", f"{LEE}.dinner@visitcal"}


def test_a_tag_filter_matches_the_visits_tags(client: httpx.Client) -> None:
    italy = uids(client.get("/feeds/all.ics?tag=japan-italy").content)
    assert italy == {f"{MELONI}.summit@visitcal"}


def test_equivalent_queries_give_the_same_bytes_and_etag(client: httpx.Client) -> None:
    first = client.get(f"/feeds/all.ics?kind=meeting,meal&visit={LEE}")
    second = client.get(f"/feeds/all.ics?visit={LEE}&kind=meal&kind=meeting&utm=x")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("kind=dance", "kind"), ("visit=..%2Fetc", "visit"), ("alarms=0m", "alarms")],
)
def test_a_bad_filter_gets_422_naming_the_parameter(
    client: httpx.Client, query: str, field: str
) -> None:
    answer = client.get(f"/feeds/all.ics?{query}")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", field]


def test_public_feeds_never_hold_restricted_segments(client: httpx.Client) -> None:
    for path in ("/feeds/all.ics", f"/feeds/visits/{LEE}.ics", "/feeds/all.ics?kind=arrival"):
        assert b"Kintetsu" not in client.get(path).content, path


def test_a_private_feed_with_restricted_segments_shows_them_until_revoked(
    client: httpx.Client, seeded: Services
) -> None:
    token = create_private_feed(seeded.db, "press-pool", [LEE], [], [], True, NOW)
    path = f"/feeds/private/{token}.ics"
    answer = client.get(path)
    assert answer.status_code == 200
    assert f"{LEE}.arrival-time@visitcal" in uids(answer.content)
    assert f"{MELONI}.summit@visitcal" not in uids(answer.content)
    assert answer.headers["cache-control"].startswith("private")
    revoke_private_feed(seeded.db, "press-pool", NOW)
    assert client.get(path).status_code == 404


def test_a_private_feed_without_restricted_segments_leaves_them_out(
    client: httpx.Client, seeded: Services
) -> None:
    token = create_private_feed(seeded.db, "public-mirror", [], [], [], False, NOW)
    body = client.get(f"/feeds/private/{token}.ics").content
    assert f"{LEE}.arrival-time@visitcal" not in uids(body)
    assert f"{MELONI}.summit@visitcal" in uids(body)


def test_an_unknown_private_token_is_404(client: httpx.Client) -> None:
    assert client.get("/feeds/private/" + "A" * 43 + ".ics").status_code == 404


def test_alarms_are_added_only_on_request(client: httpx.Client) -> None:
    plain = Calendar.from_ical(client.get(f"/feeds/visits/{LEE}.ics").content)
    assert not plain.walk("VALARM")
    with_alarms = Calendar.from_ical(client.get(f"/feeds/visits/{LEE}.ics?alarms=15m,1h").content)
    for event in with_alarms.walk("VEVENT"):
        triggers = sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))
        assert triggers == [-timedelta(hours=1), -timedelta(minutes=15)]


def test_alarms_skip_cancelled_and_whole_day_segments(
    client: httpx.Client, seeded: Services
) -> None:
    cancel_segment(seeded.catalog, LEE, "dinner", "test", NOW)
    body = client.get("/feeds/all.ics?alarms=1h").content
    alarmed = {
        str(event["UID"]): bool(event.walk("VALARM"))
        for event in Calendar.from_ical(body).walk("VEVENT")
    }
    assert alarmed[f"{LEE}.dinner@visitcal"] is False  # cancelled: it will not happen
    assert alarmed[f"{MELONI}.summit@visitcal"] is False  # whole days: "1 h before" means 23:00
    assert alarmed[f"{LEE}.summit@visitcal"] is True


def test_only_clock_times_that_will_happen_block_a_followers_calendar(
    client: httpx.Client, seeded: Services
) -> None:
    token = create_private_feed(seeded.db, "transp", [LEE, MELONI], [], [], True, NOW)
    cancel_segment(seeded.catalog, LEE, "dinner", "test", NOW)
    events = Calendar.from_ical(client.get(f"/feeds/private/{token}.ics").content).walk("VEVENT")
    transp = {str(event["UID"]).split("@")[0]: str(event["TRANSP"]) for event in events}
    assert transp == {
        f"{LEE}.arrival-time": "OPAQUE",  # 13:10: a clock time
        f"{LEE}.arrival": "TRANSPARENT",  # "afternoon": a 5-hour guess
        f"{LEE}.summit": "TRANSPARENT",
        f"{LEE}.dinner": "TRANSPARENT",  # cancelled
        f"{LEE}.exchange": "TRANSPARENT",
        f"{LEE}.korean-community": "TRANSPARENT",
        f"{LEE}.departure": "TRANSPARENT",
        f"{MELONI}.summit": "TRANSPARENT",  # whole days
    }


def test_a_restricted_segment_links_to_no_public_page_that_hides_it(
    client: httpx.Client, seeded: Services
) -> None:
    token = create_private_feed(seeded.db, "press-links", [LEE], [], [], True, NOW)
    events = Calendar.from_ical(client.get(f"/feeds/private/{token}.ics").content).walk("VEVENT")
    urls = {str(event["UID"]).split("@")[0]: event.get("URL") for event in events}
    assert urls[f"{LEE}.arrival-time"] is None
    assert str(urls[f"{LEE}.summit"]).endswith(f"/visits/{LEE}#summit")
    page = client.get(f"/visits/{LEE}").text
    assert 'id="summit"' in page and "arrival-time" not in page


def test_an_approximate_label_says_whose_afternoon_it_is(client: httpx.Client) -> None:
    events = Calendar.from_ical(client.get(f"/feeds/visits/{LEE}.ics").content).walk("VEVENT")
    summaries = {str(event["UID"]).split("@")[0]: str(event["SUMMARY"]) for event in events}
    assert summaries[f"{LEE}.summit"] == (
        "Summit meeting (afternoon in Nara, Japan Time; time to be confirmed)"
    )
