"""Logs one line per event, as JSON when log_format says so: a `visitcal worker` delivering a
reminder and failing another writes one JSON object per line, each naming its level and logger,
and none for the scheduler's routine runs."""

from __future__ import annotations

import json
from collections.abc import Callable

from service.clock import utc_now
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import WorkerProcess, reminders, wait_until

SLUG = "logged-visit"


def test_a_worker_logs_one_json_object_per_line(
    services_with: Callable[..., Services], database_url: str
) -> None:
    services = services_with()
    start = whole_second(4)
    apply(services, SLUG, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    with HttpReceiver() as http:
        http.always("/broken", 500)
        for path in ("ok", "broken"):
            create_subscription(
                services.db,
                services.settings,
                SubscriptionRequest(channel=http.url(path), visits=[SLUG], offsets=["2s"]),
                utc_now(),
                confirmed=True,
            )
        worker = WorkerProcess(database_url, log_format="json", retry_limit=0)
        try:
            worker.wait_running()
            assert wait_until(
                lambda: {r.state for r in reminders(services)} == {"sent", "failed"}, 20
            )
        finally:
            worker.stop()
    logged = [json.loads(line) for line in worker.lines if line.startswith("{")]
    assert logged, worker.output
    assert all({"at", "level", "logger", "process", "message"} <= set(entry) for entry in logged)
    assert all("\n" not in entry["message"] for entry in logged)
    failed = [e for e in logged if e["level"] == "warning" and "failed" in e["message"]]
    assert len(failed) == 1 and failed[0]["logger"] == "visitcal.worker", logged
    assert any(e["message"].startswith("handled ") for e in logged), logged  # a run, a line
    # Not the scheduler's "Running job ..." at every run of every job (twice a second).
    scheduler = [e for e in logged if e["logger"].startswith("apscheduler")]
    assert scheduler == [], scheduler[:3]
    # Nothing else on the output but the one line saying the worker runs.
    others = [line for line in worker.lines if line and not line.startswith("{")]
    assert len(others) == 1 and "running" in others[0], others
