"""What an operator sees: /metrics in Prometheus' format counts feeds (200, 304, cache hits),
sign-ups and reminders' fates, and reads the queue from the database; `visitcal status` shows
the queue, the worker with its heartbeat and the last error per channel kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.clock import utc_now
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.cli import run_cli
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders, wait_until, worker_in_process

SLUG = "watched-visit"


def scrape(client: httpx.Client) -> dict[str, float]:
    """Every sample of /metrics by name and labels ('visitcal_feed_responses_total{status=304}')."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def grew(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def test_metrics_and_status_show_feeds_sign_ups_fates_queue_worker_and_channel_errors(
    services_with: Callable[..., Services], database_url: str
) -> None:
    services = services_with(retry_limit=0, heartbeat_seconds=0.5)
    start = whole_second(4)
    apply(services, SLUG, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    with (
        HttpReceiver() as http,
        LiveServer(services) as live,
        httpx.Client(base_url=live.url) as client,
    ):
        before = scrape(client)
        feed = client.get(f"/feeds/visits/{SLUG}.ics")
        again = client.get(f"/feeds/visits/{SLUG}.ics")  # from the cache
        unchanged = client.get(
            f"/feeds/visits/{SLUG}.ics", headers={"If-None-Match": feed.headers["etag"]}
        )
        assert (feed.status_code, again.status_code, unchanged.status_code) == (200, 200, 304)
        signed = client.post("/subscriptions", json={"channel": http.url("x"), "visits": [SLUG]})
        assert signed.status_code == 201

        # One reminder due already and no worker yet: the queue shows it waiting.
        http.always("/broken", 500)
        for path in ("ok", "broken"):
            create_subscription(
                services.db,
                services.settings,
                SubscriptionRequest(channel=http.url(path), visits=[SLUG], offsets=["3s"]),
                utc_now(),
                confirmed=True,
            )
        assert wait_until(lambda: utc_now() > start - timedelta(seconds=3), timeout=10)
        waiting = scrape(client)
        assert waiting["visitcal_reminder_queue_due"] == 2
        assert waiting["visitcal_reminder_queue_oldest_due_seconds"] > 0
        assert waiting["visitcal_workers_alive"] == 0

        with worker_in_process(services) as worker:
            assert wait_until(
                lambda: {r.state for r in reminders(services)} == {"sent", "failed"}, timeout=15
            )
            assert wait_until(
                lambda: "json" in run_cli("status", database_url=database_url).stdout, 10
            )
            status = run_cli("status", database_url=database_url)
            after = scrape(client)

    assert grew(before, after, "visitcal_feed_responses_total{status=200}") == 2
    assert grew(before, after, "visitcal_feed_responses_total{status=304}") == 1
    assert grew(before, after, "visitcal_feed_cache_hits_total") >= 2  # the 2nd GET, the 304
    assert grew(before, after, "visitcal_sign_ups_total") == 3
    assert grew(before, after, "visitcal_reminders_due_total") == 2
    assert grew(before, after, "visitcal_reminders_sent_total") == 1
    assert grew(before, after, "visitcal_reminders_failed_total") == 1
    assert grew(before, after, "visitcal_reminder_lateness_seconds_count") == 1
    assert after["visitcal_reminder_queue_due"] == 0
    assert after["visitcal_workers_alive"] == 1

    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("queue: 0 due and waiting, 0 being delivered; nothing waiting")
    assert "workers: 1 alive, 0 silent" in status.stdout
    (row,) = [line for line in lines if worker.worker_id in line and "alive" in line]
    assert "s ago" in row
    (error,) = [line for line in lines if line.strip("│ ").startswith("json")]
    assert "500" in error, status.stdout
