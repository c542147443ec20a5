"""Write benchmark: organizers' PATCHes at once, and reads while a large load runs.

Run by hand (`.venv/bin/python bench/writes.py`, add `--postgres URL` for PostgreSQL too);
prints one Rich table. Everything listens on 127.0.0.1, every wait is bounded, and every
process, database and temporary directory it makes is removed at the end.

  a) PATCHes/s through a `visitcal serve` process with 1, 4 and 16 concurrent organizers, each
     changing the title of a segment of its own (no If-Match: every PATCH is a real change,
     merged and written under the catalog's lock), beside the single organizer's figure;
  b) feed and page read latency (p50, p99) and sign-up latency while `visitcal load` writes
     10,000 new segments (1,000 visit files) in one transaction, beside the same reads with
     nothing else running. Every answer must be 2xx: a read never waits for the writer, a
     sign-up waits its turn and does not fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from service.db import normalize_url  # noqa: E402
from service.schedules.organizer_tokens import create_token  # noqa: E402
from service.services import Services  # noqa: E402
from service.settings import Settings  # noqa: E402

BIN = Path(sys.executable).parent
ORGANIZERS = (1, 4, 16)
LOAD_VISITS = 1_000
SEGMENTS_PER_VISIT = 10
BENCH = "2026-03-bench-visit"
console = Console(width=max(Console().width, 130))


# --------------------------------------------------------------------------------------------
# Databases, the server, the files to load.


@contextmanager
def database(kind: str, postgres: str | None, workdir: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a PostgreSQL database dropped at the end."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    assert postgres
    admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
    name = f"visitcal_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalize_url(postgres).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings(url: str) -> Settings:
    return Settings(database_url=url, base_url="http://127.0.0.1:8000")  # type: ignore[call-arg]


def prepare(url: str) -> tuple[str, list[dict[str, str]]]:
    """Schema, one visit with a segment per organizer, and an organizer token."""
    services = Services.build(settings(url))
    try:
        services.db.migrate()
        token = create_token(services.db, "bench", datetime.now(UTC))
    finally:
        services.close()
    segments = [
        {"id": f"s{n:02d}", "title": f"Segment {n}", "kind": "meeting", "date": "2026-03-02"}
        for n in range(max(ORGANIZERS))
    ]
    return token, segments


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITCAL_")}
    env.update(
        VISITCAL_DATABASE_URL=url,
        VISITCAL_BASE_URL="http://127.0.0.1:8000",
        VISITCAL_LOG_LEVEL="warning",
        # Sign-ups name a webhook on 127.0.0.1 that is never called (no worker runs).
        VISITCAL_CHANNEL_ALLOW_PRIVATE="true",
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(url: str, log: Path) -> Iterator[str]:
    port = free_port()
    command = [
        str(BIN / "visitcal"),
        "serve",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env_for(url), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"visitcal serve exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("visitcal serve did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def write_load_files(directory: Path) -> None:
    """1,000 synthetic visits of 10 segments each, as schedule files."""
    directory.mkdir()
    for number in range(LOAD_VISITS):
        parts = [
            "[visit]",
            f'slug = "2027-bench-{number:04d}"',
            f'title = "Synthetic visit {number}"',
            'timezone = "Asia/Tokyo"',
            "first_day = 2027-02-01",
            "last_day = 2027-02-02",
            '[visit.guest]\nname = "A Guest"\noffice = "President"',
            '[visit.host]\nname = "A Host"\noffice = "Prime Minister"',
        ]
        for segment in range(SEGMENTS_PER_VISIT):
            parts.append(
                f'[[segment]]\nid = "s{segment}"\ntitle = "Segment {segment}"\n'
                f'kind = "meeting"\ndate = 2027-02-0{1 + segment % 2}\n'
                f'start = "{9 + segment:02d}:00"\nend = "{9 + segment:02d}:45"'
            )
        (directory / f"bench-{number:04d}.toml").write_text("\n".join(parts) + "\n")


# --------------------------------------------------------------------------------------------
# Measures.


@dataclass
class Timings:
    seconds: list[float]
    failures: int = 0

    def p(self, quantile: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000


def patches_per_second(
    base: str, token: str, organizers: int, seconds: float
) -> tuple[float, Timings]:
    """Each organizer PATCHes the title of its own segment, back to back, for `seconds`."""
    auth = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(organizers)
    timings = Timings([])
    lock = threading.Lock()

    def organizer(number: int) -> None:
        path = f"/api/visits/{BENCH}/segments/s{number:02d}"
        with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
            start.wait()
            end = time.monotonic() + seconds
            edit = 0
            while time.monotonic() < end:
                edit += 1
                began = time.perf_counter()
                answer = client.patch(path, json={"title": f"Segment {number}, edit {edit}"})
                took = time.perf_counter() - began
                with lock:
                    timings.seconds.append(took)
                    timings.failures += answer.status_code != 200

    began = time.monotonic()
    with ThreadPoolExecutor(organizers) as pool:
        list(pool.map(organizer, range(organizers)))
    elapsed = time.monotonic() - began
    return len(timings.seconds) / elapsed, timings


def reads_while(
    base: str, during: Callable[[], None] | None, seconds: float
) -> tuple[Timings, Timings, Timings, float]:
    """Feed and page reads (one client each) and sign-ups (one client) while `during` runs,
    or for `seconds` when there is nothing to run; and how long it ran."""
    stop = threading.Event()
    feeds, pages, signups = Timings([]), Timings([]), Timings([])

    def loop(timings: Timings, request: Callable[[httpx.Client, int], httpx.Response]) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            number = 0
            while not stop.is_set():
                number += 1
                began = time.perf_counter()
                answer = request(client, number)
                timings.seconds.append(time.perf_counter() - began)
                timings.failures += not 200 <= answer.status_code < 300

    def sign_up(client: httpx.Client, number: int) -> httpx.Response:
        body = {"channel": f"json://127.0.0.1:9/bench-{number}", "visits": [BENCH]}
        time.sleep(0.05)  # a few sign-ups a second, not a flood
        return client.post("/subscriptions", json=body)

    def feed(client: httpx.Client, _number: int) -> httpx.Response:
        return client.get(f"/feeds/visits/{BENCH}.ics")

    def page(client: httpx.Client, _number: int) -> httpx.Response:
        return client.get(f"/visits/{BENCH}")

    readers = [
        threading.Thread(target=loop, args=(feeds, feed)),
        threading.Thread(target=loop, args=(pages, page)),
        threading.Thread(target=loop, args=(signups, sign_up)),
    ]
    for reader in readers:
        reader.start()
    began = time.monotonic()
    if during is None:
        time.sleep(seconds)
    else:
        during()
    elapsed = time.monotonic() - began
    stop.set()
    for reader in readers:
        reader.join()
    return feeds, pages, signups, elapsed


def load_files(url: str, directory: Path) -> Callable[[], None]:
    def run() -> None:
        result = subprocess.run(
            [str(BIN / "visitcal"), "load", str(directory)],
            cwd=ROOT,
            env=env_for(url),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"visitcal load exited {result.returncode}: {result.stderr}")

    return run


# --------------------------------------------------------------------------------------------
# The run and the report.


@dataclass
class Figures:
    kind: str
    rates: dict[int, float]
    patch_p99: dict[int, float]
    patch_failures: int
    idle: tuple[Timings, Timings, Timings]
    loading: tuple[Timings, Timings, Timings]
    load_seconds: float


def measure(kind: str, url: str, workdir: Path, seconds: float, files: Path) -> Figures:
    token, segments = prepare(url)
    with serving(url, workdir / f"serve-{kind}.log") as base:
        visit = {
            "slug": BENCH,
            "title": "Synthetic bench visit",
            "first_day": "2026-03-02",
            "last_day": "2026-03-03",
            "guest": {"name": "A Guest", "office": "President"},
            "host": {"name": "A Host", "office": "Prime Minister"},
            "segments": segments,
        }
        created = httpx.post(
            f"{base}/api/visits", json=visit, headers={"Authorization": f"Bearer {token}"}
        )
        created.raise_for_status()
        rates, p99, failures = {}, {}, 0
        for organizers in ORGANIZERS:
            console.log(f"{kind}: {organizers} organizer(s) PATCHing for {seconds:g} s")
            rates[organizers], timings = patches_per_second(base, token, organizers, seconds)
            p99[organizers] = timings.p(0.99)
            failures += timings.failures
        console.log(f"{kind}: reads with nothing else running")
        *idle, _ = reads_while(base, None, seconds)
        console.log(f"{kind}: reads while visitcal load writes 10,000 segments")
        *loading, load_seconds = reads_while(base, load_files(url, files), seconds)
    return Figures(
        kind,
        rates,
        p99,
        failures,
        (idle[0], idle[1], idle[2]),
        (loading[0], loading[1], loading[2]),
        load_seconds,
    )


def report(all_figures: list[Figures], seconds: float) -> None:
    table = Table(title=f"visitcal writes benchmark ({seconds:g} s per measure)")
    for column in ("database", "measure", "figure", "single writer / idle", "ratio", "non-2xx"):
        table.add_column(column, justify="left" if column in ("database", "measure") else "right")
    for figures in all_figures:
        single = figures.rates[1]
        for organizers in ORGANIZERS:
            rate = figures.rates[organizers]
            table.add_row(
                figures.kind,
                f"PATCH, {organizers} organizer(s): rate (p99)",
                f"{rate:,.0f}/s ({figures.patch_p99[organizers]:,.0f} ms)",
                f"{single:,.0f}/s",
                f"{rate / single:.2f}×",
                str(figures.patch_failures) if organizers == ORGANIZERS[-1] else "",
            )
        names = ("feed GET", "page GET", "sign-up POST")
        for name, idle, loading in zip(names, figures.idle, figures.loading, strict=True):
            table.add_row(
                figures.kind,
                f"{name} during the load: p50 / p99",
                f"{loading.p(0.5):,.1f} / {loading.p(0.99):,.1f} ms",
                f"{idle.p(0.5):,.1f} / {idle.p(0.99):,.1f} ms",
                f"{loading.p(0.99) / idle.p(0.99):.1f}× p99",
                str(idle.failures + loading.failures),
            )
        load = f"{figures.load_seconds:.1f} s"
        table.add_row(figures.kind, "visitcal load of 10,000 segments", load, "", "", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="duration of each measure")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("VISITCAL_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL (a database is created and dropped); default: "
        "$VISITCAL_TEST_POSTGRES_URL; none: SQLite only",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="visitcal-bench-writes-"))
    try:
        files = workdir / "load"
        write_load_files(files)
        figures = []
        for kind in ("sqlite", "postgresql") if args.postgres else ("sqlite",):
            with database(kind, args.postgres, workdir) as url:
                figures.append(measure(kind, url, workdir, args.seconds, files))
        report(figures, args.seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
