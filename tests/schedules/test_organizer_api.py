"""Organizers edit schedules over HTTP: tokens, the catalog's rules, If-Match, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import col, select

from service.models import Change, Reminder, Segment
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.schedules.organizer_tokens import create_token, revoke_token
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE

SEGMENT = f"/api/visits/{LEE}/segments"


@pytest.fixture
def organizer(seeded: Services) -> Iterator[tuple[httpx.Client, dict[str, str], Services]]:
    token = create_token(seeded.db, "press-office", datetime.now(UTC))
    with LiveServer(seeded) as server, httpx.Client(base_url=server.url) as client:
        yield client, {"Authorization": f"Bearer {token}"}, seeded


def _events(client: httpx.Client) -> dict[str, Calendar]:
    calendar = Calendar.from_ical(client.get(f"/feeds/visits/{LEE}.ics").content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def _counts(services: Services) -> tuple[int, int, int]:
    with services.db.session() as session:
        return (
            len(session.exec(select(Segment)).all()),
            len(session.exec(select(Change)).all()),
            services.db.catalog_version(),
        )


def test_refining_afternoon_to_a_clock_time_keeps_the_uid_and_bumps_sequence(organizer) -> None:
    client, auth, _services = organizer
    uid = f"{LEE}.summit@visitcal"
    before = _events(client)[uid]
    answer = client.patch(
        f"{SEGMENT}/summit", json={"start": "15:00", "end": "16:30"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"seq-1"'
    after = _events(client)[uid]
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after["STATUS"] == "CONFIRMED"
    assert after.decoded("DTSTART") == datetime(2026, 1, 13, 6, 0, tzinfo=UTC)
    assert after.decoded("DTEND") == datetime(2026, 1, 13, 7, 30, tzinfo=UTC)
    assert "time to be confirmed" not in str(after["SUMMARY"])


def test_a_stale_if_match_gets_412_and_changes_nothing(organizer) -> None:
    client, auth, services = organizer
    first = client.patch(
        f"{SEGMENT}/summit", json={"start": "15:00"}, headers={**auth, "If-Match": '"seq-0"'}
    )
    assert first.status_code == 200
    counts = _counts(services)
    stale = client.patch(
        f"{SEGMENT}/summit", json={"title": "Other"}, headers={**auth, "If-Match": '"seq-0"'}
    )
    assert stale.status_code == 412
    assert _counts(services) == counts
    assert "Other" not in client.get(f"/feeds/visits/{LEE}.ics").text
    # A weak tag never matches (If-Match compares strongly), even one of the current sequence.
    weak = client.patch(
        f"{SEGMENT}/summit", json={"title": "Other"}, headers={**auth, "If-Match": 'W/"seq-1"'}
    )
    assert weak.status_code == 412, weak.text
    assert _counts(services) == counts
    assert "Other" not in client.get(f"/feeds/visits/{LEE}.ics").text


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_writes_without_a_valid_token_get_401_and_change_nothing(organizer, header) -> None:
    client, _auth, services = organizer
    counts = _counts(services)
    headers = {"Authorization": header} if header else {}
    answer = client.patch(f"{SEGMENT}/summit", json={"title": "X"}, headers=headers)
    assert answer.status_code == 401
    assert _counts(services) == counts


def test_a_revoked_token_gets_401(organizer) -> None:
    client, auth, services = organizer
    revoke_token(services.db, "press-office", datetime.now(UTC))
    assert client.patch(f"{SEGMENT}/summit", json={"title": "X"}, headers=auth).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-01-20"}, "date"),
        ({"kind": "dance"}, "kind"),
        ({"start": "17:00", "end": "16:00"}, "end"),
        ({"start": "25:00"}, "start"),
        ({"title": "x" * 301}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_get_422_naming_the_field_and_change_nothing(organizer, body, field) -> None:
    client, auth, services = organizer
    counts = _counts(services)
    answer = client.patch(f"{SEGMENT}/summit", json=body, headers=auth)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"][0]["loc"]
    assert _counts(services) == counts


def test_an_unknown_zone_for_a_new_visit_is_refused(organizer) -> None:
    client, auth, _services = organizer
    body = {
        "slug": "new-visit",
        "title": "New",
        "timezone": "Mars/Olympus",
        "first_day": "2026-02-01",
        "last_day": "2026-02-02",
        "guest": {"name": "A"},
    }
    answer = client.post("/api/visits", json=body, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "timezone"
    assert client.get("/feeds/visits/new-visit.ics").status_code == 404


def test_a_restricted_segment_stays_out_of_public_feeds_pages_and_history(organizer) -> None:
    client, auth, _services = organizer
    body = {
        "id": "arrival-time",
        "title": "Arrival at Kintetsu Nara station",
        "kind": "arrival",
        "date": "2026-01-13",
        "start": "13:10",
        "visibility": "restricted",
    }
    assert client.post(SEGMENT, json=body, headers=auth).status_code == 201
    for path in (
        "/feeds/all.ics",
        f"/feeds/visits/{LEE}.ics",
        f"/visits/{LEE}.ics",
        f"/visits/{LEE}/changes",
        f"/visits/{LEE}/changes.atom",
    ):
        assert "Kintetsu" not in client.get(path).text, path
    assert client.get(f"/visits/{LEE}/segments/arrival-time.ics").status_code == 404


def test_cancel_keeps_the_segment_in_the_feed_and_hard_delete_removes_it(organizer) -> None:
    client, auth, _services = organizer
    uid = f"{LEE}.dinner@visitcal"
    assert client.delete(f"{SEGMENT}/dinner", headers=auth).status_code == 204
    assert _events(client)[uid]["STATUS"] == "CANCELLED"
    assert client.delete(f"{SEGMENT}/dinner?hard=true", headers=auth).status_code == 204
    assert uid not in _events(client)
    history = client.get(f"/visits/{LEE}/changes").json()
    assert [c["kind"] for c in history[:2]] == ["deleted", "cancelled"]
    assert history[0]["actor"] == "press-office"


def test_a_new_press_segment_appears_with_a_stable_uid_and_twice_is_a_conflict(organizer) -> None:
    client, auth, services = organizer
    created = create_subscription(
        services.db,
        services.settings,
        SubscriptionRequest(channel="json://127.0.0.1:9/", visits=[LEE], offsets=["1h"]),
        datetime(2026, 1, 10, tzinfo=UTC),
        confirmed=True,
    )
    body = {"id": "press", "title": "Joint press announcement", "kind": "press",
            "date": "2026-01-13", "start": "17:00"}  # fmt: skip
    answer = client.post(SEGMENT, json=body, headers=auth)
    assert answer.status_code == 201
    assert answer.json()["uid"] == f"{LEE}.press@visitcal"
    assert f"{LEE}.press@visitcal" in _events(client)
    # January 2026 is past: a reminder for a segment that has started is never planned.
    with services.db.session() as session:
        rows = session.exec(
            select(Reminder)
            .join(Segment, col(Segment.id) == col(Reminder.segment_id))
            .where(col(Reminder.subscription_id) == created.subscription.id, Segment.key == "press")
        ).all()
    assert rows == []
    assert client.post(SEGMENT, json=body, headers=auth).status_code == 409


def test_history_says_who_changed_what_before_and_after(organizer) -> None:
    client, auth, _services = organizer
    client.patch(f"{SEGMENT}/summit", json={"location": "Nara Hotel"}, headers=auth)
    latest = client.get(f"/visits/{LEE}/changes").json()[0]
    assert latest["segment"] == "summit"
    assert latest["actor"] == "press-office"
    assert latest["before"] == {"location": "Nara"}
    assert latest["after"] == {"location": "Nara Hotel"}
    atom = client.get(f"/visits/{LEE}/changes.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert "Nara Hotel" in atom.text
