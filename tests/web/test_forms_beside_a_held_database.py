"""Anonymous form posts that wait for a held database hold nobody else: while one waits for the
write lock, /healthz still answers (their database work runs in the thread pool, not on the
event loop). Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.locks import held
from tests.helpers.receivers import confirm_by_link
from tests.helpers.services import LEE

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


def _sign_up(live: LiveServer, created: dict[str, str]) -> httpx.Response:
    body = {"channel": "json://127.0.0.1:9/form", "visits": LEE, "offsets": "1h"}
    return httpx.post(f"{live.url}/reminders", data=body, headers=FORM, timeout=120)


def _unsubscribe(live: LiveServer, created: dict[str, str]) -> httpx.Response:
    body = {"subscription": created["id"], "token": created["token"]}
    return httpx.post(f"{live.url}/reminders/unsubscribe", data=body, headers=FORM, timeout=120)


def _signed_unsubscribe(live: LiveServer, created: dict[str, str]) -> httpx.Response:
    link = created["unsubscribe_url"].split("/subscriptions/", 1)[1]
    return httpx.post(f"{live.url}/subscriptions/{link}", timeout=120)


Post = Callable[[LiveServer, dict[str, str]], httpx.Response]


def _writing(services: Services) -> bool:
    """Whether a request of the server has a write connection out (it is waiting for the lock,
    or past it: either way in the middle of its database work)."""
    return services.db.write_engine.pool.checkedout() > 0  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("post", [_sign_up, _unsubscribe, _signed_unsubscribe])
def test_a_form_post_waiting_for_a_held_database_does_not_stop_healthz(
    seeded: Services, database_url: str, post: Post
) -> None:
    with LiveServer(seeded) as live, ThreadPoolExecutor(1) as pool:
        body = {"channel": "json://127.0.0.1:9/hook", "visits": [LEE]}
        created = httpx.post(f"{live.url}/subscriptions", json=body).json()
        assert confirm_by_link(seeded, live.url, created["id"]).status_code == 200
        with held(database_url):
            waiting = pool.submit(post, live, created)
            deadline = time.monotonic() + 30
            while not _writing(seeded):
                assert not waiting.done(), waiting.result().text
                assert time.monotonic() < deadline, "the post never reached the database"
                time.sleep(0.01)
            health = httpx.get(f"{live.url}/healthz", timeout=120)
            # Answered while the post still waits for the lock: the loop was free.
            assert health.status_code == 200
            assert not waiting.done()
        answer = waiting.result()
    assert answer.status_code in (200, 201), answer.text
