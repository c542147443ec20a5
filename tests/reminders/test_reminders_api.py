"""Subscribing to reminders over real HTTP and from the command line: tokens, validation that
names the field and writes nothing, secrets never shown back, and ending a subscription."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from service.errors import Unauthorized
from service.models import Reminder, Subscription
from service.reminders.subscriptions import authorize
from service.services import Services
from tests.helpers.cli import cli_process, run_cli
from tests.helpers.receivers import confirm_by_link
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders

FUTURE = "future-visit"
SECRET = "s3cret-Pa55"
CHANNEL = f"json://watcher:{SECRET}@127.0.0.1:9/hook"
MAIL = f"mailto://visitcal:{SECRET}@localhost:2525?smtp=127.0.0.1&from=a@example.test&to=b@example.test"


@pytest.fixture
def future(seeded: Services) -> Any:
    """A visit two days ahead (the seed visits are past), so that reminders get planned."""
    start = whole_second(2 * 86400)
    apply(seeded, FUTURE, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    return start


def counts(services: Services) -> tuple[int, int]:
    with services.db.session() as session:
        return (
            len(session.exec(Subscription.__table__.select()).all()),  # type: ignore[attr-defined]
            len(session.exec(Reminder.__table__.select()).all()),  # type: ignore[attr-defined]
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_subscription_lifecycle_needs_its_token_and_never_shows_the_secret(
    seeded: Services, future: Any, client: httpx.Client
) -> None:
    body = {"channel": CHANNEL, "visits": [FUTURE], "offsets": ["1d", "1h", "15m"]}
    created = client.post("/subscriptions", json={**body, "timezone": "Europe/Rome"})
    assert created.status_code == 201, created.text
    answer = created.json()
    sid, token = answer["id"], answer["token"]
    assert re.fullmatch(r"[0-9a-f]{16}", sid) and len(token) >= 40
    assert (
        SECRET not in created.text and answer["channel"] == "json://watcher:****@127.0.0.1:9/hook"
    )
    assert answer["offsets"] == ["1 day", "1 hour", "15 minutes"]
    assert answer["timezone"] == "Europe/Rome"
    assert answer["unsubscribe_url"].startswith(f"http://visitcal.test/subscriptions/{sid}/")
    assert answer["confirmed"] is False and reminders(seeded, sid) == []  # not before confirmed
    assert confirm_by_link(seeded, str(client.base_url).rstrip("/"), sid).status_code == 200
    pending = reminders(seeded, sid)
    assert sorted(r.due_at for r in pending) == [
        future - timedelta(days=1),
        future - timedelta(hours=1),
        future - timedelta(minutes=15),
    ]

    url = f"/subscriptions/{sid}"
    for method in ("GET", "PATCH", "DELETE"):
        for headers in ({}, bearer("wrong"), bearer(token[:-1])):
            refused = client.request(method, url, headers=headers, json={"label": "x"})
            assert refused.status_code == 401, (method, headers)
            assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get(f"{url}/deliveries").status_code == 401

    shown = client.get(url, headers=bearer(token))
    assert shown.status_code == 200 and SECRET not in shown.text
    assert "****" in shown.json()["channel"]

    # A new channel and offsets: the secret stays hidden; the new channel is confirmed anew
    # before anything goes to it, then the reminders are planned anew.
    changed = client.patch(
        url, headers=bearer(token), json={"channel": MAIL, "offsets": ["2h"], "label": "desk"}
    )
    assert changed.status_code == 200, changed.text
    assert SECRET not in changed.text and "****" in changed.json()["channel"]
    assert changed.json()["offsets"] == ["2 hours"] and changed.json()["label"] == "desk"
    assert changed.json()["confirmed"] is False
    assert {r.state for r in reminders(seeded, sid)} == {"cancelled"}
    assert confirm_by_link(seeded, str(client.base_url).rstrip("/"), sid).status_code == 200
    rows = reminders(seeded, sid)
    assert sorted((r.state, r.due_at) for r in rows) == sorted(
        [("cancelled", r.due_at) for r in pending] + [("pending", future - timedelta(hours=2))]
    )
    assert SECRET not in client.get(url, headers=bearer(token)).text

    deleted = client.delete(url, headers=bearer(token))
    assert deleted.status_code == 204
    assert {r.state for r in reminders(seeded, sid)} == {"cancelled"}
    assert client.get(url, headers=bearer(token)).status_code == 404
    assert client.delete(url, headers=bearer(token)).status_code == 404


BAD: list[tuple[dict[str, Any], str]] = [
    ({"channel": "not a url"}, "channel"),
    ({"channel": "nosuchscheme://host/path"}, "channel"),
    ({"channel": ""}, "channel"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"offsets": ["0s"]}, "offsets"),
    ({"offsets": ["0"]}, "offsets"),
    ({"offsets": ["-1h"]}, "offsets"),
    ({"offsets": ["31d"]}, "offsets"),
    ({"offsets": ["1h", "P40D"]}, "offsets"),
    ({"offsets": []}, "offsets"),
    ({"offsets": ["P1M"]}, "offsets"),  # months and years have no fixed length
    ({"offsets": ["P1Y"]}, "offsets"),
    ({"offsets": ["\u0661h"]}, "offsets"),  # ARABIC-INDIC DIGIT ONE: digits are 0-9
    ({"offsets": ["PT\u0661H"]}, "offsets"),
    ({"visits": ["no-such-visit"]}, "visits"),
    ({"kinds": ["party"]}, "kinds"),
    ({"surprise": True}, "surprise"),
]


def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    seeded: Services, future: Any, client: httpx.Client
) -> None:
    good = {"channel": CHANNEL, "visits": [FUTURE], "offsets": ["1h"], "timezone": "UTC"}
    before = counts(seeded)
    for change, field in BAD:
        answer = client.post("/subscriptions", json={**good, **change})
        assert answer.status_code == 422, (change, answer.text)
        (error, *_) = answer.json()["detail"]
        assert error["loc"][:2] == ["body", field], (change, error)
        assert error["msg"]
        assert SECRET not in answer.text
        assert counts(seeded) == before, change

    created = client.post("/subscriptions", json=good).json()
    url, token = f"/subscriptions/{created['id']}", created["token"]
    before = counts(seeded)
    planned = [(r.id, r.state, r.due_at) for r in reminders(seeded)]
    for change, field in BAD:
        answer = client.patch(url, headers=bearer(token), json=change)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["detail"][0]["loc"][:2] == ["body", field]
    assert counts(seeded) == before
    assert [(r.id, r.state, r.due_at) for r in reminders(seeded)] == planned
    unchanged = client.get(url, headers=bearer(token)).json()
    assert (unchanged["offsets"], unchanged["timezone"]) == (["1 hour"], "UTC")


def test_an_offset_in_months_is_refused_with_why_and_minutes_are_kept(
    seeded: Services, future: Any, client: httpx.Client
) -> None:
    good = {"channel": CHANNEL, "visits": [FUTURE], "timezone": "UTC"}
    refused = client.post("/subscriptions", json={**good, "offsets": ["P1M"]})
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", "offsets"] and "months" in error["msg"], error
    kept = client.post("/subscriptions", json={**good, "offsets": ["P1DT1M", "PT5M"]})
    assert kept.status_code == 201, kept.text
    assert kept.json()["offsets"] == ["1 day 1 minute", "5 minutes"]


def test_cli_subscribe_list_and_unsubscribe(seeded_sqlite: Services) -> None:
    services = seeded_sqlite
    start = whole_second(2 * 86400)
    apply(services, FUTURE, [Seg("talks", "Talks", start=start)], daytime_zone(start))
    url = services.settings.database_url
    good = ["subscribe", "--channel", CHANNEL, "--visit", FUTURE, "--tz", "Europe/Rome"]
    bad = {
        "timezone": [*good[:5], "--tz", "Mars/Base"],
        "offsets": [*good, "--before=1h,-1h"],
        "visits": [*good[:3], "--visit", "no-such-visit"],
        "channel": ["subscribe", "--channel", "nosuchscheme://x", "--visit", FUTURE],
    }
    # Every bad input at once: each is a process start (the API test covers every rule).
    running = {field: cli_process(*args, database_url=url) for field, args in bad.items()}
    for field, process in running.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 2, (field, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), (field, err)
        assert SECRET not in err and out == ""
    assert counts(services) == (0, 0)

    made = run_cli(*good, "--before", "1d,1h,15m", database_url=url)
    assert made.returncode == 0, made.stderr
    found = re.search(
        r"subscribed ([0-9a-f]{16}) \((.*)\)\nmanage token \(shown once\): (\S+)", made.stdout
    )
    assert found, made.stdout
    sid, shown_channel, token = found.groups()
    assert shown_channel == "json://watcher:****@127.0.0.1:9/hook" and SECRET not in made.stdout
    assert authorize(services.db, sid, token).timezone == "Europe/Rome"
    with pytest.raises(Unauthorized):
        authorize(services.db, sid, "not-the-token")
    assert sorted(r.offset_seconds for r in reminders(services, sid)) == [900, 3600, 86400]

    listed = run_cli("subscriptions", database_url=url)
    assert listed.returncode == 0
    (row,) = [line for line in listed.stdout.splitlines() if sid in line]
    assert "json://watcher:****@127.0.0.1:9/hook" in row and FUTURE in row
    assert "Europe/Rome" in row and "1 day, 1 hour, 15 minutes" in row
    assert SECRET not in listed.stdout

    ended = run_cli("unsubscribe", sid, database_url=url)
    assert ended.returncode == 0 and ended.stdout.strip() == f"unsubscribed {sid}"
    assert Counter(r.state for r in reminders(services, sid)) == {"cancelled": 3}
    assert sid not in run_cli("subscriptions", database_url=url).stdout
    again = run_cli("unsubscribe", sid, database_url=url)
    assert again.returncode == 3 and again.stderr.startswith("error: no subscription")
