"""A database held by another writer past the bound: 503 with Retry-After (API and pages),
exit 75 with one line (CLI), the worker claims again once it is free; nothing half-written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from typer.testing import CliRunner

from service.cli.app import app
from service.clock import utc_now
from service.reminders.channel_policy import ChannelPolicy
from service.reminders.channels import AppriseSender
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.reminders.worker import ReminderWorker
from service.schedules.organizer_tokens import create_token
from service.services import Services
from service.settings import get_settings
from tests.helpers.live_server import LiveServer
from tests.helpers.locks import held
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import LEE, SEED_VISITS, load_seed, make_settings
from tests.helpers.workers import states, wait_until

BUSY_SECONDS = 0.3


@pytest.fixture
def busy_services(database_url: str) -> Iterator[Services]:
    services = Services.build(
        make_settings(database_url, database_busy_seconds=BUSY_SECONDS, secret_key="k" * 32)
    )
    services.db.migrate()
    load_seed(services)
    yield services
    services.close()


def test_writes_past_the_bound_answer_503_with_retry_after_and_change_nothing(
    busy_services: Services, database_url: str
) -> None:
    token = create_token(busy_services.db, "desk", datetime.now(UTC))
    auth = {"Authorization": f"Bearer {token}"}
    path = f"/api/visits/{LEE}/segments/summit"
    with LiveServer(busy_services) as server, httpx.Client(base_url=server.url) as client:
        with held(database_url):
            answer = client.patch(path, json={"title": "Summit (held)"}, headers=auth)
            page = client.post(
                "/reminders",
                data={"channel": "json://127.0.0.1:9/hook", "visits": LEE, "offsets": "1h"},
                headers={"Accept": "text/html"},
            )
            feed = client.get(f"/feeds/visits/{LEE}.ics")  # reads never wait for writers
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert "busy" in answer.json()["detail"]
        assert page.status_code == 503 and page.headers["retry-after"] == "1"
        assert "text/html" in page.headers["content-type"] and "busy" in page.text
        for body in (answer.text, page.text):
            assert not any(word in body for word in ("sqlite", "psycopg", "Error", "SELECT"))
        assert feed.status_code == 200
        summit = client.get(path, headers=auth).json()
        assert summit["title"] == "Summit meeting" and summit["sequence"] == 0
        # Free again, the same request succeeds.
        assert client.patch(path, json={"title": "Summit"}, headers=auth).status_code == 200


def test_load_past_the_bound_exits_75_with_one_line(
    busy_services: Services, database_url: str
) -> None:
    env = {
        "VISITCAL_DATABASE_URL": database_url,
        "VISITCAL_DATABASE_BUSY_SECONDS": str(BUSY_SECONDS),
        "VISITCAL_VISITS_DIR": str(SEED_VISITS),
    }
    get_settings.cache_clear()
    try:
        with held(database_url):
            result = CliRunner().invoke(app, ["load", str(SEED_VISITS)], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 75, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the database is busy"), lines


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_worker_claims_again_when_the_database_was_busy(
    busy_services: Services, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    start = whole_second(3)
    apply(busy_services, "busy-visit", [Seg("talks", "Talks", start=start)], daytime_zone(start))
    with HttpReceiver() as http:
        request = SubscriptionRequest(channel=http.url("f"), visits=["busy-visit"], offsets=["2s"])
        create_subscription(
            busy_services.db, busy_services.settings, request, utc_now(), confirmed=True
        )
        worker = ReminderWorker(
            busy_services.db,
            busy_services.settings,
            AppriseSender(ChannelPolicy.from_settings(busy_services.settings)),
        )
        caplog.set_level(logging.WARNING, logger="visitcal.worker")
        with held(database_url):
            worker.start()
            # Due while another writer holds the database: the claim waits, then gives up.
            assert wait_until(lambda: "database is busy" in caplog.text, timeout=10)
        try:
            assert wait_until(lambda: states(busy_services) == {"sent": 1}, timeout=10)
        finally:
            worker.stop()
        assert len(http.requests) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_worker_records_a_fate_again_when_the_database_was_busy(
    busy_services: Services, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    start = whole_second(3)
    apply(busy_services, "busy-visit", [Seg("talks", "Talks", start=start)], daytime_zone(start))
    with HttpReceiver() as http:
        http.delay("/f", 1.5)  # claimed, then sending for a while
        request = SubscriptionRequest(channel=http.url("f"), visits=["busy-visit"], offsets=["2s"])
        create_subscription(
            busy_services.db, busy_services.settings, request, utc_now(), confirmed=True
        )
        worker = ReminderWorker(
            busy_services.db,
            busy_services.settings,
            AppriseSender(ChannelPolicy.from_settings(busy_services.settings)),
        )
        caplog.set_level(logging.WARNING, logger="visitcal.worker")
        worker.start()
        try:
            assert wait_until(lambda: states(busy_services) == {"claimed": 1}, timeout=10)
            with held(database_url):  # the send ends while another writer holds the database
                assert wait_until(lambda: "recording 1 reminder fate" in caplog.text, timeout=10)
            # Recorded once free again: not left to expire and be sent a second time.
            assert wait_until(lambda: states(busy_services) == {"sent": 1}, timeout=10)
        finally:
            worker.stop()
        assert len(http.requests) == 1
