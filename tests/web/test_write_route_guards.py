"""Guards that every write needs: walked from the OpenAPI schema, so that a new route is
covered without this file changing. Every operation behind a bearer token refuses no token, a
wrong one and (for organizers) a revoked one with 401 and changes nothing; a write route
without a token has a signature or is a sign-up; an unsubscribe signature works for its own
subscription only; restricted segments get no reminders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from service.clock import utc_now
from service.models import Reminder, Segment
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.schedules import editing
from service.schedules.organizer_tokens import create_token, revoke_token
from service.services import Services
from service.signing import server_secret
from service.urls import unsubscribe_link
from tests.helpers.hostile import snapshot
from tests.helpers.live_server import LiveServer
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import LEE
from tests.helpers.workers import reminders

WRITES = ("post", "put", "patch", "delete")
# What a write route without a bearer token relies on instead.
UNGUARDED = {
    ("post", "/subscriptions"): "a sign-up: confirmed by its channel, rate limited",
    ("post", "/subscriptions/{subscription_id}/confirm"): "signed link",
    ("post", "/subscriptions/{subscription_id}/unsubscribe"): "signed link",
}


@pytest.fixture
def guarded(seeded: Services) -> Iterator[tuple[LiveServer, Services, dict[str, Any], str]]:
    create_token(seeded.db, "press-office", datetime.now(UTC))
    revoked = create_token(seeded.db, "old-desk", datetime.now(UTC))
    revoke_token(seeded.db, "old-desk", datetime.now(UTC))
    server_secret(seeded.db, seeded.settings.secret_key)
    created = create_subscription(
        seeded.db,
        seeded.settings,
        SubscriptionRequest(channel="json://127.0.0.1:9/hook"),
        utc_now(),
        confirmed=True,
    )
    with LiveServer(seeded) as live:
        yield live, seeded, live.server.config.app.fastapi.openapi(), revoked, created  # type: ignore[attr-defined]


def _path(template: str, subscription_id: str) -> str:
    return (
        template.replace("{slug}", LEE)
        .replace("{segment}", "summit")
        .replace("{subscription_id}", subscription_id)
    )


def test_every_write_route_of_the_schema_needs_a_token_or_a_signature(guarded: Any) -> None:
    _live, _services, schema, _revoked, _created = guarded
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in WRITES and not operation.get("security"):
                assert (method, template) in UNGUARDED, (method, template)


def test_every_bearer_route_refuses_no_wrong_and_revoked_tokens_and_changes_nothing(
    guarded: Any,
) -> None:
    live, services, schema, revoked, created = guarded
    before = snapshot(services, live.url)
    walked = 0
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            schemes = {name for need in operation.get("security", []) for name in need}
            if not schemes:
                continue
            url = f"{live.url}{_path(template, created.subscription.id)}"
            tokens: list[str | None] = [None, "wrong-token", created.token[:-1] + "x"]
            if "organizer" in schemes:
                tokens += [revoked, created.token]  # a follower's token is not an organizer's
            for token in tokens:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                answer = httpx.request(method, url, headers=headers, json={"title": "x"})
                assert answer.status_code == 401, (method, template, token, answer.text)
                assert answer.headers["www-authenticate"] == "Bearer"
            walked += 1
    assert walked >= 12  # the schema really was walked (organizer and subscription routes)
    assert snapshot(services, live.url) == before


def test_an_unsubscribe_signature_works_for_its_own_subscription_only(seeded: Services) -> None:
    def subscribe() -> str:
        request = SubscriptionRequest(channel="json://127.0.0.1:9/hook")
        made = create_subscription(seeded.db, seeded.settings, request, utc_now(), confirmed=True)
        return made.subscription.id

    first, second = subscribe(), subscribe()
    with LiveServer(seeded) as live:
        secret = server_secret(seeded.db, seeded.settings.secret_key)
        first_sig = unsubscribe_link(live.url, secret, first).split("sig=")[1]
        for method in ("GET", "POST"):
            url = f"{live.url}/subscriptions/{second}/unsubscribe?sig={first_sig}"
            assert httpx.request(method, url).status_code == 404, method
        assert httpx.get(f"{live.url}/subscriptions/{second}/unsubscribe").status_code == 404
        assert httpx.post(unsubscribe_link(live.url, secret, first)).status_code == 200
    with seeded.db.session() as session:
        from service.models import Subscription

        states = {s.id: s.active for s in session.exec(Subscription.__table__.select())}  # type: ignore[attr-defined,call-overload]
    assert states == {first: False, second: True}


def test_restricted_segments_get_no_reminders_nor_notices(seeded: Services) -> None:
    start = whole_second(2 * 86400)
    segments = [
        Seg("talks", "Talks", start=start),
        Seg("briefing", "Security briefing", start=start + timedelta(hours=1)),
    ]
    apply(seeded, "guarded-visit", segments, daytime_zone(start))
    editing.change_segment(
        seeded.catalog, "guarded-visit", "briefing", {"visibility": "restricted"}, "desk", utc_now()
    )
    request = SubscriptionRequest(channel="json://127.0.0.1:9/hook", offsets=["1h", "15m"])
    made = create_subscription(seeded.db, seeded.settings, request, utc_now(), confirmed=True)
    sid = made.subscription.id

    def planned_for(key: str) -> list[Reminder]:
        with seeded.db.session() as session:
            ids = {s.id for s in session.exec(select(Segment).where(Segment.key == key))}
        return [r for r in reminders(seeded, sid) if r.segment_id in ids]

    assert len(planned_for("talks")) == 2
    assert planned_for("briefing") == []
    # Changed, moved, cancelled while restricted: still nothing, not even a notice.
    later = {"start": (start + timedelta(hours=3)).astimezone(UTC).strftime("%H:%M")}
    editing.change_segment(seeded.catalog, "guarded-visit", "briefing", later, "desk", utc_now())
    editing.change_segment(
        seeded.catalog, "guarded-visit", "briefing", {"status": "cancelled"}, "desk", utc_now()
    )
    assert planned_for("briefing") == []
    # A public segment made restricted: its pending reminders are cancelled, no notice goes.
    editing.change_segment(
        seeded.catalog, "guarded-visit", "talks", {"visibility": "restricted"}, "desk", utc_now()
    )
    assert {(r.kind, r.state) for r in planned_for("talks")} == {("reminder", "cancelled")}
