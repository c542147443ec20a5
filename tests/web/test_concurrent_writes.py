"""Organizers writing at once over real HTTP, on SQLite and PostgreSQL: one winner, nothing lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import col, select

from service.models import Change, Segment, Visit
from service.schedules.organizer_tokens import create_token
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE

SEGMENTS = f"/api/visits/{LEE}/segments"
SUMMIT_UID = f"{LEE}.summit@visitcal"


@dataclass
class Desk:
    """Organizers' desks against one live server."""

    url: str
    auth: dict[str, str]
    services: Services

    def race(self, requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
        """Send the requests at once, each from its own client; their status codes in order."""
        start = threading.Barrier(len(requests))

        def send(request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
            with httpx.Client(base_url=self.url, headers=self.auth, timeout=60) as client:
                start.wait()
                return request(client)

        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(send, requests))
        for answer in answers:
            assert answer.status_code < 500, answer.text
        return [answer.status_code for answer in answers]

    def segment(self, key: str, slug: str = LEE) -> Segment | None:
        with self.services.db.session() as session:
            visit = session.exec(select(Visit).where(Visit.slug == slug)).first()
            if visit is None:
                return None
            return session.exec(
                select(Segment).where(Segment.visit_id == visit.id, Segment.key == key)
            ).first()

    def history(self, key: str) -> list[Change]:
        with self.services.db.session() as session:
            return list(
                session.exec(
                    select(Change)
                    .where(Change.segment_key == key, Change.actor == "desk")
                    .order_by(col(Change.id))
                )
            )

    def feed_event(self, uid: str = SUMMIT_UID) -> Calendar:
        body = httpx.get(f"{self.url}/feeds/visits/{LEE}.ics").content
        assert httpx.get(f"{self.url}/feeds/visits/{LEE}.ics").content == body  # same bytes
        events = {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}
        return events[uid]


@pytest.fixture
def desk(seeded: Services) -> Iterator[Desk]:
    token = create_token(seeded.db, "desk", datetime.now(UTC))
    with LiveServer(seeded) as server:
        yield Desk(server.url, {"Authorization": f"Bearer {token}"}, seeded)


def test_parallel_patches_without_if_match_keep_every_field(desk: Desk) -> None:
    changes = {
        "title": {"title": "Summit meeting (plenary)"},
        "location": {"location": "Nara Hotel"},
        "description": {"description": "Plenary session, then a joint press statement."},
        "participants": {"participants": ["Lee Jae-myung", "Sousuke Takai", "Interpreters"]},
        "tags": {"tags": ["summit", "press"]},
        "start_at": {"start": "15:00", "end": "16:30"},
    }
    statuses = desk.race(
        [
            lambda client, body=body: client.patch(f"{SEGMENTS}/summit", json=body)
            for body in changes.values()
        ]
    )
    assert statuses == [200] * len(changes)
    segment = desk.segment("summit")
    assert segment is not None
    assert segment.title == "Summit meeting (plenary)"
    assert segment.location == "Nara Hotel"
    assert segment.description == "Plenary session, then a joint press statement."
    assert segment.participants == ["Lee Jae-myung", "Sousuke Takai", "Interpreters"]
    assert segment.tags == ["summit", "press"]
    assert segment.precision == "exact"
    assert segment.sequence == len(changes)  # once per real change, no write-backs
    # Each history entry changed what its request asked for, and nothing reverted another's.
    history = desk.history("summit")
    assert len(history) == len(changes)
    for entry in history:
        assert entry.after is not None
        assert set(entry.after) - {"end_at", "precision", "part_of_day", "status"} in (
            {name} for name in changes
        )
    event = desk.feed_event()
    assert int(event["SEQUENCE"]) == len(changes)
    assert str(event["LOCATION"]) == "Nara Hotel"
    assert "Summit meeting (plenary)" in str(event["SUMMARY"])


def test_parallel_patches_with_one_if_match_have_one_winner(desk: Desk) -> None:
    titles = [f"Summit meeting, version {n}" for n in range(10)]
    statuses = desk.race(
        [
            lambda client, title=title: client.patch(
                f"{SEGMENTS}/summit", json={"title": title}, headers={"If-Match": '"seq-0"'}
            )
            for title in titles
        ]
    )
    assert Counter(statuses) == {200: 1, 412: len(titles) - 1}
    winner = titles[statuses.index(200)]
    segment = desk.segment("summit")
    assert segment is not None and segment.title == winner and segment.sequence == 1
    history = desk.history("summit")
    assert [entry.after for entry in history] == [{"title": winner}]
    event = desk.feed_event()
    assert int(event["SEQUENCE"]) == 1 and winner in str(event["SUMMARY"])


def test_parallel_cancels_with_one_if_match_have_one_winner(desk: Desk) -> None:
    statuses = desk.race(
        [
            lambda client: client.delete(f"{SEGMENTS}/dinner", headers={"If-Match": '"seq-0"'})
            for _ in range(8)
        ]
    )
    assert Counter(statuses) == {204: 1, 412: 7}
    segment = desk.segment("dinner")
    assert segment is not None and segment.status == "cancelled" and segment.sequence == 1
    assert [entry.kind for entry in desk.history("dinner")] == ["cancelled"]


def test_parallel_hard_deletes_with_one_if_match_have_one_winner(desk: Desk) -> None:
    statuses = desk.race(
        [
            lambda client: client.delete(
                f"{SEGMENTS}/dinner?hard=true", headers={"If-Match": '"seq-0"'}
            )
            for _ in range(8)
        ]
    )
    # The first removes it; the others find it gone, or changed, never a second delete.
    assert statuses.count(204) == 1 and set(statuses) <= {204, 404, 412}
    assert desk.segment("dinner") is None
    assert [entry.kind for entry in desk.history("dinner")] == ["deleted"]


def test_a_hard_delete_with_a_stale_if_match_gets_412_and_keeps_the_segment(desk: Desk) -> None:
    with httpx.Client(base_url=desk.url, headers=desk.auth) as client:
        moved = client.patch(f"{SEGMENTS}/dinner", json={"location": "Nara Hotel"})
        assert moved.status_code == 200 and moved.headers["etag"] == '"seq-1"'
        stale = client.delete(f"{SEGMENTS}/dinner?hard=true", headers={"If-Match": '"seq-0"'})
        assert stale.status_code == 412, stale.text
    segment = desk.segment("dinner")
    assert segment is not None and segment.sequence == 1 and segment.location == "Nara Hotel"
    assert [entry.kind for entry in desk.history("dinner")] == ["changed"]


def _new_visit(title: str) -> dict[str, object]:
    return {
        "slug": "2026-02-test-visit",
        "title": title,
        "first_day": "2026-02-10",
        "last_day": "2026-02-11",
        "guest": {"name": "A Guest", "office": "President"},
        "host": {"name": "A Host", "office": "Prime Minister"},
        "segments": [
            {"id": "talks", "title": f"Talks ({title})", "kind": "meeting", "date": "2026-02-10"}
        ],
    }


def test_parallel_creates_of_one_visit_give_one_201_and_409s(desk: Desk) -> None:
    titles = [f"Test visit, desk {n}" for n in range(8)]
    statuses = desk.race(
        [
            lambda client, title=title: client.post("/api/visits", json=_new_visit(title))
            for title in titles
        ]
    )
    assert Counter(statuses) == {201: 1, 409: len(titles) - 1}
    winner = titles[statuses.index(201)]
    segment = desk.segment("talks", "2026-02-test-visit")
    assert segment is not None and segment.title == f"Talks ({winner})"
    assert segment.sequence == 0 and segment.status != "cancelled"


def test_parallel_creates_of_one_segment_give_one_201_and_409s(desk: Desk) -> None:
    titles = [f"Press conference, desk {n}" for n in range(8)]
    statuses = desk.race(
        [
            lambda client, title=title: client.post(
                SEGMENTS,
                json={"id": "press", "title": title, "kind": "press", "date": "2026-01-14"},
            )
            for title in titles
        ]
    )
    assert Counter(statuses) == {201: 1, 409: len(titles) - 1}
    segment = desk.segment("press")
    assert segment is not None and segment.title == titles[statuses.index(201)]
    assert segment.sequence == 0
    assert [entry.kind for entry in desk.history("press")] == ["added"]


def test_parallel_patches_of_a_visit_keep_every_field(desk: Desk) -> None:
    changes = [
        {"title": "President Lee Jae-myung visits Japan (Nara), updated"},
        {"place": "Nara City, Nara Prefecture, Japan"},
        {"description": "Programme updated by the press office."},
        {"tags": ["shuttle-diplomacy", "japan-korea", "updated"]},
    ]
    statuses = desk.race(
        [
            lambda client, body=body: client.patch(f"/api/visits/{LEE}", json=body)
            for body in changes
        ]
    )
    assert statuses == [200] * len(changes)
    with desk.services.db.session() as session:
        visit = session.exec(select(Visit).where(Visit.slug == LEE)).one()
        history = session.exec(
            select(Change).where(Change.segment_key == "", Change.actor == "desk")
        ).all()
    assert visit.title == changes[0]["title"] and visit.place == changes[1]["place"]
    assert visit.description == changes[2]["description"] and visit.tags == changes[3]["tags"]
    # One entry per request, each with only its own field: nobody wrote another's back.
    assert sorted(tuple(entry.after or {}) for entry in history) == sorted(
        tuple(change) for change in changes
    )
