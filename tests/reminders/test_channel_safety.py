"""Channels people own: one confirmation message and nothing else until confirmed, and the
address policy on every channel, at sign-up and again at each send (no request reaches inside)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from service.errors import NotFound
from service.models import Subscription
from service.reminders.subscriptions import confirm_subscription
from service.reminders.worker import utc_now
from service.services import Services
from service.signing import server_secret
from service.urls import confirm_link
from tests.helpers.hostile import ConnectionCounter
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import HttpReceiver, confirm_by_link
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders, wait_until, worker_in_process

SOON = "soon-visit"


@pytest.fixture
def soon(seeded: Services) -> Any:
    """A segment two hours ahead, so that a confirmed subscription gets reminders planned."""
    start = whole_second(2 * 3600)
    apply(seeded, SOON, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    return start


@pytest.fixture
def inside_refused(seeded: Services) -> Services:
    """The operator's default: channels may not reach loopback, private or link-local."""
    seeded.settings = seeded.settings.model_copy(update={"channel_allow_private": False})
    return seeded


def subscription_rows(services: Services) -> list[Subscription]:
    with services.db.session() as session:
        return list(session.exec(Subscription.__table__.select()))  # type: ignore[attr-defined,call-overload]


def test_a_sign_up_gets_one_confirmation_message_and_nothing_else_until_confirmed(
    seeded: Services, soon: Any
) -> None:
    with HttpReceiver() as receiver, LiveServer(seeded) as live:
        body = {"channel": receiver.url("me"), "visits": [SOON], "offsets": ["1h", "90m"]}
        created = httpx.post(f"{live.url}/subscriptions", json=body)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        assert created.json()["confirmed"] is False
        (message,) = receiver.wait_accepted(1, timeout=10)
        assert "Confirm" in message.title
        link = re.search(r"(\S+/confirm\?sig=\S+)", message.body)
        assert link, message.body
        assert reminders(seeded, sid) == []  # nothing planned: nothing can be sent

        # A GET (a mail scanner, a link preview) shows the button and confirms nothing.
        local = link.group(1).replace(seeded.settings.base_url, live.url)
        page = httpx.get(local)
        assert page.status_code == 200 and '<form method="post">' in page.text
        assert reminders(seeded, sid) == []
        with worker_in_process(seeded) as worker:
            worker.run_due()
        assert len(receiver.requests) == 1  # still only the confirmation

        assert httpx.post(local).status_code == 200
        assert sorted(r.due_at for r in reminders(seeded, sid)) == [
            soon - timedelta(minutes=90),
            soon - timedelta(hours=1),
        ]
        assert httpx.post(local).status_code == 200  # confirming twice changes nothing
        assert len(reminders(seeded, sid)) == 2


def test_a_confirmation_link_is_bound_to_its_subscription_and_expires(
    seeded: Services, soon: Any
) -> None:
    with LiveServer(seeded) as live:
        body = {"channel": "json://127.0.0.1:9/hook", "visits": [SOON]}
        first = httpx.post(f"{live.url}/subscriptions", json=body).json()["id"]
        second = httpx.post(f"{live.url}/subscriptions", json=body).json()["id"]
        secret = server_secret(seeded.db, seeded.settings.secret_key)
        first_sig = confirm_link(live.url, secret, first, body["channel"]).split("sig=")[1]
        for method in ("GET", "POST"):
            forged = httpx.request(
                method, f"{live.url}/subscriptions/{second}/confirm?sig={first_sig}"
            )
            assert forged.status_code == 404, method
            unsigned = httpx.request(method, f"{live.url}/subscriptions/{second}/confirm")
            assert unsigned.status_code == 404, method
        assert reminders(seeded, second) == []
    later = utc_now() + timedelta(hours=seeded.settings.confirm_within_hours, minutes=1)
    with pytest.raises(NotFound, match="expired"):
        confirm_subscription(seeded.db, seeded.settings, first, later)
    assert reminders(seeded, first) == []


def _confirm_link_in(message_body: str, seeded: Services, live_url: str) -> str:
    link = re.search(r"(\S+/confirm\?sig=\S+)", message_body)
    assert link, message_body
    return link.group(1).replace(seeded.settings.base_url, live_url)


def test_a_confirmation_link_confirms_only_the_channel_it_was_sent_to(
    seeded: Services, soon: Any
) -> None:
    """Sign up one's own channel, point the subscription at someone else's, then follow the
    first channel's link: it must not confirm the other channel (which gets a link of its own)."""
    with HttpReceiver() as receiver, LiveServer(seeded) as live:
        body = {"channel": receiver.url("attacker"), "visits": [SOON], "offsets": ["1h"]}
        created = httpx.post(f"{live.url}/subscriptions", json=body).json()
        sid, owner = created["id"], {"Authorization": f"Bearer {created['token']}"}
        (own,) = receiver.wait_accepted(1, timeout=10)
        old_link = _confirm_link_in(own.body, seeded, live.url)

        changed = httpx.patch(
            f"{live.url}/subscriptions/{sid}",
            json={"channel": receiver.url("victim")},
            headers=owner,
        )
        assert changed.status_code == 200 and changed.json()["confirmed"] is False
        # The new channel is asked, with a link of its own.
        receiver.wait_accepted(2, timeout=10)
        (asked,) = [a for a in receiver.accepted if a.path.startswith("/victim")]
        new_link = _confirm_link_in(asked.body, seeded, live.url)
        assert new_link != old_link

        for method in ("GET", "POST"):
            assert httpx.request(method, old_link).status_code == 404, method
        still = httpx.get(f"{live.url}/subscriptions/{sid}", headers=owner).json()
        assert still["confirmed"] is False
        assert reminders(seeded, sid) == []

        assert httpx.post(new_link).status_code == 200
        assert httpx.get(f"{live.url}/subscriptions/{sid}", headers=owner).json()["confirmed"]
        assert len(reminders(seeded, sid)) == 1


def test_unconfirmed_sign_ups_are_removed_once_expired(seeded: Services, soon: Any) -> None:
    with LiveServer(seeded) as live:
        body = {"channel": "json://127.0.0.1:9/hook", "visits": [SOON]}
        stale = httpx.post(f"{live.url}/subscriptions", json=body).json()["id"]
        kept = httpx.post(f"{live.url}/subscriptions", json=body).json()["id"]
        assert confirm_by_link(seeded, live.url, kept).status_code == 200
        with seeded.db.write() as session:  # the stale one was made long ago
            row = session.get(Subscription, stale)
            assert row is not None
            row.created_at = row.changed_at = utc_now() - timedelta(days=30)
            session.add(row)
        httpx.post(f"{live.url}/subscriptions", json=body)
    ids = {row.id for row in subscription_rows(seeded)}
    assert stale not in ids and kept in ids


REFUSED_CHANNELS = [
    ("json://127.0.0.1:{port}/hook", "127.0.0.1 is not a public address"),
    ("json://localhost:{port}/hook", "a loopback, private or link-local address"),
    ("json://[::1]:{port}/hook", "is not a public address"),
    ("json://[::ffff:127.0.0.1]:{port}/hook", "Apprise does not accept"),
    ("json://[::ffff:7f00:1]:{port}/hook", "is not a public address"),
    ("json://169.254.169.254/latest/meta-data", "is not a public address"),
    ("json://10.1.2.3/hook", "is not a public address"),
    ("json://0.0.0.0:{port}/hook", "is not a public address"),
    ("xml://192.168.1.1/hook", "is not a public address"),
    ("mailto://u:p@example.com?smtp=127.0.0.1&to=a@example.com", "is not a public address"),
    ("syslog://", "syslog:// is not accepted as a channel"),
    ("windows://", "windows:// is not accepted as a channel"),
    ("dbus://", "dbus:// is not accepted as a channel"),
    ("json://hooks.example/x?+X-Api-Key=1", "cannot set HTTP headers"),
    ("json://hooks.example/x?method=DELETE", "cannot choose its HTTP method"),
    ("json://hooks.example/x?%2BCookie=a", "cannot set HTTP headers"),
]


@pytest.mark.parametrize(("channel", "reason"), REFUSED_CHANNELS)
def test_a_channel_aimed_inside_or_off_the_network_is_refused_and_nothing_is_contacted(
    inside_refused: Services, channel: str, reason: str
) -> None:
    with ConnectionCounter() as target, LiveServer(inside_refused) as live:
        url = channel.format(port=target.port)
        for path, body in (
            ("/subscriptions", {"channel": url}),
            ("/subscriptions", {"channel": url, "visits": [], "label": "x"}),
        ):
            answer = httpx.post(f"{live.url}{path}", json=body)
            assert answer.status_code == 422, answer.text
            (problem,) = answer.json()["detail"]
            assert problem["loc"][-1] == "channel" and reason in problem["msg"], problem
        form = httpx.post(
            f"{live.url}/reminders", data={"channel": url, "visits": "*", "offsets": "1h"}
        )
        assert form.status_code == 422 and reason.split(" ")[-1] in form.text
    assert subscription_rows(inside_refused) == []
    assert target.connections == 0


def test_a_channel_that_turned_inside_since_sign_up_is_refused_at_send_time(
    seeded: Services, soon: Any
) -> None:
    """Signed up while its address was allowed (here: by the setting; in life: a name that
    resolved outside), a channel that now points inside gets no request at all."""
    with ConnectionCounter() as target, LiveServer(seeded) as live:
        body = {"channel": f"json://127.0.0.1:{target.port}/hook", "visits": [SOON]}
        sid = httpx.post(f"{live.url}/subscriptions", json=body).json()["id"]
        assert wait_until(lambda: target.connections == 1, timeout=10)  # the confirmation
        assert confirm_by_link(seeded, live.url, sid).status_code == 200
    seeded.settings = seeded.settings.model_copy(update={"channel_allow_private": False})
    with seeded.db.write() as session:  # make the reminders due now
        for row in reminders(seeded, sid):
            row.next_attempt_at = utc_now() - timedelta(seconds=1)
            session.add(row)
    with worker_in_process(seeded) as worker:
        worker.run_due()
    assert target.connections == 1
    results = [r.result for r in reminders(seeded, sid)]
    assert results and all("127.0.0.1" in r and "channel_allow_private" in r for r in results)


def test_a_delivery_connects_only_to_the_address_it_checked(seeded: Services) -> None:
    """Below the per-request check, each connection goes to an address the policy checked, not
    to the name resolved once more (a rebinding name cannot change in between)."""
    from service.reminders import channels
    from service.reminders.channel_policy import ChannelPolicy

    channels.AppriseSender(ChannelPolicy.from_settings(seeded.settings))  # installs the pin
    closed = ChannelPolicy.from_settings(
        seeded.settings.model_copy(update={"channel_allow_private": False})
    )
    opened = ChannelPolicy.from_settings(seeded.settings)
    with ConnectionCounter() as target:
        token = channels._CONNECT_TO.set(closed.addresses_to_connect)
        try:
            with pytest.raises(OSError, match="loopback, private or link-local"):
                channels._connection.create_connection(("localhost", target.port), 5)
        finally:
            channels._CONNECT_TO.reset(token)
        assert target.connections == 0
        token = channels._CONNECT_TO.set(opened.addresses_to_connect)
        try:
            sock = channels._connection.create_connection(("localhost", target.port), 5)
        finally:
            channels._CONNECT_TO.reset(token)
        sock.close()
        assert wait_until(lambda: target.connections == 1, timeout=5)
