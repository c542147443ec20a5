"""Hostile input over real HTTP: every class is answered with a 4xx naming the field (or 413 /
429), never a 5xx, and changes nothing (every table's rows and the public feeds' bytes)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from service.schedules.organizer_tokens import create_token
from service.services import Services
from service.signing import server_secret
from tests.helpers.hostile import ConnectionCounter, field_of, snapshot
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE


@pytest.fixture
def server(seeded: Services) -> Iterator[tuple[LiveServer, dict[str, str], Services]]:
    token = create_token(seeded.db, "press-office", datetime.now(UTC))
    server_secret(seeded.db, seeded.settings.secret_key)  # made once, on first use: made now
    with LiveServer(seeded) as live:
        yield live, {"Authorization": f"Bearer {token}"}, seeded


SEGMENT = f"/api/visits/{LEE}/segments/summit"
NEW_VISIT: dict[str, Any] = {
    "slug": "hostile-visit",
    "title": "A visit",
    "first_day": "2026-03-01",
    "last_day": "2026-03-02",
    "guest": {"name": "A Guest"},
}
SKIPPED_DAY: dict[str, Any] = {
    **NEW_VISIT,
    "timezone": "Pacific/Apia",
    "first_day": "2011-12-29",
    "last_day": "2011-12-31",
    "segments": [
        {"id": "x", "title": "X", "kind": "meeting", "date": "2011-12-30", "part_of_day": "evening"}
    ],
}
# (method, path, body, the field the 422 must name, words of the reason)
ORGANIZER_CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("PATCH", SEGMENT, {"title": "Summit\x00"}, "title", "U+0000"),
    ("PATCH", SEGMENT, {"title": "\x1b[31mSummit"}, "title", "U+001B"),
    ("PATCH", SEGMENT, {"title": "Summit\nmeeting"}, "title", "one line"),
    ("PATCH", SEGMENT, {"location": "Nara\x0b"}, "location", "U+000B"),
    ("PATCH", SEGMENT, {"description": "a\x00b"}, "description", "U+0000"),
    ("PATCH", SEGMENT, {"description": "bell\x07"}, "description", "U+0007"),
    ("PATCH", SEGMENT, {"participants": ["A\x00"]}, "participants", "U+0000"),
    ("PATCH", SEGMENT, {"participants": ["x" * 301]}, "participants", "at most 300"),
    ("PATCH", SEGMENT, {"tags": ["x" * 101]}, "tags", "at most 100"),
    ("PATCH", SEGMENT, {"tags": ["t"] * 51}, "tags", "at most 50"),
    ("PATCH", SEGMENT, {"start": "15:00+09:00"}, "start", "UTC offset"),
    ("PATCH", SEGMENT, {"start": "15:00Z"}, "start", "UTC offset"),
    ("PATCH", SEGMENT, {"date": "0001-01-01"}, "date", "outside the years"),
    ("PATCH", SEGMENT, {"date": "9999-12-31"}, "date", "outside the years"),
    ("PATCH", f"/api/visits/{LEE}", {"title": "\x00"}, "title", "U+0000"),
    ("PATCH", f"/api/visits/{LEE}", {"last_day": "9999-12-31"}, "last_day", "outside the years"),
    ("PATCH", f"/api/visits/{LEE}", {"guest": {"name": "\x1b"}}, "guest.name", "U+001B"),
    ("PATCH", f"/api/visits/{LEE}", {"timezone": "localtime"}, "timezone", "IANA"),
    ("POST", "/api/visits", {**NEW_VISIT, "timezone": "posixrules"}, "timezone", "IANA"),
    ("POST", "/api/visits", {**NEW_VISIT, "timezone": "Factory"}, "timezone", "IANA"),
    ("POST", "/api/visits", {**NEW_VISIT, "timezone": "right/Asia/Tokyo"}, "timezone", "IANA"),
    ("POST", "/api/visits", {**NEW_VISIT, "timezone": "posix/Asia/Tokyo"}, "timezone", "IANA"),
    ("POST", "/api/visits", {**NEW_VISIT, "first_day": "1900-01-01"}, "first_day", "years"),
    ("POST", "/api/visits", {**NEW_VISIT, "place": "N\x00"}, "place", "U+0000"),
    ("POST", "/api/visits", {**NEW_VISIT, "source": {"url": "\x00"}}, "source.url", "U+0000"),
    # Samoa skipped 30 December 2011: that afternoon never began there.
    ("POST", "/api/visits", SKIPPED_DAY, "segments[0].part_of_day", "does not exist"),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "reason"), ORGANIZER_CASES)
def test_organizer_input_is_refused_naming_the_field_and_changes_nothing(
    server: tuple[LiveServer, dict[str, str], Services],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    live, auth, services = server
    before = snapshot(services, live.url)
    answer = httpx.request(method, f"{live.url}{path}", json=body, headers=auth)
    assert answer.status_code == 422, answer.text
    assert field_of(answer) == field and reason in answer.text, answer.text
    assert snapshot(services, live.url) == before


ANONYMOUS_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"label": "me\x00"}, "label", "U+0000"),
    ({"label": "\x1b]0;pwned\x07"}, "label", "U+001B"),
    ({"tags": ["\x00"]}, "tags", "U+0000"),
    ({"tags": ["x" * 101]}, "tags", "at most 100"),
    ({"tags": ["x"] * 51}, "tags", "at most 50"),
    ({"visits": ["v\x00"]}, "visits", "U+0000"),
    ({"visits": ["v" * 121]}, "visits", "at most 120"),
    ({"timezone": "localtime"}, "timezone", "IANA"),
    ({"timezone": "right/UTC"}, "timezone", "IANA"),
    ({"timezone": "Asia/Tokyo\x00"}, "timezone", "U+0000"),
    ({"offsets": ["PT0.5S"]}, "offsets", "at least one second"),
    ({"offsets": ["PT1.5S"]}, "offsets", "whole number of seconds"),
    ({"offsets": ["1h\x00"]}, "offsets", "U+0000"),
    ({"channel": "json://127.0.0.1:9/\x00"}, "channel", "U+0000"),
]


@pytest.mark.parametrize(("change", "field", "reason"), ANONYMOUS_CASES)
def test_sign_up_input_is_refused_naming_the_field_and_changes_nothing(
    server: tuple[LiveServer, dict[str, str], Services],
    change: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    live, _auth, services = server
    before = snapshot(services, live.url)
    body = {"channel": "json://127.0.0.1:9/hook", **change}
    answer = httpx.post(f"{live.url}/subscriptions", json=body)
    assert answer.status_code == 422, answer.text
    assert field_of(answer) == field and reason in answer.text, answer.text
    assert snapshot(services, live.url) == before


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"timezone": "Asia/Tokyo\x00"}, "U+0000"),
        ({"timezone": "localtime"}, "IANA"),
        ({"offsets": "PT0.1S"}, "at least one second"),
        ({"channel": "json://127.0.0.1:9/\x1b"}, "U+001B"),
    ],
)
def test_the_sign_up_form_refuses_the_same_and_changes_nothing(
    server: tuple[LiveServer, dict[str, str], Services], form: dict[str, str], reason: str
) -> None:
    live, _auth, services = server
    before = snapshot(services, live.url)
    fields = {"channel": "json://127.0.0.1:9/hook", "visits": "*", "offsets": "1h", **form}
    answer = httpx.post(f"{live.url}/reminders", data=fields)
    assert answer.status_code == 422 and reason in answer.text
    assert snapshot(services, live.url) == before


@pytest.mark.parametrize(
    "path",
    [
        "/visits/%00",
        f"/visits/{LEE}?tz=%00",
        f"/visits/{LEE}?tz=localtime",
        f"/visits/{LEE}/segments/%00.ics",
        "/feeds/visits/%00.ics",
        "/feeds/all.ics?tag=%00&kind=%00&participant=%00",
        f"/api/visits/{LEE}/history?since=%00",
        "/api/visits/%00",
        "/subscriptions/%00/unsubscribe?sig=%00",
        "/subscriptions/%00/confirm?sig=%00",
        "/feeds/private/%00.ics",
        "/reminders?visit=%00",
    ],
)
def test_nul_and_odd_values_in_paths_and_queries_are_never_a_server_error(
    server: tuple[LiveServer, dict[str, str], Services], path: str
) -> None:
    live, _auth, services = server
    before = snapshot(services, live.url)
    answer = httpx.get(f"{live.url}{path}")
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    assert snapshot(services, live.url) == before


def test_a_body_over_the_limit_is_refused_413_declared_or_streamed(seeded: Services) -> None:
    seeded.settings = seeded.settings.model_copy(update={"max_body_bytes": 10_000})
    with LiveServer(seeded) as live:
        before = snapshot(seeded, live.url)
        big = b'{"channel": "json://127.0.0.1:9/hook", "label": "' + b"x" * 20_000 + b'"}'
        declared = httpx.post(
            f"{live.url}/subscriptions", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413 and "10,000 bytes" in declared.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield big[:5000]
            yield big[5000:]

        for path, kind in (
            ("/subscriptions", "application/json"),
            ("/reminders", "application/x-www-form-urlencoded"),
        ):
            streamed = httpx.post(
                f"{live.url}{path}", content=chunks(), headers={"content-type": kind}
            )
            assert streamed.status_code == 413, (path, streamed.text)
        assert snapshot(seeded, live.url) == before


def test_an_organizer_write_without_a_token_is_refused_before_its_body_is_read(
    server: tuple[LiveServer, dict[str, str], Services],
) -> None:
    """The request announces 900 kB and sends none of it: the answer comes anyway, so the body
    was never waited for."""
    live, _auth, _services = server
    for method, path in (
        ("POST", "/api/visits"),
        ("POST", f"/visits/{LEE}/import"),
        ("PATCH", SEGMENT),
    ):
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n"
            )
            sock.sendall(head.encode())
            answer = sock.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 401"), (path, answer[:200])
        assert "www-authenticate: bearer" in answer.lower(), answer


def test_anonymous_writes_are_rate_limited_per_client_with_retry_after(seeded: Services) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"anonymous_write_burst": 3, "anonymous_writes_per_minute": 1}
    )
    body = {"channel": "json://127.0.0.1:9/hook"}
    with LiveServer(seeded) as live:
        answers = [
            httpx.post(
                f"{live.url}/subscriptions", json=body, headers={"X-Forwarded-For": f"10.0.0.{n}"}
            )
            for n in range(5)
        ]
        # X-Forwarded-For is not trusted (setting trust_proxy_headers): one client, 127.0.0.1.
        assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
        assert int(answers[3].headers["retry-after"]) >= 1
        before = snapshot(seeded, live.url)
        assert httpx.post(f"{live.url}/reminders", data={"channel": "x"}).status_code == 429
        assert snapshot(seeded, live.url) == before
        # Reading is never limited.
        assert httpx.get(f"{live.url}/visits/{LEE}").status_code == 200
    with seeded.db.session() as session:
        from service.models import Subscription

        assert len(session.exec(Subscription.__table__.select()).all()) == 3  # type: ignore[attr-defined]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(seeded: Services) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={
            "anonymous_write_burst": 1,
            "anonymous_writes_per_minute": 1,
            "trust_proxy_headers": True,
        }
    )
    body = {"channel": "json://127.0.0.1:9/hook"}
    with LiveServer(seeded) as live:

        def post(forwarded: str) -> int:
            headers = {"X-Forwarded-For": forwarded}
            return httpx.post(f"{live.url}/subscriptions", json=body, headers=headers).status_code

        assert post("198.51.100.1") == 201
        assert post("198.51.100.2") == 201
        assert post("198.51.100.1") == 429
        # The client may write any address first; the proxy's own (last) entry is the one used.
        assert post("198.51.100.9, 198.51.100.2") == 429


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x.ics",
        "http://localhost:{port}/x.ics",
        "http://[::ffff:127.0.0.1]:{port}/x.ics",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0:{port}/x.ics",
    ],
)
def test_an_import_url_aimed_inside_is_refused_and_nothing_is_contacted(
    server: tuple[LiveServer, dict[str, str], Services], url: str
) -> None:
    live, auth, services = server
    services.settings = services.settings.model_copy(update={"import_allow_public": True})
    with ConnectionCounter() as target:
        before = snapshot(services, live.url)
        answer = httpx.post(
            f"{live.url}/visits/{LEE}/import",
            json={"url": url.format(port=target.port)},
            headers=auth,
        )
        assert answer.status_code == 422 and field_of(answer) == "url", answer.text
        assert snapshot(services, live.url) == before
    assert target.connections == 0


def _calendar(summary: str, extra: str = "", tzid: str = "Asia/Tokyo") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:tea@protocol.example\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:20260114T160000\r\nSUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("calendar", "field", "reason"),
    [
        (_calendar("Tea\x1b[2Jceremony"), "VEVENT tea@protocol.example.SUMMARY", "U+001B"),
        (_calendar("Tea", "LOCATION:Nara\x00\r\n"), "LOCATION", ""),
        (_calendar("Tea", tzid="Factory"), "DTSTART", "TZID 'Factory'"),
        (_calendar("Tea", tzid="posixrules"), "DTSTART", "TZID 'posixrules'"),
    ],
)
def test_an_imported_calendar_follows_the_same_input_rules(
    server: tuple[LiveServer, dict[str, str], Services],
    calendar: bytes,
    field: str,
    reason: str,
) -> None:
    live, auth, services = server
    before = snapshot(services, live.url)
    answer = httpx.post(
        f"{live.url}/visits/{LEE}/import",
        content=calendar,
        headers={**auth, "content-type": "text/calendar"},
    )
    assert answer.status_code == 422, answer.text
    assert field in field_of(answer) and reason in answer.text, answer.text
    assert snapshot(services, live.url) == before


def test_an_imported_one_line_text_on_several_lines_is_read_as_one_line(
    server: tuple[LiveServer, dict[str, str], Services],
) -> None:
    live, auth, _services = server
    calendar = _calendar("Tea\\nceremony", "LOCATION:Isuien Garden\\nNara\r\n")
    answer = httpx.post(
        f"{live.url}/visits/{LEE}/import",
        content=calendar,
        headers={**auth, "content-type": "text/calendar"},
    )
    assert answer.status_code == 200, answer.text
    feed = httpx.get(f"{live.url}/feeds/visits/{LEE}.ics").text
    assert "SUMMARY:Tea ceremony" in feed and "LOCATION:Isuien Garden Nara" in feed
