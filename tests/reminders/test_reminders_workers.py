"""Several workers, and workers that die: `visitcal worker` processes sharing one database
deliver each reminder once, and a worker killed mid-batch loses nothing when it restarts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from service.clock import utc_now
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import open_services
from tests.helpers.workers import WorkerProcess, reminders, states, wait_until, worker_in_process

SLUG = "busy-visit"


def settled(services: Services) -> bool:
    return not set(states(services)) & {"pending", "claimed"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_worker_processes_deliver_1000_reminders_each_exactly_once(
    services_with: Callable[..., Services], database_url: str
) -> None:
    services = services_with()
    with HttpReceiver() as http:
        workers = [
            WorkerProcess(database_url, worker_batch=50, plan_check_seconds=0.2) for _ in range(2)
        ]
        try:
            names = {worker.wait_running() for worker in workers}
            assert len(names) == 2
            # 25 followers x 20 segments x 2 offsets: 1,000 reminders due within 4 seconds.
            start = whole_second(33)
            tz = daytime_zone(start, start + timedelta(hours=1))
            segments = [
                Seg(f"s{n:02d}", f"Segment {n:02d}", start=start + timedelta(seconds=n % 3))
                for n in range(20)
            ]
            apply(services, SLUG, segments, tz)
            for follower in range(25):
                request = SubscriptionRequest(
                    channel=http.url(f"f{follower:02d}"), visits=[SLUG], offsets=["30s", "31s"]
                )
                create_subscription(
                    services.db, services.settings, request, utc_now(), confirmed=True
                )
            planned = reminders(services)
            assert len(planned) == 1000
            assert max(r.due_at for r in planned) - min(r.due_at for r in planned) <= timedelta(
                seconds=3
            )
            assert wait_until(lambda: settled(services), timeout=90, step=0.2)
        finally:
            for worker in workers:
                worker.stop()
        received = Counter((a.path, a.title) for a in http.requests)

    twice = {key: n for key, n in received.items() if n > 1}
    assert not twice, f"{len(twice)} reminders arrived more than once, e.g. {next(iter(twice))}"
    assert len(received) == 1000
    assert all(a.status == 200 for a in http.requests)
    rows = reminders(services)
    assert Counter(r.state for r in rows) == {"sent": 1000}
    assert {r.attempts for r in rows} == {1}  # never claimed twice
    assert {r.claimed_by for r in rows} == names  # both workers took a share


def test_worker_killed_mid_batch_then_restarted_delivers_every_reminder_once(
    services_with: Callable[..., Services], database_url: str
) -> None:
    """ "Once" as the receiver sees it: each reminder is answered 200 exactly once. The kill lands
    while the receiver holds requests unanswered: their senders never learn the outcome, so
    those are not delivered and must be sent again; what was answered 200 must not be.

    The kill waits until what was answered is recorded: between a 200 and its record a worker
    can die, and that reminder is sent again (at-least-once, inherent to any sender)."""
    services = services_with()
    worker_settings: dict[str, object] = {"lease_seconds": 2, "worker_batch": 20}
    worker_settings |= {"worker_threads": 4, "plan_check_seconds": 0.2}
    with HttpReceiver() as http:
        first = WorkerProcess(database_url, **worker_settings)
        try:
            first.wait_running()
            http.hold_after(6)  # six are answered, then requests hang unanswered
            start = whole_second(30)
            tz = daytime_zone(start, start + timedelta(hours=1))
            apply(
                services,
                SLUG,
                [Seg(f"s{n:02d}", f"Segment {n:02d}", start=start) for n in range(20)],
                tz,
            )
            subscription = create_subscription(
                services.db,
                services.settings,
                # A read timeout longer than the hold: the sends hang until the kill.
                SubscriptionRequest(
                    channel=http.url("hook", rto="30"), visits=[SLUG], offsets=["26s"]
                ),
                utc_now(),
                confirmed=True,
            ).subscription
            # One batch of 20 claimed; 6 answered; the 4 delivery threads stuck in requests.
            assert http.wait_for(lambda r: len(r.accepted) == 6 and r.held == 4, timeout=20)
            assert Counter(r.state for r in reminders(services))["claimed"] >= 14
            # What was answered gets recorded at once, not when the whole batch is done.
            wait_until(lambda: states(services).get("sent", 0) == 6, timeout=5)
            first.kill()
        finally:
            first.stop()
        http.release()  # the held requests are answered 503 to a dead sender: not delivered
        at_kill = states(services)

        second = WorkerProcess(database_url, **worker_settings)
        try:
            second.wait_running()
            # The dead worker's claims are taken over when their lease expires.
            assert wait_until(lambda: settled(services), timeout=30, step=0.1)
        finally:
            second.stop()
        accepted = Counter(a.title for a in http.accepted)
        unanswered = [a for a in http.requests if a.status == 503]

    twice = {title: n for title, n in accepted.items() if n > 1}
    assert not twice, f"delivered twice: {sorted(twice)}; states at the kill: {at_kill}"
    assert len(accepted) == 20
    assert len(unanswered) == 4
    assert {a.title for a in unanswered} <= set(accepted)  # sent again, delivered once
    rows = reminders(services, subscription.id)
    assert Counter(r.state for r in rows) == {"sent": 20}
    assert Counter(r.attempts for r in rows) == {1: 6, 2: 14}


def test_a_delivery_slower_than_the_lease_is_not_taken_over_by_another_worker(
    sqlite_url: str,
) -> None:
    """A claim is a lease so that a dead worker's reminders are taken over; a live worker whose
    send merely takes longer than the lease keeps its claims (it renews them while it works)."""
    settings = {"lease_seconds": 1, "worker_threads": 1, "worker_batch": 10}
    with open_services(sqlite_url, **settings) as services, HttpReceiver() as http:
        http.delay("/slow", 2.5)  # the first send takes 2.5 leases
        start = whole_second(5)
        tz = daytime_zone(start, start + timedelta(hours=1))
        apply(services, SLUG, [Seg("a", "Talks", start=start), Seg("b", "Lunch", start=start)], tz)
        request = SubscriptionRequest(channel=http.url("slow"), visits=[SLUG], offsets=["3s"])
        create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)
        with worker_in_process(services), worker_in_process(services):
            assert wait_until(lambda: settled(services), timeout=20)
            assert wait_until(lambda: len(http.requests) >= 2, timeout=5)
        received = Counter(a.title.split(" — ")[0] for a in http.requests)
        assert received == {"Talks": 1, "Lunch": 1}
        assert Counter(r.attempts for r in reminders(services)) == {1: 2}
