"""A visit's broadcast channels: an operator adds one with `visitcal broadcast add`, each
reminder goes there once, the visit page says how to follow it, and removing it stops it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx

from service.reminders.broadcasts import broadcasts
from service.services import Services
from tests.helpers.cli import cli_env, invoke
from tests.helpers.live_server import LiveServer
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders, wait_until, worker_in_process

SOON, LATER = "broadcast-soon", "broadcast-later"


def test_a_broadcast_channel_gets_each_reminder_once_and_the_visit_page_shows_how_to_follow(
    services_with: Callable[..., Services], database_url: str
) -> None:
    services = services_with()
    start = whole_second(6)
    apply(services, SOON, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    later = whole_second(3 * 86400)
    apply(services, LATER, [Seg("dinner", "Dinner", start=later)], daytime_zone(later))
    env = cli_env(database_url, channel_allow_private=True)
    with HttpReceiver() as http:
        telegram = "https://t.me/visit_news"
        bad = invoke(env, "broadcast", "add", SOON, http.url("bc"), "--follow-url", "ftp://x")
        assert bad.exit_code == 2 and "follow_url" in bad.output, bad.output
        assert broadcasts(services.db) == []  # nothing made

        added = invoke(
            env,
            *("broadcast", "add", SOON, http.url("bc"), "--label", "Visit news on Telegram"),
            *("--follow-url", telegram, "--before", "3s"),
        )
        assert added.exit_code == 0, added.output
        topic = f"ntfy://127.0.0.1:{http.port}/visit-later"
        ntfy = invoke(env, "broadcast", "add", LATER, topic, "--before", "1h")
        assert ntfy.exit_code == 0, ntfy.output
        # An ntfy topic's address is known without being told.
        assert f"followed at http://127.0.0.1:{http.port}/visit-later" in ntfy.output

        with LiveServer(services) as live:
            soon_page = httpx.get(f"{live.url}/visits/{SOON}").text
            later_page = httpx.get(f"{live.url}/visits/{LATER}").text
            assert "Visit news on Telegram" in soon_page and f'href="{telegram}"' in soon_page
            assert "visit-later" not in soon_page  # each visit shows its own
            assert f'href="http://127.0.0.1:{http.port}/visit-later"' in later_page

            with worker_in_process(services):
                assert wait_until(lambda: any(a.path == "/bc" for a in http.accepted), 15)
                # The reminder is recorded sent before any second copy could be due.
                soon_id = broadcasts(services.db, SOON)[0].id
                assert wait_until(
                    lambda: {r.state for r in reminders(services, soon_id)} == {"sent"}, 5
                )
            (arrival,) = [a for a in http.accepted if a.path == "/bc"]
            assert arrival.title.startswith("Talks") and arrival.message_id

            listed = invoke(env, "broadcast", "list")
            assert listed.exit_code == 0 and soon_id in listed.output and telegram in listed.output
            removed = invoke(env, "broadcast", "remove", soon_id)
            assert removed.exit_code == 0, removed.output
            assert "Visit news" not in httpx.get(f"{live.url}/visits/{SOON}").text
            gone = invoke(env, "broadcast", "remove", soon_id)
            assert gone.exit_code == 3 and soon_id in gone.output

    assert [b.visit for b in broadcasts(services.db)] == [LATER]
    (pending,) = reminders(services, broadcasts(services.db)[0].id)
    assert pending.state == "pending" and pending.due_at == later - timedelta(hours=1)
