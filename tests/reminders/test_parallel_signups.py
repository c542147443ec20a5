"""Sign-ups beside many future segments: 100 at once over real HTTP all answer, and each plans
exactly the segments it follows (a sign-up looks only at those, in a short transaction)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import Table, insert
from sqlmodel import col, select

from service.clock import utc_now
from service.models import Segment, Visit
from service.reminders.subscriptions import current_channel
from service.services import Services
from service.signing import server_secret
from service.urls import confirm_link
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import HttpReceiver
from tests.helpers.workers import reminders

VISITS = 20
SEGMENTS_PER_VISIT = 100  # 2,000 future segments: enough that planning all of them shows
PARALLEL = 100

SEGMENTS: Table = Segment.__table__  # type: ignore[attr-defined]


def add_future_segments(services: Services) -> dict[str, set[int]]:
    """VISITS visits of SEGMENTS_PER_VISIT segments over the coming days, written directly (the
    catalog's own path is tested elsewhere); slug -> its segment ids."""
    now = utc_now().replace(microsecond=0)
    with services.db.write() as session:
        visits = [
            Visit(
                slug=f"busy-{v:02d}",
                title=f"Busy visit {v}",
                guest_name="A Guest",
                guest_office="Prime Minister",
                place="Nara",
                first_day=now.date(),
                last_day=now.date() + timedelta(days=5),
                created_at=now,
                changed_at=now,
            )
            for v in range(VISITS)
        ]
        session.add_all(visits)
        session.flush()
        rows: list[dict[str, object]] = []
        for visit in visits:
            for m in range(SEGMENTS_PER_VISIT):
                start = now + timedelta(days=1, minutes=m)
                rows.append(
                    {
                        "visit_id": visit.id,
                        "key": f"s{m:03d}",
                        "uid": f"{visit.slug}.s{m:03d}@visitcal.test",
                        "kind": "meal" if m % 10 == 0 else "meeting",
                        "title": f"Meeting {m}",
                        "start_at": start,
                        "end_at": start + timedelta(minutes=30),
                        "participants": [],
                        "tags": [],
                        "created_at": now,
                        "changed_at": now,
                    }
                )
        session.execute(insert(SEGMENTS), rows)
    with services.db.session() as session:
        found: dict[str, set[int]] = {}
        for segment, visit in session.exec(
            select(Segment, Visit).join(Visit, col(Visit.id) == col(Segment.visit_id))
        ):
            assert segment.id is not None
            found.setdefault(visit.slug, set()).add(segment.id)
    return found


def confirm(services: Services, server_url: str, subscription_id: str) -> httpx.Response:
    """Press Confirm on the link the confirmation message carries; waiting as long as a hundred
    writers in turn may take on a busy machine (the answer, not its speed, is under test)."""
    secret = server_secret(services.db, services.settings.secret_key)
    channel = current_channel(services.db, subscription_id)
    return httpx.post(confirm_link(server_url, secret, subscription_id, channel), timeout=60)


def test_a_hundred_parallel_signups_beside_thousands_of_segments_all_answer_and_plan_right(
    services_with: Callable[..., Services],
) -> None:
    services = services_with()
    by_visit = add_future_segments(services)
    with HttpReceiver() as http, LiveServer(services) as live:

        def sign_up(k: int) -> httpx.Response:
            body = {
                "channel": http.url(f"f{k}"),
                "visits": [f"busy-{k % VISITS:02d}"],
                "offsets": ["1h", "15m"],
                # Every tenth follower wants only the meals: filtered in the query too.
                **({"kinds": ["meal"]} if k % 10 == 0 else {}),
            }
            return httpx.post(f"{live.url}/subscriptions", json=body, timeout=60)

        with ThreadPoolExecutor(PARALLEL) as pool:
            created = list(pool.map(sign_up, range(PARALLEL)))
        assert Counter(r.status_code for r in created) == {201: PARALLEL}, [
            r.text for r in created if r.status_code != 201
        ][:3]
        ids = [r.json()["id"] for r in created]
        assert reminders(services) == []  # unconfirmed: nothing planned

        with ThreadPoolExecutor(PARALLEL) as pool:
            confirmed = list(pool.map(lambda sid: confirm(services, live.url, sid), ids))
        assert Counter(r.status_code for r in confirmed) == {200: PARALLEL}

    planned = Counter((r.subscription_id, r.segment_id) for r in reminders(services))
    with services.db.session() as session:
        kinds = {s.id: s.kind for s in session.exec(select(Segment))}
    for k, subscription_id in enumerate(ids):
        followed = by_visit[f"busy-{k % VISITS:02d}"]
        if k % 10 == 0:
            followed = {sid for sid in followed if kinds[sid] == "meal"}
        mine = {seg: n for (sub, seg), n in planned.items() if sub == subscription_id}
        assert mine == dict.fromkeys(followed, 2), f"follower {k}"
    assert {r.state for r in reminders(services)} == {"pending"}
