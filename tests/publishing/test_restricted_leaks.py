"""Nothing held back reaches a public byte: a restricted segment is off every public surface
(feeds, the page, the JSON API, history, Atom), what changed while it was restricted stays off
them after it is published, a public feed's validators move only with its bytes, and the
history shows an import's source without its secrets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from service.schedules.organizer_tokens import create_token
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE

SEGMENTS = f"/api/visits/{LEE}/segments"
PUBLIC_PATHS = (
    "/feeds/all.ics",
    f"/feeds/visits/{LEE}.ics",
    f"/visits/{LEE}.ics",
    f"/visits/{LEE}",
    f"/api/visits/{LEE}",
    f"/visits/{LEE}/changes",
    f"/visits/{LEE}/changes.atom",
)
HELD_BACK = {
    "id": "motorcade",
    "title": "Motorcade to Kasugataisha",
    "kind": "other",
    "date": "2026-01-14",
    "start": "08:05",
    "location": "Nara Park north gate",
    "visibility": "restricted",
}


@pytest.fixture
def organizer(seeded: Services) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    token = create_token(seeded.db, "press-office", datetime.now(UTC))
    with LiveServer(seeded) as server, httpx.Client(base_url=server.url) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _public_text(client: httpx.Client) -> dict[str, str]:
    return {path: client.get(path).text for path in PUBLIC_PATHS}


def test_a_restricted_segment_is_off_the_page_the_json_api_feeds_and_history(organizer) -> None:
    client, auth = organizer
    assert client.post(SEGMENTS, json=HELD_BACK, headers=auth).status_code == 201
    for path, text in _public_text(client).items():
        assert "Kasugataisha" not in text and "north gate" not in text, path
        assert "motorcade" not in text, path
    assert client.get(f"/visits/{LEE}/segments/motorcade.ics").status_code == 404


def test_what_changed_while_restricted_stays_hidden_after_it_is_published(organizer) -> None:
    client, auth = organizer
    assert client.post(SEGMENTS, json=HELD_BACK, headers=auth).status_code == 201
    moved = {"start": "07:40", "location": "Nara Park west gate"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=moved, headers=auth).status_code == 200
    published = {"visibility": "public", "location": "Nara Park", "start": "10:00"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=published, headers=auth).status_code == 200
    # Public now: its current state may show, nothing of its restricted past.
    assert "Kasugataisha" in client.get(f"/feeds/visits/{LEE}.ics").text
    for path, text in _public_text(client).items():
        for secret in ("north gate", "west gate", "08:05", "07:40", "T080500", "T074000"):
            assert secret not in text, (path, secret)
    # Later public changes are history like any other.
    later = {"location": "Nara Park south gate"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=later, headers=auth).status_code == 200
    assert "south gate" in client.get(f"/visits/{LEE}/changes.atom").text
    assert "Nara Park'" in client.get(f"/visits/{LEE}/changes.atom").text  # the before value


def test_a_public_feeds_validators_move_only_with_its_bytes(organizer) -> None:
    client, auth = organizer
    assert client.post(SEGMENTS, json=HELD_BACK, headers=auth).status_code == 201

    def validators() -> tuple[bytes, str, datetime]:
        answer = client.get(f"/feeds/visits/{LEE}.ics")
        modified = parsedate_to_datetime(answer.headers["last-modified"])
        return answer.content, answer.headers["etag"], modified

    before, health = validators(), client.get("/healthz").json()
    change = {"location": "Nara Park east gate", "start": "09:15"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=change, headers=auth).status_code == 200
    assert validators() == before  # only the restricted segment changed
    assert client.get("/healthz").json() == health == {"status": "ok"}
    # Published, it changes the bytes: both validators move.
    assert (
        client.patch(
            f"{SEGMENTS}/motorcade", json={"visibility": "public"}, headers=auth
        ).status_code
        == 200
    )
    published = validators()
    assert published[0] != before[0] and published[1] != before[1]
    assert published[2] >= before[2]
    # Restricted again, it leaves the feed: the bytes change and so does Last-Modified.
    assert (
        client.patch(
            f"{SEGMENTS}/motorcade", json={"visibility": "restricted"}, headers=auth
        ).status_code
        == 200
    )
    withdrawn = validators()
    assert withdrawn[0] == before[0] and withdrawn[2] >= published[2]


class _CalendarHandler(BaseHTTPRequestHandler):
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:tea@protocol.example\r\nDTSTAMP:20260101T000000Z\r\n"
        b"DTSTART;TZID=Asia/Tokyo:20260114T160000\r\nSUMMARY:Tea ceremony\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/calendar")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_history_shows_an_import_source_without_its_secrets(
    organizer: tuple[httpx.Client, dict[str, str]], seeded: Services
) -> None:
    client, auth = organizer
    seeded.settings = seeded.settings.model_copy(update={"import_allow_private": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CalendarHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        url = f"http://feeduser:hunter2@127.0.0.1:{port}/private-k3y/basic.ics?token=s3cr3t"
        answer = client.post(f"/visits/{LEE}/import", json={"url": url}, headers=auth)
        assert answer.status_code == 200, answer.text
    finally:
        server.shutdown()
    history = (
        client.get(f"/visits/{LEE}/changes").text + client.get(f"/visits/{LEE}/changes.atom").text
    )
    assert f"import:http://127.0.0.1:{port}/…" in history
    for secret in ("feeduser", "hunter2", "private-k3y", "basic.ics", "s3cr3t"):
        assert secret not in history, secret


def _entries(client: httpx.Client, key: str) -> list[dict[str, object]]:
    """The public history's entries of one segment, newest first."""
    return [c for c in client.get(f"/visits/{LEE}/changes").json() if c["segment"] == key]


def test_publishing_and_withdrawing_show_in_the_history_as_in_the_feeds(organizer) -> None:
    """Withdrawn, a segment leaves the feeds: one "removed" entry without details. Published
    (again), it appears: one "added" entry as it is now, nothing of what it was in between."""
    client, auth = organizer
    tour = {**HELD_BACK, "id": "tour", "title": "Park tour", "location": "Nara Park east gate"}
    tour["visibility"] = "public"
    assert client.post(SEGMENTS, json=tour, headers=auth).status_code == 201
    assert [c["kind"] for c in _entries(client, "tour")] == ["added"]

    withdraw = {"visibility": "restricted"}
    assert client.patch(f"{SEGMENTS}/tour", json=withdraw, headers=auth).status_code == 200
    assert "Park tour" not in client.get(f"/feeds/visits/{LEE}.ics").text
    removed = _entries(client, "tour")[0]
    assert removed["kind"] == "removed" and removed["before"] is removed["after"] is None
    for held in ({"title": "Hidden title", "location": "Secret cellar"}, {"title": "Tour again"}):
        assert client.patch(f"{SEGMENTS}/tour", json=held, headers=auth).status_code == 200
    moved = {"visibility": "public", "location": "Nara Park"}
    assert client.patch(f"{SEGMENTS}/tour", json=moved, headers=auth).status_code == 200

    assert "Tour again" in client.get(f"/feeds/visits/{LEE}.ics").text
    entries = _entries(client, "tour")
    assert [c["kind"] for c in entries] == ["added", "removed", "added"]
    published = entries[0]["after"]
    assert isinstance(published, dict)
    assert published["title"] == "Tour again" and published["location"] == "Nara Park"
    assert published["visibility"] == "public"
    atom = client.get(f"/visits/{LEE}/changes.atom").text
    assert "Tour again" in atom and "'Nara Park'" in atom
    for path, text in _public_text(client).items():
        for secret in ("Hidden title", "Secret cellar"):
            assert secret not in text, (path, secret)

    # Restricted from the start, then published: it appears once, as published.
    assert client.post(SEGMENTS, json=HELD_BACK, headers=auth).status_code == 201
    assert _entries(client, "motorcade") == []
    published = {"visibility": "public", "location": "Nara Park"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=published, headers=auth).status_code == 200
    (added,) = _entries(client, "motorcade")
    assert added["kind"] == "added" and added["after"]["location"] == "Nara Park"  # type: ignore[index]
    assert "north gate" not in client.get(f"/visits/{LEE}/changes").text


def test_history_ids_are_stable_and_do_not_count_hidden_changes(organizer) -> None:
    """Sequential ids would show gaps where restricted changes were left out."""
    client, auth = organizer
    assert client.post(SEGMENTS, json=HELD_BACK, headers=auth).status_code == 201
    moved = {"location": "Nara Park west gate"}
    assert client.patch(f"{SEGMENTS}/motorcade", json=moved, headers=auth).status_code == 200
    ids = [c["id"] for c in client.get(f"/visits/{LEE}/changes").json()]
    assert ids and all(isinstance(i, str) and not i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids)
    assert [c["id"] for c in client.get(f"/visits/{LEE}/changes").json()] == ids  # stable
    atom = client.get(f"/visits/{LEE}/changes.atom").text
    assert re.findall(r"<entry><id>[^<#]*#([^<]+)</id>", atom) == ids
