"""Email as the first channel, end to end on loopback: a plain address signs up, a confirmation
mail comes first (and nothing else until it is confirmed), reminders are well-formed mails,
and the one-click unsubscribe of RFC 8058 ends it with a bare POST."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import select

from service.models import Subscription
from service.reminders.email_address import email_channel
from service.reminders.mail_store import MailStore, readable_text
from service.reminders.outbox import Outbox
from service.services import Services
from tests.helpers.cli import cli_env, invoke
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import Mail, SmtpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import BASE_URL, make_settings
from tests.helpers.workers import reminders, wait_until, worker_in_process

SLUG = "email-visit"


def _subscription(services: Services, subscription_id: str) -> Subscription:
    with services.db.session() as session:
        found = session.get(Subscription, subscription_id)
    assert found is not None
    return found


def _on(server: LiveServer, link: str) -> str:
    """A link as mailed (with the configured base URL), on the live server instead."""
    parts = urlsplit(link)
    return f"{server.url}{parts.path}?{parts.query}"


def _alternatives(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): str(part.get_content())  # type: ignore[attr-defined]
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


def _well_formed(mail: Mail) -> None:
    message = mail.message
    for header in ("Message-ID", "Date", "From", "To", "Subject", "List-Id"):
        assert message[header], header
    assert message["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))
    parts = _alternatives(message)
    assert {"text/plain", "text/html"} <= set(parts)


@pytest.mark.parametrize(
    ("typed", "channel"),
    [
        ("Press@Example.ORG", "mailto:Press@example.org"),
        ("  mailto:desk@news.example.co.jp ", "mailto:desk@news.example.co.jp"),
        ("press@예시.한국", "mailto:press@xn--vv4b11d.xn--3e0b707e"),
    ],
)
def test_a_typed_address_becomes_an_email_channel(typed: str, channel: str) -> None:
    assert email_channel(typed) == channel


@pytest.mark.parametrize(
    "typed",
    [
        "press@",
        "@example.org",
        "기자@example.org",
        "a@b",
        "a..b@example.org",
        "a@exa mple.org",
        "a@-x.org",
    ],
)
def test_a_malformed_address_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        email_channel(typed)


def test_api_refuses_a_malformed_address_naming_the_field(client: httpx.Client) -> None:
    answer = client.post("/subscriptions", json={"channel": "press@example..org"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "channel"


def test_sign_up_confirm_remind_and_one_click_unsubscribe_over_smtp(
    services_with: Callable[..., Services],
) -> None:
    with SmtpReceiver() as smtp:
        services = services_with(smtp_url=smtp.relay_url(), organizer_email="visits@example.test")
        start = whole_second(9)
        visit_tz = daytime_zone(start, start + timedelta(hours=1))
        apply(services, SLUG, [Seg("talks", "Talks between the leaders", start=start)], visit_tz)
        with LiveServer(services) as live, worker_in_process(services), httpx.Client() as http:
            body = {"visits": [SLUG], "offsets": ["3s"], "timezone": "Europe/Rome"}
            made = http.post(
                f"{live.url}/subscriptions", json={**body, "channel": "press@example.test"}
            )
            assert made.status_code == 201 and made.json()["confirmed"] is False
            stranger = http.post(
                f"{live.url}/subscriptions", json={**body, "channel": "bystander@example.test"}
            )
            assert stranger.status_code == 201
            mails = smtp.wait_mails(2, timeout=10)
            confirmation = next(m for m in mails if m.recipients == ["press@example.test"])
            _well_formed(confirmation)
            assert confirmation.sender == "visits@example.test"
            assert confirmation.message["List-Unsubscribe"] is None  # nothing to leave yet
            link = re.search(r"(http\S+/confirm\?sig=\S+)", confirmation.body)
            assert link, confirmation.body
            assert http.post(_on(live, link[1])).status_code == 200

            assert wait_until(lambda: len(smtp.mails) >= 3, 15)
            reminder = smtp.mails[2]
        assert smtp.logins and set(smtp.logins) == {("visitcal", "s3cret-pw")}

    subscription_id = made.json()["id"]
    assert reminder.recipients == ["press@example.test"]
    assert reminder.subject.startswith("Talks between the leaders")
    _well_formed(reminder)
    message = reminder.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    assert unsubscribe.startswith(f"{BASE_URL}/subscriptions/{subscription_id}/unsubscribe?sig=")
    html = _alternatives(message)["text/html"]
    assert "Talks between the leaders" in html and "<a href=" in html
    assert "(Europe/Rome)" in reminder.body and f"({visit_tz})" in reminder.body
    # The address signed up by someone else got its confirmation and nothing more.
    assert [m.recipients for m in smtp.mails].count(["bystander@example.test"]) == 1
    bystander = stranger.json()["id"]
    assert reminders(services, bystander) == []

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the URL, no cookie, no page.
    with LiveServer(services) as live:
        answer = httpx.post(
            _on(live, unsubscribe),
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    assert not _subscription(services, subscription_id).active


def test_one_connection_carries_many_mails(sqlite_url: str) -> None:
    with SmtpReceiver() as smtp:
        outbox = Outbox(make_settings(sqlite_url, smtp_url=smtp.relay_url(), smtp_connections=1))
        try:
            outcomes = [
                outbox.send(f"mailto:f{n}@example.test", f"Mail {n}", "Text.\n") for n in range(20)
            ]
            assert all(o.ok for o in outcomes), outcomes
            assert smtp.wait_mails(20, timeout=10)
        finally:
            outbox.close()
    assert outbox.mail.connects == 1  # type: ignore[union-attr]
    assert len({m.message["Message-ID"] for m in smtp.mails}) == 20


def test_a_relay_that_went_away_is_a_failed_delivery_not_a_crash(sqlite_url: str) -> None:
    smtp = SmtpReceiver().__enter__()
    outbox = Outbox(make_settings(sqlite_url, smtp_url=smtp.relay_url(), smtp_connections=1))
    try:
        first = outbox.send("mailto:one@example.test", "One", "Text.\n")
    finally:
        smtp.__exit__(None, None, None)
    down = outbox.send("mailto:two@example.test", "Two", "Text.\n")
    outbox.close()
    assert first.ok
    assert not down.ok and "127.0.0.1" in down.answer  # retried by the worker, never dropped


def test_without_a_relay_mail_is_kept_and_shown_by_the_mail_command(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, smtp_url="")
    outbox = Outbox(settings)
    outcome = outbox.send("mailto:new@example.test", "Confirm your visitcal reminders", "Go: x\n")
    assert outcome.ok and "kept in" in outcome.answer
    store = MailStore(settings.mail_dir)
    [kept] = store.list()
    assert kept.to == "new@example.test"
    env = cli_env(sqlite_url, mail_dir=store.path, smtp_url="")
    listed = invoke(env, "mail", "list")
    assert listed.exit_code == 0 and kept.id in listed.output, listed.output
    shown = invoke(env, "mail", "show", kept.id[:8])
    assert shown.exit_code == 0 and "Go: x" in shown.output
    assert "To: new@example.test" in shown.output
    missing = invoke(env, "mail", "show", "nothing-like-it")
    assert missing.exit_code == 2
    status = invoke(env, "status")
    assert status.exit_code == 0 and "mail: Email is not sent" in status.output
    _, message = store.get(kept.id)
    assert readable_text(message).strip() == "Go: x"


def test_a_sign_up_on_the_page_without_a_relay_keeps_the_confirmation(
    client: httpx.Client, seeded: Services
) -> None:
    page = client.get("/reminders").text
    assert "visitcal mail list" in page
    form = {"channel": "press@example.test", "visits": "*", "offsets": "1h", "timezone": "UTC"}
    answer = client.post("/reminders", data=form)
    assert answer.status_code == 201 and "visitcal mail list" in answer.text
    store = MailStore(seeded.settings.mail_dir)
    assert wait_until(lambda: len(store.list()) == 1, 10)
    [kept] = store.list()
    _, message = store.get(kept.id)
    assert "/confirm?sig=" in readable_text(message)
    with seeded.db.session() as session:
        [row] = session.exec(select(Subscription)).all()
    assert row.channel == "mailto:press@example.test" and not row.confirmed


def test_the_page_offers_invitations_for_email_and_refuses_them_elsewhere(
    client: httpx.Client, seeded: Services
) -> None:
    form = {"visits": "*", "offsets": "1h", "timezone": "UTC", "invitations": "on"}
    refused = client.post("/reminders", data={**form, "channel": "json://127.0.0.1:9/hook"})
    assert refused.status_code == 422 and "calendar invitations come by email" in refused.text
    taken = client.post("/reminders", data={**form, "channel": "desk@example.test"})
    assert taken.status_code == 201
    with seeded.db.session() as session:
        [row] = session.exec(select(Subscription)).all()
    assert row.invitations and row.channel == "mailto:desk@example.test"
