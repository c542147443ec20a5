"""Imports bound their work, not only what they keep: a tiny rule ticking every second since
1900, thousands of rules each small alone, rules that never match, components nested thousands
deep, thousands of events, and a server that drips its answer. Each is refused (exit 2 naming
the component) by a `visitcal import` process whose memory is capped, or for the URL, within the
one deadline of the whole fetch. The subprocess timeout only catches a hang."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.errors import InputError
from service.schedules.remote_calendar import fetch_calendar
from service.services import Services
from tests.helpers.cli import VISITCAL
from tests.helpers.services import LEE, ROOT

MEMORY = 1_500_000_000  # bytes of address space for the import process
BOUND = 60  # seconds: only catches a hang (a refused bomb answers within the parse's deadline)

HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bomb//EN\r\n"
TAIL = "END:VCALENDAR\r\n"


def _event(uid: str, extra: str = "", start: str = "19000101T000000Z") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start}\r\nSUMMARY:x\r\n{extra}END:VEVENT\r\n"
    )


def _series(count: int, rule: str, start: str) -> str:
    """`count` series of one rule, starting in the days of the visit imported into (Lee's,
    2026-01-13 and 14 in Tokyo): each alone is cheap by any per-rule estimate."""
    return HEAD + "".join(_event(f"s{n}", f"RRULE:{rule}\r\n", start) for n in range(count)) + TAIL


BOMBS = {
    "every-second-since-1900": (HEAD + _event("tick", "RRULE:FREQ=SECONDLY\r\n") + TAIL, "RRULE"),
    "every-minute-by-second": (
        HEAD + _event("tock", "RRULE:FREQ=MINUTELY;BYSECOND=0,10,20,30,40,50\r\n") + TAIL,
        "RRULE",
    ),
    # The reviewer's: 2,000 series ticking every second from the visit's last day on.
    "many-every-second": (_series(2_000, "FREQ=SECONDLY", "20260114T000000Z"), "FREQ=SECONDLY"),
    # 2,000 series of 12,960 occurrences each, all before the visit: one budget for them all.
    "many-each-under-a-limit": (
        _series(
            2_000,
            "FREQ=HOURLY;UNTIL=20260112T000000Z;BYMINUTE=" + ",".join(map(str, range(60))),
            "20260103T000000Z",
        ),
        "for one import",
    ),
    # Never matches (no 30 February): estimated at one occurrence, walked to the year 9999.
    "never-matching": (
        _series(2_000, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20260113T000000Z"),
        "took more than",
    ),
    "nested-deep": (HEAD + "BEGIN:X\r\n" * 5000 + "END:X\r\n" * 5000 + TAIL, "nested"),
    "many-events": (HEAD + "".join(_event(f"e{n}") for n in range(2_001)) + TAIL, "events"),
}


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_an_import_bomb_is_refused_by_a_memory_capped_process_within_a_bound(
    seeded_sqlite: Services, tmp_path: Path, bomb: str
) -> None:
    text, component = BOMBS[bomb]
    path = tmp_path / f"{bomb}.ics"
    path.write_text(text)
    env = {
        **os.environ,
        "VISITCAL_DATABASE_URL": seeded_sqlite.settings.database_url,
        "VISITCAL_BASE_URL": seeded_sqlite.settings.base_url,
    }
    with seeded_sqlite.db.session() as session:
        from service.models import Segment

        before = sorted(repr(s) for s in session.exec(Segment.__table__.select()))  # type: ignore[attr-defined,call-overload]
    done = subprocess.run(
        [str(VISITCAL), "import", str(path), "--visit", LEE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
        preexec_fn=_cap_memory,
    )
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-500:])
    assert component in done.stderr and "Traceback" not in done.stderr, done.stderr[-500:]
    with seeded_sqlite.db.session() as session:
        after = sorted(repr(s) for s in session.exec(Segment.__table__.select()))  # type: ignore[attr-defined,call-overload]
    assert after == before


@pytest.fixture
def dripping_server() -> Iterator[str]:
    """Answers a status line, then one header byte every 0.2 s, forever (until closed)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.is_set():
                    conn.sendall(b"X")
                    time.sleep(0.2)
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow.ics"
    stop.set()
    listener.close()


def test_a_server_dripping_its_headers_is_cut_off_at_the_one_deadline(
    sqlite_services: Services, dripping_server: str
) -> None:
    settings = sqlite_services.settings.model_copy(
        update={"import_allow_private": True, "import_timeout_seconds": 1.0}
    )
    began = time.monotonic()
    with pytest.raises(InputError, match=r"did not answer (in full )?within 1 s") as refused:
        fetch_calendar(dripping_server, settings)
    assert refused.value.field == "url"
    # Each byte comes well within the per-read timeout: only the whole-fetch deadline ends it.
    assert time.monotonic() - began < 10


def test_reading_stops_at_the_deadline_inside_a_rule_walked_to_the_year_9999() -> None:
    """The deadline stops the work inside dateutil's walk (no check of ours runs there), says
    why, and nothing of it is raised later in the thread."""
    from datetime import date

    from feeds.ical_import import CalendarFormatError, parse_calendar

    never = _series(1, "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "20260113T000000Z").encode()
    with pytest.raises(CalendarFormatError, match=r"VCALENDAR: took more than 0\.2 s to read"):
        parse_calendar(
            never,
            zone="Asia/Tokyo",
            first_day=date(2026, 1, 13),
            last_day=date(2026, 1, 14),
            max_bytes=10_000,
            max_seconds=0.2,
        )
    total = 0
    for n in range(2_000_000):  # pure Python work after it: a late DeadlinePassed would land here
        total += n
    assert total == 1_999_999_000_000
