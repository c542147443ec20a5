"""Mail benchmark: how soon a committed change reaches the SMTP server as a notice carrying a
calendar update (iMIP), and mails per second over one SMTP connection against one each.

Run by hand (`.venv/bin/python bench/mail.py`); prints a table of figures and PASS/MISS per
target. Everything runs on 127.0.0.1: an aiosmtpd server in a process of its own that stamps
each arrival, a SQLite database in a temporary directory (removed at the end), the real worker
(services.reminder_worker(): claim, compose, iTIP, our SMTP sender) and the real catalog.

  a) throughput: --count mails (built as the worker builds them) sent over one SMTP
     connection, then the same mails with a connection (connect, EHLO, AUTH, QUIT) each;
  b) change -> SMTP: --followers email followers with invitations; once each has its
     invitation, the organizer moves the segment; for every follower, the time from the
     commit to its notice (with the new REQUEST) being accepted by the SMTP server.
     Target: p99 within the debounce window (--debounce) + 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from service.models import Subscription  # noqa: E402
from service.reminders.mail_message import MailExtras, MailIdentity, build_message  # noqa: E402
from service.reminders.planner import plan_invitations  # noqa: E402
from service.reminders.smtp_relay import SmtpRelay  # noqa: E402
from service.schedules.spec import (  # noqa: E402
    ScheduleInput,
    SegmentSpec,
    VisitSpec,
    resolve_segment,
)
from service.services import Services  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.signing import new_token, token_hash  # noqa: E402

console = Console()


def serve_receiver(port: int) -> None:
    """The SMTP server, in a process of its own (as a relay is): prints one line per accepted
    message, `<monotonic time> <1 if it carries an iTIP REQUEST>`, and runs until killed."""

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            request = b'method="REQUEST"' in envelope.content
            print(f"{time.monotonic()} {int(request)}", flush=True)
            return "250 OK"

    def accept(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        return AuthResult(success=True)

    # AUTH as a relay asks for it (without TLS here: loopback), so a connection costs what a
    # real one costs besides the TLS handshake: connect, EHLO, AUTH.
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, authenticator=accept, auth_require_tls=False
    )
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


class Receiver:
    """The SMTP server process, and the arrivals it reports (CLOCK_MONOTONIC is system-wide)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bool]] = []
        self.lock = threading.Lock()
        with socket.socket() as probe:  # a free port (aiosmtpd cannot be given port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])

    def start(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-receiver", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        threading.Thread(target=self._read, daemon=True).start()
        return f"smtp://bench:pw@127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            at, request = line.split()
            with self.lock:
                self.arrivals.append((float(at), request == "1"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def wait(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


def throughput(count: int) -> dict[str, float]:
    receiver = Receiver()
    url = receiver.start()
    identity = MailIdentity("visits@example.test", "visitcal")
    now = datetime.now(UTC)
    text = "Talks between the leaders — in 1 hour\n\n" + "A line of the reminder.\n" * 12
    messages = [
        build_message(identity, f"f{n}@example.test", f"Reminder {n}", text, MailExtras(), now)
        for n in range(count)
    ]
    relay = SmtpRelay(url, connections=1)
    began = time.perf_counter()
    for message in messages:
        assert relay.send(message).ok
    pooled = time.perf_counter() - began
    relay.close()
    host, port = "127.0.0.1", receiver.port
    began = time.perf_counter()
    for message in messages:
        with smtplib.SMTP(host, port) as session:
            session.ehlo()
            session.login("bench", "pw")
            session.send_message(message)
    each = time.perf_counter() - began
    assert receiver.wait(2 * count, 30)
    receiver.stop()
    return {"pooled": count / pooled, "each": count / each, "connects": relay.connects}


def _visit(services: Services, start: datetime) -> ScheduleInput:
    tz = "Asia/Tokyo"
    day = start.astimezone(ZoneInfo(tz)).date()
    visit = VisitSpec.model_validate(
        {
            "slug": "bench-mail",
            "title": "Bench visit",
            "timezone": tz,
            "first_day": day,
            "last_day": day + timedelta(days=1),
            "guest": {"name": "A Guest"},
        }
    )
    local = start.astimezone(ZoneInfo(tz))
    spec = SegmentSpec.model_validate(
        {
            "id": "talks",
            "title": "Talks",
            "kind": "meeting",
            "date": local.date(),
            "start": local.time().replace(microsecond=0).isoformat(),
        }
    )
    segment = resolve_segment(spec, visit, services.settings.part_of_day)
    return ScheduleInput(visit=visit, segments=(segment,), origin="bench")


def change_to_smtp(followers: int, debounce: float, directory: Path) -> dict[str, float]:
    receiver = Receiver()
    url = receiver.start()
    settings = Settings(
        database_url=f"sqlite:///{directory / 'bench.db'}",
        base_url="http://visitcal.test",
        smtp_url=url,
        mail_dir=directory / "mail",
        organizer_email="visits@example.test",
        notice_debounce_seconds=debounce,
        visits_dir=directory / "no-visits",
    )
    services = Services.build(settings)
    services.db.migrate()
    # Early tomorrow in Tokyo at the latest: a date that stays valid whatever the hour now.
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    services.catalog.apply([_visit(services, start)], datetime.now(UTC))
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"{n:016x}",
            "channel": f"mailto:f{n}@example.test",
            "channel_redacted": "f…@example.test",
            "visits": ["bench-mail"],
            "kinds": [],
            "tags": [],
            "offsets": [60],  # due in hours: no reminder of its own in the way
            "timezone": "Europe/Rome",
            "label": "",
            "token_hash": token_hash(new_token()),
            "active": True,
            "invitations": True,
            "confirmed_at": now,
            "created_at": now,
            "changed_at": now,
        }
        for n in range(followers)
    ]
    with services.db.write() as session:
        session.execute(insert(Subscription), rows)
    with services.db.write() as session:
        for subscription in session.exec(select(Subscription)):
            plan_invitations(session, subscription, datetime.now(UTC))
    worker = services.reminder_worker()
    worker.start()
    try:
        began = time.monotonic()
        assert receiver.wait(followers, 300), f"invitations: {receiver.count()}"
        invitations_took = time.monotonic() - began
        moved = _visit(services, start + timedelta(minutes=30))
        services.catalog.apply([moved], datetime.now(UTC))
        committed = time.monotonic()
        assert receiver.wait(2 * followers, debounce + 300), f"notices: {receiver.count()}"
    finally:
        worker.stop()
        receiver.stop()
        services.close()
    notices = [at - committed for at, _request in receiver.arrivals[followers:]]
    assert all(request for _at, request in receiver.arrivals[followers:])
    notices.sort()
    return {
        "invitations_per_s": followers / invitations_took,
        "p50": statistics.median(notices),
        "p99": notices[max(0, int(len(notices) * 0.99) - 1)],
        "max": notices[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1000, help="mails in the throughput runs")
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--debounce", type=float, default=5.0, help="notice_debounce_seconds")
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.serve_receiver)
        return
    directory = Path(tempfile.mkdtemp(prefix="visitcal-bench-mail-"))
    try:
        speed = throughput(args.count)
        latency = change_to_smtp(args.followers, args.debounce, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    table = Table("figure", "value")
    table.add_row(f"mails/s, one connection ({args.count} mails)", f"{speed['pooled']:.0f}")
    table.add_row("mails/s, one connection each", f"{speed['each']:.0f}")
    table.add_row("ratio", f"{speed['pooled'] / speed['each']:.1f}x")
    table.add_row("SMTP connections opened by the pooled run", f"{speed['connects']:.0f}")
    table.add_row(
        f"invitations/s to {args.followers} followers", f"{latency['invitations_per_s']:.0f}"
    )
    table.add_row(f"change -> SMTP p50 (debounce {args.debounce:g} s)", f"{latency['p50']:.2f} s")
    table.add_row("change -> SMTP p99", f"{latency['p99']:.2f} s")
    table.add_row("change -> SMTP max", f"{latency['max']:.2f} s")
    console.print(table)
    target = args.debounce + 5
    verdict = "PASS" if latency["p99"] <= target else "MISS"
    console.print(f"{verdict}: p99 {latency['p99']:.2f} s within debounce + 5 s = {target:g} s")
    console.print(f"{'PASS' if speed['pooled'] > speed['each'] else 'MISS'}: one connection faster")


if __name__ == "__main__":
    main()
