"""A long import beside sign-ups, edits and feed reads, over real HTTP on SQLite and PostgreSQL:
the others wait their turn instead of failing, feeds show the visit before or after the import
and never half of it, and a dry run takes no write lock at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import create_engine, text
from sqlmodel import select
from typer.testing import CliRunner

from service.cli.app import app
from service.models import Change, Segment, Subscription
from service.schedules.organizer_tokens import create_token
from service.services import Services
from service.settings import get_settings
from tests.helpers.live_server import LiveServer
from tests.helpers.locks import held
from tests.helpers.services import LEE

EVENTS = 300
SIGNUPS = 8
FEED = f"/feeds/visits/{LEE}.ics"


def with_events(feed: str, count: int) -> bytes:
    """The visit's own feed with `count` more events on its first day."""
    events = "".join(
        "BEGIN:VEVENT\r\n"
        f"UID:briefing-{n:04d}@press.example\r\n"
        "DTSTAMP:20260112T000000Z\r\n"
        f"DTSTART;TZID=Asia/Tokyo:20260113T{9 + n // 60:02d}{n % 60:02d}00\r\n"
        f"DTEND;TZID=Asia/Tokyo:20260113T{9 + n // 60:02d}{n % 60:02d}30\r\n"
        f"SUMMARY:Briefing {n:04d}\r\n"
        "CATEGORIES:PRESS\r\n"
        "END:VEVENT\r\n"
        for n in range(count)
    )
    return feed.replace("END:VCALENDAR", events + "END:VCALENDAR").encode()


@dataclass
class Desk:
    url: str
    auth: dict[str, str]
    services: Services


@pytest.fixture
def desk(seeded: Services) -> Iterator[Desk]:
    token = create_token(seeded.db, "desk", datetime.now(UTC))
    with LiveServer(seeded) as server:
        yield Desk(server.url, {"Authorization": f"Bearer {token}"}, seeded)


def _uids(body: bytes) -> set[str]:
    return {str(event["UID"]) for event in Calendar.from_ical(body).walk("VEVENT")}


def test_a_long_import_beside_signups_and_feed_reads(desk: Desk) -> None:
    before = httpx.get(desk.url + FEED).content
    body = with_events(before.decode(), EVENTS)
    importing = threading.Event()
    feeds: list[httpx.Response] = []

    def run_import() -> httpx.Response:
        importing.set()
        headers = {"Content-Type": "text/calendar", **desk.auth}
        url = f"{desk.url}/visits/{LEE}/import"
        return httpx.post(url, content=body, headers=headers, timeout=120)

    def sign_up(n: int) -> httpx.Response:
        importing.wait()
        request = {"channel": f"json://127.0.0.1:9/hook-{n}", "visits": [LEE], "offsets": ["1h"]}
        return httpx.post(f"{desk.url}/subscriptions", json=request, timeout=120)

    def read_feeds() -> None:
        importing.wait()
        with httpx.Client(base_url=desk.url, timeout=120) as client:
            while len(feeds) < 200:
                feeds.append(client.get(FEED))
                if len(_uids(feeds[-1].content)) > len(_uids(before)):
                    break  # the import is in: one read of it is enough

    with ThreadPoolExecutor(SIGNUPS + 2) as pool:
        imported = pool.submit(run_import)
        reader = pool.submit(read_feeds)
        signups = list(pool.map(sign_up, range(SIGNUPS)))
        reader.result()
        assert imported.result().status_code == 200, imported.result().text

    assert [answer.status_code for answer in signups] == [201] * SIGNUPS
    after = httpx.get(desk.url + FEED).content
    assert len(_uids(after)) == len(_uids(before)) + EVENTS
    # Every read saw the feed whole, before the import or after it.
    assert {response.status_code for response in feeds} == {200}
    assert {response.content for response in feeds} <= {before, after}
    with desk.services.db.session() as session:
        assert len(session.exec(select(Subscription)).all()) == SIGNUPS
        added = session.exec(select(Change).where(Change.kind == "added", Change.actor != "loader"))
        assert len(added.all()) == EVENTS


def _segment_count(services: Services) -> int:
    with services.db.session() as session:
        return len(session.exec(select(Segment)).all())


def test_a_dry_run_import_needs_no_write_lock(desk: Desk, database_url: str) -> None:
    body = with_events(httpx.get(desk.url + FEED).text, 5)
    headers = {"Content-Type": "text/calendar", **desk.auth}
    url = f"{desk.url}/visits/{LEE}/import"
    segments = _segment_count(desk.services)
    with held(database_url):  # another writer in the middle of a long transaction
        dry = httpx.post(url, params={"dry_run": "true"}, content=body, headers=headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and len(dry.json()["added"]) == 5
    assert _segment_count(desk.services) == segments


LOCK_CATALOG = text("SELECT value FROM catalog_state WHERE name = 'version' FOR UPDATE")
# A backend of this database waiting for a lock on the catalog's state (the import's first step);
# the statistics are read afresh, not from the snapshot the holder's transaction took first.
WAITING = text(
    "SELECT pg_stat_clear_snapshot(), count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND query LIKE '%catalog_state%'"
)
MOVE_DINNER = text(
    "UPDATE segment SET sequence = sequence + 1, title = 'Dinner (moved)' WHERE key = 'dinner'"
)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_import_that_waited_for_the_lock_refuses_a_visit_changed_meanwhile(
    desk: Desk, database_url: str
) -> None:
    body = with_events(httpx.get(desk.url + FEED).text, 5)
    headers = {"Content-Type": "text/calendar", **desk.auth}
    segments = _segment_count(desk.services)
    engine = create_engine(database_url)
    with ThreadPoolExecutor(1) as pool, engine.connect() as holder:
        holder.execute(LOCK_CATALOG)
        url = f"{desk.url}/visits/{LEE}/import"
        answer = pool.submit(httpx.post, url, content=body, headers=headers, timeout=60)
        # The import has read and planned, and now waits for the catalog's lock.
        deadline = time.monotonic() + 30
        while not holder.execute(WAITING).one()[1]:
            assert time.monotonic() < deadline, "the import never waited for the lock"
            time.sleep(0.02)
        holder.execute(MOVE_DINNER)
        holder.commit()
        refused = answer.result()
    engine.dispose()
    assert refused.status_code == 412, refused.text
    assert "dinner" in refused.json()["detail"]
    assert _segment_count(desk.services) == segments
    with desk.services.db.session() as session:
        assert session.exec(select(Segment).where(Segment.key == "dinner")).one().title == (
            "Dinner (moved)"
        )


def test_a_dry_run_from_the_command_line_needs_no_write_lock(
    desk: Desk, database_url: str, tmp_path: Path
) -> None:
    calendar = tmp_path / "briefings.ics"
    calendar.write_bytes(with_events(httpx.get(desk.url + FEED).text, 3))
    env = {"VISITCAL_DATABASE_URL": database_url, "VISITCAL_DATABASE_BUSY_SECONDS": "0.3"}
    get_settings.cache_clear()
    try:
        with held(database_url):
            result = CliRunner().invoke(
                app, ["import", str(calendar), "--visit", LEE, "--dry-run"], env=env
            )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "briefing-0002" in result.output
