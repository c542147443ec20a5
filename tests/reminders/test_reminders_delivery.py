"""Reminders delivered for real: email to an SMTP server and a webhook to an HTTP receiver on
127.0.0.1, on time and with the right words; retries with backoff; failures listed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from service.clock import utc_now
from service.models import Subscription
from service.reminders.subscriptions import SubscriptionRequest, create_subscription, deliveries
from service.services import Services
from tests.helpers.cli import run_cli
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import HttpReceiver, SmtpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import BASE_URL
from tests.helpers.workers import reminders, wait_until, worker_in_process

SLUG = "delivery-visit"
ON_TIME = timedelta(seconds=1)


def subscribe(services: Services, channel: str, offsets: list[str], tz: str = "UTC") -> str:
    request = SubscriptionRequest(channel=channel, visits=[SLUG], offsets=offsets, timezone=tz)
    created = create_subscription(
        services.db, services.settings, request, utc_now(), confirmed=True
    )
    return created.subscription.id


def clock(instant: datetime, tz: str) -> str:
    local = instant.astimezone(ZoneInfo(tz))
    return f"{local:%H:%M} {local.tzname()}"


def expected_lines(
    title: str, key: str, start: datetime, visit_tz: str, follower_tz: str, lead: str
) -> tuple[str, list[str]]:
    """The reminder's title and body lines, written out from the segment's instants."""
    subject = (
        f"{title} — A Guest and A Host — Nara — in {lead}: "
        f"{clock(start, visit_tz)} / {clock(start, follower_tz)}"
    )
    here, there = start.astimezone(ZoneInfo(visit_tz)), start.astimezone(ZoneInfo(follower_tz))
    lines = [
        subject,
        "",
        f"Visit: Test visit {SLUG}",
        f"When: {here:%a} {here.day} {here:%b %Y %H:%M} {here.tzname()} ({visit_tz})",
        f"Your time: {there:%a} {there.day} {there:%b %Y %H:%M} {there.tzname()} ({follower_tz})",
        "Where: Nara",
        "Who: A Guest, A Host",
        "Status: confirmed",
        "",
        f"Add to your calendar: {BASE_URL}/visits/{SLUG}/segments/{key}.ics",
        f"Follow the visit: {BASE_URL}/feeds/visits/{SLUG}.ics",
    ]
    return subject, lines


def test_email_and_webhook_arrive_within_one_second_of_due_with_the_right_text(
    services_with: Callable[..., Services],
) -> None:
    services = services_with()
    start = whole_second(7)
    visit_tz = daytime_zone(start, start + timedelta(hours=1))
    tomorrow = start.astimezone(ZoneInfo(visit_tz)).date() + timedelta(days=1)
    # Two segments at the same instant, as in the seed (arrival and summit, 13th afternoon):
    # a follower's two reminders are due together and both must be on time.
    segments = [
        Seg("talks", "Talks between the leaders", start=start),
        Seg("lunch", "Working lunch", start=start, kind="meal"),
        Seg("farewell", "Farewell", day=tomorrow, kind="departure"),
    ]
    apply(services, SLUG, segments, visit_tz)
    with SmtpReceiver() as smtp, HttpReceiver() as http, worker_in_process(services):
        mail_id = subscribe(services, smtp.url(), ["3s"], "Europe/Rome")
        hook_id = subscribe(services, http.url("hook"), ["3s"], "America/St_Johns")
        due = start - timedelta(seconds=3)
        mails = smtp.wait_mails(2, timeout=15)
        hooks = http.wait_accepted(2, timeout=15)
        assert wait_until(lambda: len(smtp.mails) >= 2 and len(http.accepted) >= 2, 5)

    assert len(mails) == 2 and len(hooks) == 2, (mails, hooks)
    for arrival in [m.at for m in mails] + [h.at for h in hooks]:
        assert due <= arrival < due + ON_TIME, f"arrived {arrival - due} after due"

    # The email: from the configured sender, to the follower, with our login, plain text.
    assert smtp.logins and set(smtp.logins) == {("visitcal", "s3cret-pw")}
    by_subject = {mail.subject: mail for mail in mails}
    for title, key in (("Talks between the leaders", "talks"), ("Working lunch", "lunch")):
        subject, lines = expected_lines(title, key, start, visit_tz, "Europe/Rome", "3 seconds")
        mail = by_subject[subject]
        assert mail.sender == "visitcal@example.test"
        assert mail.recipients == ["follower@example.test"]
        assert mail.content_type == "text/plain"  # our plain text, line by line
        body = mail.body.replace("\r\n", "\n").splitlines()
        assert body[: len(lines)] == lines, mail.body
        assert body[len(lines)].startswith(f"Unsubscribe: {BASE_URL}/subscriptions/{mail_id}/")

    # The webhook: Apprise's JSON with the same words in the follower's zone.
    by_title = {hook.title: hook for hook in hooks}
    for title, key in (("Talks between the leaders", "talks"), ("Working lunch", "lunch")):
        subject, lines = expected_lines(
            title, key, start, visit_tz, "America/St_Johns", "3 seconds"
        )
        hook = by_title[subject]
        assert hook.path == "/hook"
        assert hook.body.splitlines()[: len(lines)] == lines
        assert hook.unsubscribe_link.startswith(f"{BASE_URL}/subscriptions/{hook_id}/unsubscribe?")

    sent = [r for r in reminders(services) if r.state == "sent"]
    assert len(sent) == 4
    for row in sent:
        assert row.due_at == due and row.attempts == 1 and not row.late
        assert row.sent_at is not None and row.sent_at - row.due_at < ON_TIME
    # Each message carries its reminder's id (a mail header; a webhook's header and payload).
    ids = {r.subscription_id: set() for r in sent}
    for row in sent:
        ids[row.subscription_id].add(f"visitcal-{row.id}-{int(row.due_at.timestamp())}")
    assert {mail.message_id for mail in mails} == ids[mail_id]
    assert {(hook.message_id, hook.payload_id) for hook in hooks} == {
        (each, each) for each in ids[hook_id]
    }

    # The unsubscribe link of the delivered reminder, followed on the real HTTP server.
    link = urlsplit(by_title[next(iter(by_title))].unsubscribe_link)
    with LiveServer(services) as live, httpx.Client(base_url=live.url) as client:
        page = client.get(f"{link.path}?{link.query}")
        assert page.status_code == 200
        assert '<form method="post">' in page.text and 'name="sig"' in page.text
        assert _subscription(services, hook_id).active  # a link preview must not unsubscribe
        sig = re.search(r'name="sig" value="([0-9a-f]+)"', page.text)
        assert sig is not None
        forged = client.post(link.path, data={"sig": "0" * len(sig.group(1))})
        assert forged.status_code == 404
        assert _subscription(services, hook_id).active
        done = client.post(link.path, data={"sig": sig.group(1)})
        assert done.status_code == 200 and "Unsubscribed" in done.text
        assert client.post(link.path, data={"sig": sig.group(1)}).status_code == 200

    assert not _subscription(services, hook_id).active
    assert _subscription(services, mail_id).active
    farewell = {r.subscription_id: r.state for r in reminders(services) if r.state != "sent"}
    assert farewell == {hook_id: "cancelled", mail_id: "pending"}


def _subscription(services: Services, subscription_id: str) -> Subscription:
    with services.db.session() as session:
        found = session.get(Subscription, subscription_id)
    assert found is not None
    return found


def test_failing_channel_is_retried_with_backoff_and_a_dead_one_ends_failed_and_listed(
    services_with: Callable[..., Services], database_url: str
) -> None:
    services = services_with(retry_base_seconds=0.2, retry_limit=2)
    start = whole_second(4)
    apply(services, SLUG, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    with HttpReceiver() as http, worker_in_process(services):
        http.answer("/flaky", 500, 500)
        http.always("/broken", 500)
        flaky = subscribe(services, http.url("flaky"), ["2s"])
        broken = create_subscription(
            services.db,
            services.settings,
            SubscriptionRequest(channel=http.url("broken"), visits=[SLUG], offsets=["2s"]),
            utc_now(),
            confirmed=True,
        )
        assert wait_until(
            lambda: {r.state for r in reminders(services)} <= {"sent", "failed"}, timeout=20
        )
        # Nothing more arrives once both are settled.
        flaky_requests = [r for r in http.requests if r.path == "/flaky"]
        broken_requests = [r for r in http.requests if r.path == "/broken"]

    # 500, 500, then 200: delivered once, after two retries spaced by the backoff.
    assert [r.status for r in flaky_requests] == [500, 500, 200]
    assert len({r.title for r in flaky_requests}) == 1
    # One id for every attempt at one delivery, in the header and the payload, so that a
    # receiver can drop a repeat; another reminder has another id.
    (row,) = reminders(services, flaky)
    assert {(r.message_id, r.payload_id) for r in flaky_requests} == {
        (f"visitcal-{row.id}-{int(row.due_at.timestamp())}",) * 2
    }
    assert {r.message_id for r in broken_requests}.isdisjoint({flaky_requests[0].message_id})
    assert flaky_requests[1].at - flaky_requests[0].at >= timedelta(seconds=0.2)
    assert flaky_requests[2].at - flaky_requests[1].at >= timedelta(seconds=0.4)
    assert (row.state, row.attempts) == ("sent", 3)

    # Always 500: tried 1 + retry_limit times, then failed with the channel's answer.
    assert [r.status for r in broken_requests] == [500, 500, 500]
    (dead,) = deliveries(services.db, broken.subscription.id)
    assert (dead.state, dead.attempts, dead.sent_at) == ("failed", 3, None)
    assert "500" in dead.result

    with LiveServer(services) as live, httpx.Client(base_url=live.url) as client:
        url = f"/subscriptions/{broken.subscription.id}/deliveries"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
        listed = client.get(url, headers={"Authorization": f"Bearer {broken.token}"})
    assert listed.status_code == 200
    (shown,) = listed.json()
    assert (shown["state"], shown["attempts"], shown["kind"]) == ("failed", 3, "reminder")
    assert shown["offset"] == "2 seconds" and "500" in shown["result"]
    assert shown["sent_at"] is None

    cli = run_cli("deliveries", "--subscription", broken.subscription.id, database_url=database_url)
    assert cli.returncode == 0, cli.stderr
    rows = [line for line in cli.stdout.splitlines() if broken.subscription.id in line]
    assert len(rows) == 1 and "failed" in rows[0] and "Talks" in rows[0], cli.stdout
    everything = run_cli("deliveries", database_url=database_url)
    assert everything.returncode == 0
    assert broken.subscription.id in everything.stdout and flaky in everything.stdout
