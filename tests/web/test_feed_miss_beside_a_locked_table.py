"""A feed that must be rendered while the database is slow to answer holds nobody else: the
fast path renders it in the thread pool, and /healthz answers meanwhile. PostgreSQL, where
another session can hold a table (a migration, VACUUM FULL) so that reads of it wait."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE

# A backend of this database waiting for a lock on the segment table (the feed's rendering).
WAITING = text(
    "SELECT pg_stat_clear_snapshot(), count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND query LIKE '%segment%'"
)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_feed_waiting_for_the_database_does_not_stop_healthz(
    seeded: Services, database_url: str
) -> None:
    engine = create_engine(database_url)
    with LiveServer(seeded) as live, ThreadPoolExecutor(1) as pool, engine.connect() as holder:
        holder.execute(text("LOCK TABLE segment IN ACCESS EXCLUSIVE MODE"))
        feed = pool.submit(httpx.get, f"{live.url}/feeds/visits/{LEE}.ics", timeout=120)
        deadline = time.monotonic() + 30
        while not holder.execute(WAITING).one()[1]:
            assert not feed.done(), feed.result().text
            assert time.monotonic() < deadline, "the feed never waited for the table"
            time.sleep(0.01)
        health = httpx.get(f"{live.url}/healthz", timeout=120)
        assert health.status_code == 200
        assert not feed.done()  # answered while the feed still waits: the loop was free
        holder.rollback()
        assert feed.result().status_code == 200
    engine.dispose()
