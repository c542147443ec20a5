"""Sign-up benchmark: what a sign-up costs beside many future segments.

Run by hand (`.venv/bin/python bench/signups.py`); prints one Rich table. A `visitcal serve
--workers 1` process on a PostgreSQL database of its own (dropped at the end) on 127.0.0.1.

For 0 and 30,000 future segments (300 visits of 100, written directly), with 1 and 32 clients
at once: the latency (p50, p99) of a sign-up (POST /subscriptions, following one visit, two
offsets) and of its confirmation (POST of the confirm link: where its reminders are planned),
and any answer that is not 2xx. A follower of one visit plans that visit's 100 segments, not
the 30,000: the two columns should be close.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.reminders import PG_ADMIN_URL, percentile, postgres_database  # noqa: E402

BIN = Path(sys.executable).parent
VISITS = 300
SEGMENTS_PER_VISIT = 100
SIGN_UPS = 160
console = Console() if sys.stdout.isatty() else Console(width=150)


def add_segments(url: str, visits: int) -> None:
    from sqlalchemy import insert

    from service.db import Database
    from service.models import Segment, Visit

    db = Database(url)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        db.migrate()
        for first in range(0, visits, 50):
            with db.write() as session:
                made = [
                    Visit(
                        slug=f"bench-{v:04d}",
                        title=f"Bench visit {v}",
                        guest_name="Guest",
                        guest_office="Prime Minister",
                        place="Tokyo",
                        first_day=now.date(),
                        last_day=now.date() + timedelta(days=5),
                        created_at=now,
                        changed_at=now,
                    )
                    for v in range(first, min(visits, first + 50))
                ]
                session.add_all(made)
                session.flush()
                rows = []
                for visit in made:
                    for m in range(SEGMENTS_PER_VISIT):
                        start = now + timedelta(days=1, minutes=m)
                        rows.append(
                            {
                                "visit_id": visit.id,
                                "key": f"s{m:03d}",
                                "uid": f"{visit.slug}.s{m:03d}@bench",
                                "kind": "meeting",
                                "title": f"Meeting {m}",
                                "start_at": start,
                                "end_at": start + timedelta(minutes=30),
                                "participants": [],
                                "tags": [],
                                "created_at": now,
                                "changed_at": now,
                            }
                        )
                session.execute(insert(Segment.__table__), rows)  # type: ignore[attr-defined]
    finally:
        db.dispose()


def secret_of(url: str) -> bytes:
    from service.db import Database
    from service.signing import server_secret

    db = Database(url)
    try:
        return server_secret(db, "bench-secret")
    finally:
        db.dispose()


def measure(base: str, url: str, visits: int, clients: int) -> dict[str, object]:
    from service.urls import confirm_link

    secret = secret_of(url)
    sign_ups: list[float] = []
    confirms: list[float] = []
    errors = 0

    def one(k: int) -> None:
        nonlocal errors
        body = {
            "channel": f"json://127.0.0.1:9/f{k}",
            "visits": [f"bench-{k % visits:04d}"] if visits else [],
            "offsets": ["1h", "15m"],
        }
        with httpx.Client(timeout=120) as client:
            started = time.perf_counter()
            made = client.post(f"{base}/subscriptions", json=body)
            sign_ups.append(time.perf_counter() - started)
            if made.status_code != 201:
                errors += 1
                return
            started = time.perf_counter()
            done = client.post(confirm_link(base, secret, made.json()["id"], body["channel"]))
            confirms.append(time.perf_counter() - started)
            errors += done.status_code != 200

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(SIGN_UPS)))
    sign_ups.sort()
    confirms.sort()
    return {
        "sign-up p50": percentile(sign_ups, 0.5) * 1000,
        "sign-up p99": percentile(sign_ups, 0.99) * 1000,
        "confirm p50": percentile(confirms, 0.5) * 1000,
        "confirm p99": percentile(confirms, 0.99) * 1000,
        "errors": errors,
    }


def serving(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VISITCAL_DATABASE_URL": url,
        "VISITCAL_SECRET_KEY": "bench-secret",
        "VISITCAL_CHANNEL_ALLOW_PRIVATE": "true",
        "VISITCAL_LOG_LEVEL": "warning",
        # One client address makes every sign-up here: the per-address limit would answer 429.
        "VISITCAL_ANONYMOUS_WRITE_BURST": "1000000",
        "VISITCAL_ANONYMOUS_WRITES_PER_MINUTE": "1000000",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "visitcal"), "serve", "--workers", "1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", PG_ADMIN_URL))
    args = parser.parse_args()
    from tests.helpers.live_server import free_port

    table = Table(title=f"Sign-ups ({SIGN_UPS} per row), following one visit of 100 segments")
    for column in ("future segments", "clients", "sign-up p50/p99 ms", "confirm p50/p99 ms"):
        table.add_column(column, justify="right")
    table.add_column("errors", justify="right")
    tmp = Path(tempfile.mkdtemp(prefix="visitcal-bench-signups-"))
    for visits in (0, VISITS):
        with postgres_database(args.postgres) as url:
            add_segments(url, visits)
            port = free_port()
            server = serving(url, port, tmp / f"serve-{visits}.log")
            try:
                for clients in (1, 32):
                    got = measure(f"http://127.0.0.1:{port}", url, visits, clients)
                    table.add_row(
                        f"{visits * SEGMENTS_PER_VISIT:,}",
                        str(clients),
                        f"{got['sign-up p50']:,.0f} / {got['sign-up p99']:,.0f}",
                        f"{got['confirm p50']:,.0f} / {got['confirm p99']:,.0f}",
                        str(got["errors"]),
                    )
            finally:
                server.terminate()
                server.wait(20)
    console.print(table)
    console.print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores, shared)")


if __name__ == "__main__":
    main()
