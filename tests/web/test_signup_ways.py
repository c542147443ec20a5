"""The sign-up form's ways to be reached without knowing Apprise: email, push to a phone (ntfy
topic and its QR code), a chat app's webhook URL, a developer's webhook; each one a channel that
is confirmed before anything else reaches it."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from service.errors import InputError
from service.models import Subscription
from service.services import Services
from service.web.channel_choice import channel_for, qr_svg, suggested_topic

NTFY = "https://ntfy.sh"


@pytest.mark.parametrize(
    ("how", "typed", "channel"),
    [
        ("email", {"channel": "desk@example.org"}, "desk@example.org"),
        ("phone", {"topic": "visitcal-abcdefgh"}, "ntfys://ntfy.sh/visitcal-abcdefgh"),
        (
            "chat",
            {"chat_url": "https://discord.com/api/webhooks/123456/abcdefABCDEF"},
            "discord://123456/abcdefABCDEF/",
        ),
        (
            "webhook",
            {"webhook_url": "https://hooks.example.org/in/42"},
            "jsons://hooks.example.org/in/42",
        ),
    ],
)
def test_each_way_becomes_a_channel(how: str, typed: dict[str, str], channel: str) -> None:
    assert channel_for(how, typed, NTFY) == channel


@pytest.mark.parametrize(
    ("how", "typed", "field"),
    [
        ("phone", {"topic": "short"}, "topic"),
        ("phone", {"topic": "has space in it"}, "topic"),
        ("chat", {"chat_url": "https://example.org/not-a-chat-app"}, "chat_url"),
        ("chat", {"chat_url": "slack://T1/B2/C3"}, "chat_url"),
        ("webhook", {"webhook_url": "ftp://example.org/x"}, "webhook_url"),
        ("webhook", {"webhook_url": "https://example.org/x?method=GET"}, "webhook_url"),
        ("pigeon", {}, "how"),
    ],
)
def test_a_wrong_entry_names_its_field(how: str, typed: dict[str, str], field: str) -> None:
    with pytest.raises(InputError) as refused:
        channel_for(how, typed, NTFY)
    assert refused.value.field == field


def test_topics_are_unguessable_and_the_qr_code_is_inline_svg() -> None:
    assert suggested_topic() != suggested_topic()
    svg = str(qr_svg(f"{NTFY}/{suggested_topic()}"))
    assert svg.startswith("<svg") and "<script" not in svg


def test_push_to_a_phone_on_the_page(client: httpx.Client, seeded: Services) -> None:
    page = client.get("/reminders").text
    assert '<div class="qr" aria-hidden="true"><svg' in page
    for way in ("Email", "Push to my phone", "A chat app", "A webhook (for developers)"):
        assert way in page
    form = {"how": "phone", "topic": "visitcal-page-test", "visits": "*", "offsets": "15m"}
    assert client.post("/reminders", data=form).status_code == 201
    with seeded.db.session() as session:
        [row] = session.exec(select(Subscription)).all()
    assert row.channel == "ntfys://ntfy.sh/visitcal-page-test" and not row.confirmed
    wrong = client.post("/reminders", data={**form, "topic": "x"})
    assert wrong.status_code == 422 and 'id="topic-error"' in wrong.text
