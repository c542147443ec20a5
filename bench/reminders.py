"""Reminder benchmark: lateness and throughput of the reminder worker, through real processes.

Run by hand (`.venv/bin/python bench/reminders.py`); prints one table of figures and one of
PASS/MISS per target. Everything listens on 127.0.0.1, every wait is bounded, and every
process, temporary directory and the bench database it creates is removed at the end.

Setup: followers (subscriptions, each with its own `json://127.0.0.1:<port>/s<k>` channel)
x 100 segments, one reminder row per (follower, segment) and run: 100 followers for the default
--count 10,000, --count / 100 of them for more (1,000 for 100,000), inserted directly in bulk
(the worker path is the real one: `visitcal worker` processes claiming, composing, sending
through Apprise and recording)
into a queue that already holds 100,000 reminders sent over the last 30 days, as a running
service's does (and each run's rows stay, sent, for the next).
A webhook receiver in its own process (asyncio, raw HTTP/1.1) stamps each arrival; the
reminder is identified by the unsubscribe link (subscription id) and the segment's .ics link
in the message, and counted by reminder id: duplicates and losses are exact.

  a) baseline: a bare APScheduler BackgroundScheduler with a MemoryJobStore firing --count
     date jobs spread over 60 s (lateness = job start - run date: the floor);
  b) lateness (due instant -> arrival at the receiver) for --count reminders due evenly over
     60 s, one worker, on SQLite and on PostgreSQL;
  c) throughput: --count reminders due at the same instant, PostgreSQL, one worker and two.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402

BIN = Path(sys.executable).parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
FOLLOWERS = 100  # at least; more when --count asks for more reminders than followers x segments
HISTORY = 100_000  # reminders already sent: the queue of a service that has been running
SEGMENTS = 100
BENCH_SECRET = "bench-secret"

# Targets from the brief.
LATENESS_P99_TARGET_MS = 250.0
BURST_TARGET_PER_S = 500.0
SCALE_TARGET = 1.7
# Issue 13: a burst (100,000 due at once), two workers on PostgreSQL.
FANOUT_PER_S = 5000.0
FANOUT_P99_MS = 20_000.0
FANOUT_WORKER_US = 250.0

# Wide enough for the tables when the output is a file or a pipe.
console = Console() if sys.stdout.isatty() else Console(width=150)


# -- the webhook receiver (its own process) ---------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_SUBSCRIPTION = re.compile(rb"/subscriptions/([^/]+)/unsubscribe")
_SEGMENT = re.compile(rb"/segments/([^/\"]+?)\.ics")
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _Receiver(asyncio.Protocol):
    """Raw HTTP/1.1 (keep-alive or not): stamp each POST on arrival, parse later."""

    arrivals: list[tuple[float, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            match = _CONTENT_LENGTH.search(head)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < total:
                return
            body, self.buffer = self.buffer[end + 4 : total], self.buffer[total:]
            if head.startswith(b"GET /_"):
                self._control(head.split(b" ", 2)[1].decode())
            else:
                self.arrivals.append((time.time(), body))
                self.transport.write(_OK)

    def _control(self, path: str) -> None:
        answer: dict[str, object] = {}
        if path == "/_count":
            answer = {"count": len(self.arrivals), "cpu": time.process_time()}
        elif path == "/_dump":
            taken, _Receiver.arrivals[:] = list(self.arrivals), []
            answer = {"arrivals": [[at, _key(body)] for at, body in taken]}
        payload = json.dumps(answer).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )


def _key(body: bytes) -> str:
    subscription, segment = _SUBSCRIPTION.search(body), _SEGMENT.search(body)
    if subscription is None or segment is None:
        return "?"
    return f"{subscription.group(1).decode()}|{segment.group(1).decode()}"


def serve_receiver() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Receiver, "127.0.0.1", 0, backlog=4096)
        port = server.sockets[0].getsockname()[1]
        print(f"ready {port}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    try:
        import uvloop  # uvicorn's event loop, when installed: a cheaper receiver

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def blast(port: int, count: int, concurrency: int) -> None:
    """The receiver's capacity check: POSTs on a new connection each, as requests makes them."""
    body = b'{"title": "x", "message": "/subscriptions/x/unsubscribe /segments/y.ics"}'
    request = (
        f"POST /capacity HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"
        f"\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def one(left: list[int]) -> None:
        while left[0] > 0:
            left[0] -= 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await reader.readuntil(b"ok")
            writer.close()

    async def main() -> None:
        left = [count]
        await asyncio.gather(*(one(left) for _ in range(concurrency)))

    asyncio.run(main())


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Bench:
    tmp: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, process, log)
        self.procs.append(proc)
        return proc

    def wait_for(self, proc: Proc, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, proc.text())
            if match:
                return match
            if proc.process.poll() is not None:
                raise RuntimeError(f"{proc.name} exited early:\n{proc.text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.text()[-2000:]}")

    def stop(self, proc: Proc, timeout: float = 20) -> None:
        if proc.process.poll() is None:
            with suppress(ProcessLookupError):
                proc.process.send_signal(signal.SIGTERM)
            try:
                proc.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.process.pid, signal.SIGKILL)
                proc.process.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, timeout=10)


class ReceiverClient:
    def __init__(self, port: int) -> None:
        self.port = port

    def get(self, path: str) -> dict:  # type: ignore[type-arg]
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path)
            return json.loads(connection.getresponse().read())  # type: ignore[no-any-return]
        finally:
            connection.close()

    def count(self) -> tuple[int, float]:
        answer = self.get("/_count")
        return int(answer["count"]), float(answer["cpu"])

    def dump(self) -> list[tuple[float, str]]:
        return [(float(at), str(key)) for at, key in self.get("/_dump")["arrivals"]]


# -- the database -------------------------------------------------------------------------------


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    from service.db import normalize_url

    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"visitcal_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Fixture:
    """The bench's visits, segments and followers in one database."""

    url: str
    port: int
    segment_keys: dict[int, str] = field(default_factory=dict)  # segment id -> key
    segment_start: dict[int, datetime] = field(default_factory=dict)
    subscriptions: list[str] = field(default_factory=list)
    first_id: int = 0  # the current run's first reminder id


def followers_for(count: int) -> int:
    """Enough followers that each of a run's `count` reminders is its own (follower, segment):
    the receiver tells reminders apart by that pair, so a repeated pair would count as a
    duplicate of one reminder and the loss of another."""
    return max(FOLLOWERS, math.ceil(count / SEGMENTS))


def prepare(url: str, port: int, history: int, followers: int = FOLLOWERS) -> Fixture:
    """Migrate; add 10 visits of 10 segments starting 3 h from now, `followers` followers, and
    `history` reminders sent over the last 30 days."""
    from service.db import Database
    from service.models import Segment, Subscription, Visit

    db = Database(url)
    db.migrate()
    now = datetime.now(UTC).replace(microsecond=0)
    fixture = Fixture(url, port)
    try:
        with db.write() as session:
            visits = []
            for v in range(SEGMENTS // 10):
                visit = Visit(
                    slug=f"bench-visit-{v}",
                    title=f"Bench visit {v}",
                    guest_name="Guest",
                    guest_office="Prime Minister",
                    place="Tokyo",
                    first_day=now.date(),
                    last_day=now.date() + timedelta(days=1),
                    created_at=now,
                    changed_at=now,
                )
                session.add(visit)
                visits.append(visit)
            session.flush()
            segments = []
            for m in range(SEGMENTS):
                start = now + timedelta(hours=3, seconds=m)
                segment = Segment(
                    visit_id=visits[m // 10].id,  # type: ignore[arg-type]
                    key=f"seg{m:03d}",
                    uid=f"bench.seg{m:03d}@visitcal",
                    kind="meeting",
                    title=f"Summit meeting {m}",
                    start_at=start,
                    end_at=start + timedelta(hours=1),
                    location="Kantei, Tokyo",
                    participants=["Guest", "Host"],
                    created_at=now,
                    changed_at=now,
                    ics="BEGIN:VEVENT\r\n" + "X-BENCH:padding\r\n" * 30 + "END:VEVENT\r\n",
                )
                session.add(segment)
                segments.append(segment)
            for k in range(followers):
                channel = f"json://127.0.0.1:{port}/s{k}"
                session.add(
                    Subscription(
                        id=f"bench{k:04d}",
                        channel=channel,
                        channel_redacted=channel,
                        offsets=[3600],
                        timezone="Europe/Rome",
                        token_hash="0" * 64,
                        confirmed_at=now,  # the worker sends nothing to unconfirmed channels
                        created_at=now,
                        changed_at=now,
                    )
                )
                fixture.subscriptions.append(f"bench{k:04d}")
            session.flush()
            for segment in segments:
                assert segment.id is not None
                fixture.segment_keys[segment.id] = segment.key
                fixture.segment_start[segment.id] = segment.start_at
    finally:
        db.dispose()
    add_history(fixture, history)
    return fixture


def reminder_rows(
    fixture: Fixture, dues: list[datetime], state: str = "pending"
) -> list[dict[str, object]]:
    """One row per (follower, segment) due at `dues[i]`; "sent" ones as the worker leaves them."""
    pairs = [(s, m) for m in sorted(fixture.segment_keys) for s in fixture.subscriptions]
    sent = state == "sent"
    rows: list[dict[str, object]] = []
    for i, due in enumerate(dues):
        subscription, segment = pairs[i % len(pairs)]
        start = fixture.segment_start[segment]
        rows.append(
            {
                "subscription_id": subscription,
                "segment_id": segment,
                "kind": "reminder",
                "offset_seconds": round((start - due).total_seconds()),
                "segment_start": start,
                "segment_sequence": 0,
                "due_at": due,
                "next_attempt_at": due,
                "state": state,
                "late": False,
                "attempts": 1 if sent else 0,
                "lease_until": None,
                "claimed_by": "bench-history" if sent else "",
                "sent_at": due if sent else None,
                "result": "info: Sent JSON POST notification." if sent else "",
                "created_at": due - timedelta(days=1),
            }
        )
    return rows


def add_history(fixture: Fixture, count: int) -> None:
    """Reminders sent over the last 30 days: the queue of a service that has been running."""
    from sqlalchemy import insert

    from service.db import Database
    from service.reminders.queue import REMINDERS

    now = datetime.now(UTC)
    dues = [now - timedelta(days=30) + timedelta(days=30) * i / count for i in range(count)]
    db = Database(fixture.url)
    try:
        for first in range(0, count, 10_000):
            with db.write() as session:
                session.execute(
                    insert(REMINDERS), reminder_rows(fixture, dues[first : first + 10_000], "sent")
                )
    finally:
        db.dispose()


def insert_reminders(fixture: Fixture, dues: list[datetime]) -> dict[str, tuple[int, float]]:
    """This run's reminders, one per (follower, segment) due at `dues[i]`, added to the queue's
    history (earlier runs' rows stay, sent); key -> (reminder id, due as a timestamp)."""
    from sqlalchemy import func, insert, select, text

    from service.db import Database, mark_plan_changed
    from service.reminders.queue import REMINDERS

    c = REMINDERS.c
    pairs = len(fixture.subscriptions) * len(fixture.segment_keys)
    if len(dues) > pairs:  # prepare() was given too few followers for this count
        raise ValueError(f"{len(dues)} reminders need more than {pairs} (follower, segment) pairs")
    rows = reminder_rows(fixture, dues)
    db = Database(fixture.url)
    try:
        with db.session() as session:
            fixture.first_id = (session.execute(select(func.max(c.id))).scalar() or 0) + 1
        with db.write() as session:
            session.execute(insert(REMINDERS), rows)
            mark_plan_changed(session)  # workers see the plan counter move
        if not db.is_sqlite:
            with db.engine.connect() as connection:
                connection.execute(text("ANALYZE reminder"))
                connection.commit()
        with db.session() as session:
            found = session.execute(
                select(c.id, c.subscription_id, c.segment_id, c.due_at).where(
                    c.id >= fixture.first_id
                )
            ).all()
    finally:
        db.dispose()
    return {
        f"{sub}|{fixture.segment_keys[seg]}": (rid, due.timestamp()) for rid, sub, seg, due in found
    }


def reminder_states(fixture: Fixture) -> Counter[str]:
    """This run's rows by state."""
    from sqlalchemy import func, select

    from service.db import Database
    from service.reminders.queue import REMINDERS

    c = REMINDERS.c
    db = Database(fixture.url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(c.state, func.count()).where(c.id >= fixture.first_id).group_by(c.state)
            ).all()
    finally:
        db.dispose()
    return Counter({state: count for state, count in rows})


# -- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the machine has been busy and in all, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - values[3] - values[4]) / _TICK, total / _TICK


def postgres_pids(url: str) -> list[int]:
    """The server processes working for the bench database, and the server's shared ones."""
    from sqlalchemy import create_engine, text

    from service.db import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND"
                        " (datname = current_database() OR datname IS NULL)"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


@dataclass
class CpuShare:
    """Cores used during a run (CPU seconds / wall seconds), by whom."""

    wall: float = 0.0
    machine: float = 0.0
    workers: float = 0.0
    postgres: float = 0.0
    receiver: float = 0.0
    rest: float = 0.0  # everything else on the machine: the bench itself, other programs


class CpuMeter:
    def __init__(self, workers: list[int], receiver: int, url: str) -> None:
        self.workers, self.receiver, self.url = workers, receiver, url
        self.is_postgres = not url.startswith("sqlite")

    def sample(self) -> dict[str, float]:
        pg = postgres_pids(self.url) if self.is_postgres else []
        busy, _ = machine_cpu()
        return {
            "wall": time.monotonic(),
            "machine": busy,
            "workers": sum(process_cpu(pid) for pid in self.workers),
            "receiver": process_cpu(self.receiver),
            **{f"pg{pid}": process_cpu(pid) for pid in pg},
        }

    @staticmethod
    def share(before: dict[str, float], after: dict[str, float]) -> CpuShare:
        wall = max(1e-9, after["wall"] - before["wall"])

        def used(key: str) -> float:
            return (after.get(key, 0.0) - before.get(key, 0.0)) / wall

        postgres = sum(used(k) for k in after if k.startswith("pg"))
        share = CpuShare(wall, used("machine"), used("workers"), postgres, used("receiver"))
        share.rest = max(0.0, share.machine - share.workers - share.postgres - share.receiver)
        return share


@dataclass
class Result:
    name: str
    workers: int
    count: int
    lateness_ms: list[float] = field(default_factory=list)  # sorted, first arrival per id
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    per_second: float | None = None
    receiver_us: float | None = None  # the receiver's CPU time per request, in µs
    states: str = ""
    notes: str = ""
    warnings: list[str] = field(default_factory=list)  # the workers' warning lines
    cpu: CpuShare | None = None  # from the first due instant to the last arrival

    def p(self, q: float) -> float:
        return percentile(self.lateness_ms, q)


def run_queue(
    bench: Bench,
    progress: Progress,
    receiver: ReceiverClient,
    receiver_pid: int,
    fixture: Fixture,
    name: str,
    workers: int,
    dues_from: Callable[[datetime], list[datetime]],
    lead: float,
    grace: float,
    worker_env: dict[str, str],
) -> Result:
    """Start the workers, insert the reminders due from now + lead, wait for every arrival."""
    task = progress.add_task(name, total=None)
    env = {
        "VISITCAL_DATABASE_URL": fixture.url,
        "VISITCAL_SECRET_KEY": BENCH_SECRET,
        "VISITCAL_CHANNEL_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),  # this tree's code, wherever the bench is run from
        **worker_env,
    }
    procs = [
        bench.start(f"{name.replace(' ', '-')}-worker{n}", [str(BIN / "visitcal"), "worker"], env)
        for n in range(workers)
    ]
    for proc in procs:
        bench.wait_for(proc, r"worker \S+ running", timeout=60)
    receiver.dump()  # forget anything before this run
    t0 = datetime.now(UTC) + timedelta(seconds=lead)
    dues = dues_from(t0)
    count = len(dues)
    keys = insert_reminders(fixture, dues)
    progress.update(task, total=count)
    meter = CpuMeter([p.process.pid for p in procs], receiver_pid, fixture.url)
    time.sleep(max(0.0, t0.timestamp() - time.time()))
    _, cpu_before = receiver.count()
    cpu_start = meter.sample()
    deadline = max(dues).timestamp() + grace
    arrived = 0
    while time.time() < deadline:
        arrived, _ = receiver.count()
        progress.update(task, completed=min(arrived, count))
        if arrived >= count:
            break
        if any(p.process.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    cpu = CpuMeter.share(cpu_start, meter.sample())
    time.sleep(1.0)  # a late duplicate still shows up
    arrived, cpu_after = receiver.count()
    receiver_us = (cpu_after - cpu_before) * 1e6 / max(1, arrived)
    progress.update(task, completed=min(arrived, count))
    arrivals = receiver.dump()
    for proc in procs:
        bench.stop(proc)
    states = reminder_states(fixture)
    warnings = [
        line
        for proc in procs
        for line in proc.text().splitlines()
        if re.search(r"WARNING|ERROR|Traceback|skipped|missed by", line)
    ]

    by_id: dict[int, list[float]] = {}
    strays = 0
    for at, key in arrivals:
        if key not in keys:
            strays += 1
            continue
        by_id.setdefault(keys[key][0], []).append(at)
    due_of = {rid: due for rid, due in keys.values()}
    lateness = sorted((min(ats) - due_of[rid]) * 1000 for rid, ats in by_id.items())
    last = max((max(ats) for ats in by_id.values()), default=math.nan)
    result = Result(
        name=name,
        workers=workers,
        count=count,
        lateness_ms=lateness,
        delivered=len(by_id),
        duplicates=sum(len(ats) - 1 for ats in by_id.values()) + strays,
        lost=count - len(by_id),
        # Throughput only means something when everything is due at once.
        per_second=(len(by_id) / (last - min(dues).timestamp()) if by_id else 0.0)
        if min(dues) == max(dues)
        else None,
        receiver_us=receiver_us,
        states=", ".join(f"{k} {v}" for k, v in sorted(states.items())),
        notes=f"{len(warnings)} warning(s)" if warnings else "",
        warnings=warnings,
        cpu=cpu,
    )
    progress.update(task, description=f"{name}: done")
    return result


def run_baseline(progress: Progress, count: int, spread: float) -> Result:
    """A bare APScheduler MemoryJobStore firing `count` date jobs spread over `spread` s."""
    from apscheduler.schedulers.background import BackgroundScheduler

    task = progress.add_task("baseline APScheduler", total=count)
    fired: list[tuple[float, float]] = []
    lock = threading.Lock()

    def job(planned: float) -> None:
        at = time.time()
        with lock:
            fired.append((planned, at))

    scheduler = BackgroundScheduler(
        timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True}
    )
    t0 = datetime.now(UTC) + timedelta(seconds=2)
    for i in range(count):
        run = t0 + timedelta(seconds=spread * i / count)
        scheduler.add_job(job, "date", run_date=run, args=[run.timestamp()], id=f"j{i}")
    scheduler.start()
    deadline = time.time() + 2 + spread + 30
    try:
        while time.time() < deadline and len(fired) < count:
            progress.update(task, completed=len(fired))
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    progress.update(task, completed=len(fired), description="baseline APScheduler: done")
    lateness = sorted((at - planned) * 1000 for planned, at in fired)
    return Result(
        name="APScheduler MemoryJobStore (floor)",
        workers=0,
        count=count,
        lateness_ms=lateness,
        delivered=len(fired),
        lost=count - len(fired),
    )


def receiver_capacity(bench: Bench, port: int, receiver: ReceiverClient) -> tuple[float, float]:
    """Requests/s a blasting client got, and what the receiver's CPU time per request allows."""
    count = 5000
    receiver.dump()
    _, cpu_before = receiver.count()
    started = time.monotonic()
    proc = bench.start(
        "blast",
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--blast",
            str(port),
            "--blast-count",
            str(count),
        ],
    )
    try:
        proc.process.wait(120)
    finally:
        bench.stop(proc)
    elapsed = time.monotonic() - started
    got, cpu_after = receiver.count()
    receiver.dump()
    if got != count:
        raise RuntimeError(f"receiver capacity check got {got} of {count}")
    return count / elapsed, count / max(1e-9, cpu_after - cpu_before)


# -- output ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.1f}"


def report(results: list[Result], capacity: tuple[float, float]) -> None:
    counts = sorted({r.count for r in results})
    per_run = " / ".join(f"{n:,}" for n in counts) or "no"
    table = Table(title=f"Reminder delivery ({per_run} reminders per run)", title_justify="left")
    for column in (
        "run",
        "workers",
        "p50 ms",
        "p99 ms",
        "max ms",
        "deliv./s",
        "delivered",
        "dup",
        "lost",
        "rcv µs/req",
        "rows",
    ):
        table.add_column(column, justify="left" if column in ("run", "rows") else "right")
    for r in results:
        table.add_row(
            r.name,
            str(r.workers) if r.workers else "—",
            _ms(r.p(0.50)),
            _ms(r.p(0.99)),
            _ms(r.lateness_ms[-1] if r.lateness_ms else math.nan),
            f"{r.per_second:,.0f}" if r.per_second is not None else "—",
            f"{r.delivered:,}",
            str(r.duplicates),
            str(r.lost),
            f"{r.receiver_us:.0f}" if r.receiver_us is not None else "—",
            (r.states + (f"; {r.notes}" if r.notes else "")) or "—",
        )
    console.print(table)
    for r in results:
        for line in sorted(set(r.warnings))[:5]:
            console.print(f"  {r.name}: {line[:200]}", highlight=False, markup=False)
    console.print(
        f"receiver (own process, asyncio): a Python client blasting a new connection per POST "
        f"got {capacity[0]:,.0f} req/s; its CPU time per request allows {capacity[1]:,.0f} req/s",
        highlight=False,
    )

    cpu = Table(
        title=f"CPU in use from the first due instant to the last arrival (cores; this machine "
        f"has {os.cpu_count()})",
        title_justify="left",
    )
    for column in ("run", "machine", "workers", "postgres", "receiver", "rest", "worker µs/deliv."):
        cpu.add_column(column, justify="left" if column == "run" else "right")
    for r in results:
        if r.cpu is None:
            continue
        per = r.cpu.workers * r.cpu.wall * 1e6 / max(1, r.delivered)
        cpu.add_row(
            r.name,
            *(
                f"{v:.2f}"
                for v in (r.cpu.machine, r.cpu.workers, r.cpu.postgres, r.cpu.receiver, r.cpu.rest)
            ),
            f"{per:,.0f}",
        )
    console.print(cpu)
    console.print(
        "postgres: the server's shared processes and the bench database's connections open at"
        " the end; rest: everything else on the machine (the bench itself, other programs,"
        " connections closed meanwhile)",
        highlight=False,
    )

    targets = Table(title="Targets", title_justify="left")
    for column in ("target", "measured", "result"):
        targets.add_column(column)

    def verdict(ok: bool) -> str:
        return "[green]PASS[/]" if ok else "[red]MISS[/]"

    by_name = {r.name: r for r in results}
    for r in results:
        if r.name.startswith("lateness"):
            p99 = r.p(0.99)
            targets.add_row(
                f"{r.name}: p99 <= {LATENESS_P99_TARGET_MS:.0f} ms",
                f"{_ms(p99)} ms",
                verdict(p99 <= LATENESS_P99_TARGET_MS),
            )
    one = by_name.get("burst PostgreSQL x1")
    two = by_name.get("burst PostgreSQL x2")
    if one is not None and one.per_second is not None:
        targets.add_row(
            f"burst, 1 worker: >= {BURST_TARGET_PER_S:.0f} deliveries/s",
            f"{one.per_second:,.0f}/s",
            verdict(one.per_second >= BURST_TARGET_PER_S),
        )
    if one and two and one.per_second and two.per_second is not None:
        ratio = two.per_second / one.per_second
        targets.add_row(
            f"burst, 2 workers: >= {SCALE_TARGET}x one",
            f"{ratio:.2f}x ({two.per_second:,.0f}/s)",
            verdict(ratio >= SCALE_TARGET),
        )
    if two is not None and two.per_second is not None and two.cpu is not None:
        per = two.cpu.workers * two.cpu.wall * 1e6 / max(1, two.delivered)
        targets.add_row(
            f"burst, 2 workers: >= {FANOUT_PER_S:,.0f}/s, p99 <= {FANOUT_P99_MS / 1000:.0f} s, "
            f"<= {FANOUT_WORKER_US:.0f} us worker CPU per delivery",
            f"{two.per_second:,.0f}/s, p99 {two.p(0.99) / 1000:.1f} s, {per:,.0f} us",
            verdict(
                two.per_second >= FANOUT_PER_S
                and two.p(0.99) <= FANOUT_P99_MS
                and per <= FANOUT_WORKER_US
            ),
        )
    for r in results:
        if r.workers:
            targets.add_row(
                f"{r.name}: 0 duplicates, 0 lost",
                f"{r.duplicates} dup, {r.lost} lost",
                verdict(r.duplicates == 0 and r.lost == 0),
            )
    console.print(targets)


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the dues span")
    parser.add_argument(
        "--history", type=int, default=HISTORY, help="sent reminders already in the queue"
    )
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", PG_ADMIN_URL))
    parser.add_argument(
        "--only", default="", help="comma list: baseline,sqlite,pg,burst1,burst2 (default all)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        help="KEY=VALUE for the workers' environment, e.g. VISITCAL_WORKER_BATCH=500",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (worker logs)")
    parser.add_argument("--serve-receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--blast", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--blast-count", type=int, default=5000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver()
        return
    if args.blast:
        blast(args.blast, args.blast_count, 32)
        return

    wanted = set(filter(None, args.only.split(","))) or {
        "baseline",
        "sqlite",
        "pg",
        "burst1",
        "burst2",
    }
    worker_env = dict(item.split("=", 1) for item in args.env)
    count, spread = args.count, args.spread

    def spread_dues(t0: datetime) -> list[datetime]:
        return [t0 + timedelta(seconds=spread * i / count) for i in range(count)]

    def burst_dues(t0: datetime) -> list[datetime]:
        return [t0] * count

    # Worst cases: the spread runs end `grace` after the last due; a burst gets 60 s, or as long
    # as 500 deliveries/s would take when that is longer.
    spread_grace, burst_grace = 60.0, max(60.0, count / 500)
    followers = followers_for(count)
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="visitcal-bench-reminders-"))
    bench = Bench(tmp)
    started = time.monotonic()
    try:
        receiver_proc = bench.start(
            "receiver", [sys.executable, str(Path(__file__).resolve()), "--serve-receiver"]
        )
        port = int(bench.wait_for(receiver_proc, r"ready (\d+)", timeout=30).group(1))
        receiver = ReceiverClient(port)
        capacity = receiver_capacity(bench, port, receiver)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            if "baseline" in wanted:
                results.append(run_baseline(progress, count, spread))
            if "sqlite" in wanted:
                task = progress.add_task(f"SQLite: {args.history:,} sent reminders", total=None)
                fixture = prepare(f"sqlite:///{tmp / 'bench.db'}", port, args.history, followers)
                progress.remove_task(task)
                results.append(
                    run_queue(
                        bench,
                        progress,
                        receiver,
                        receiver_proc.process.pid,
                        fixture,
                        "lateness SQLite",
                        1,
                        spread_dues,
                        3.0,
                        spread_grace,
                        worker_env,
                    )
                )
            pg_runs = [
                ("pg", "lateness PostgreSQL", 1, spread_dues, spread_grace),
                ("burst1", "burst PostgreSQL x1", 1, burst_dues, burst_grace),
                ("burst2", "burst PostgreSQL x2", 2, burst_dues, burst_grace),
            ]
            if wanted & {run[0] for run in pg_runs}:
                with postgres_database(args.postgres) as url:
                    task = progress.add_task(
                        f"PostgreSQL: {args.history:,} sent reminders", total=None
                    )
                    fixture = prepare(url, port, args.history, followers)
                    progress.remove_task(task)
                    for key, name, workers, dues, grace in pg_runs:
                        if key in wanted:
                            results.append(
                                run_queue(
                                    bench,
                                    progress,
                                    receiver,
                                    receiver_proc.process.pid,
                                    fixture,
                                    name,
                                    workers,
                                    dues,
                                    3.0,
                                    grace,
                                    worker_env,
                                )
                            )
        report(results, capacity)
        console.print(f"bench took {time.monotonic() - started:.0f} s", highlight=False)
    finally:
        bench.close()
        if args.keep:
            console.print(f"kept {tmp}", highlight=False)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
