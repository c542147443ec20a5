"""A worker whose lease expired and was taken over cannot record its result over the new
owner's claim: the row stays the new owner's, and only the new owner's result is kept."""

from __future__ import annotations

from datetime import timedelta

from service.clock import utc_now
from service.reminders.queue import Fate, ReminderQueue
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders


def test_a_taken_over_claim_keeps_the_new_owners_result(services: Services) -> None:
    start = whole_second(2 * 86400)
    apply(services, "lease-visit", [Seg("talks", "Talks", start=start)], daytime_zone(start))
    request = SubscriptionRequest(
        channel="json://127.0.0.1:9/hook", visits=["lease-visit"], offsets=["1h"]
    )
    create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)
    [planned] = reminders(services)
    lease = timedelta(seconds=60)
    old, new = (ReminderQueue(services.db, name, lease) for name in ("old", "new"))

    [first] = old.claim_due(planned.due_at, 10)
    # The old worker hangs past its lease; the new one takes the reminder over.
    [second] = new.claim_due(planned.due_at + lease + timedelta(seconds=1), 10)
    assert first.id == second.id == planned.id and second.attempts == 2

    late = planned.due_at + lease + timedelta(seconds=2)
    old.record([Fate(first.id, "failed", late, "old worker: channel refused")])
    old.renew([first.id], late)
    [row] = reminders(services)
    assert (row.state, row.claimed_by, row.result) == ("claimed", "new", "")
    assert row.lease_until == planned.due_at + 2 * lease + timedelta(seconds=1)

    new.record([Fate(second.id, "sent", late, "delivered")])
    [row] = reminders(services)
    assert (row.state, row.claimed_by, row.result, row.sent_at) == (
        "sent",
        "new",
        "delivered",
        late,
    )
