"""Feed benchmark: render times, restart, and HTTP throughput against nginx serving the export.

Run by hand (`make bench`); prints one table of figures, ratios and PASS/MISS per target.
Everything listens on 127.0.0.1, every wait is bounded, and every process and temporary
directory it starts is removed at the end.

  a) for 100, 1,000 and 10,000 synthetic segments: the cold bulk load (Catalog.apply of N new
     segments into a fresh SQLite file, then the first feed assembly), one changed segment
     (Catalog.apply of the change until FeedStore.get gives the fresh bytes), and icalendar
     rendering the same N events as one Calendar (the baseline of the bulk load);
  b) a restart: a new process opens the 10,000-segment database, first FeedStore.get, and the
     first HTTP response of a freshly started `visitcal serve`;
  c) wrk against `visitcal serve` and against nginx serving `visitcal export`'s file, for the
     100-segment feed (~60 KB) and for its 304 answer to If-None-Match.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import icalendar  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlmodel import select  # noqa: E402

from feeds.calendar import PRODID  # noqa: E402
from feeds.event import build_event  # noqa: E402
from service.localtime import local_instant  # noqa: E402
from service.models import Segment, Visit  # noqa: E402
from service.publishing.feed_store import FeedKey  # noqa: E402
from service.schedules.spec import (  # noqa: E402
    ScheduleInput,
    SegmentSpec,
    VisitSpec,
    resolve_segment,
)
from service.schedules.vevents import segment_event  # noqa: E402
from service.services import Services  # noqa: E402
from service.settings import Settings  # noqa: E402

SIZES = (100, 1_000, 10_000)
SEGMENTS_PER_VISIT = 10
CHANGE_REPEATS = 7
BULK_AT = datetime(2026, 1, 1, tzinfo=UTC)
BIN = Path(sys.executable).parent
ALL = FeedKey("all")
PART_OF_DAY = {
    "morning": (clock(9), clock(12)),
    "afternoon": (clock(13), clock(18)),
    "evening": (clock(18), clock(22)),
}

# Targets from the brief.
CHANGE_TARGET_MS = 50.0
RESTART_TARGET_MS = 200.0
RPS_TARGET = 0.40
RPS_304_TARGET = 0.25

console = Console(width=150)


# --------------------------------------------------------------------------------------------
# Synthetic schedules: plausible visits, ~600 bytes of VEVENT per segment.

GUESTS = [
    ("Lee Jae-myung", "President", "Republic of Korea", "Asia/Seoul"),
    ("Giorgia Meloni", "Prime Minister", "Italy", "Europe/Rome"),
    ("Anthony Albanese", "Prime Minister", "Australia", "Australia/Sydney"),
    ("Emmanuel Macron", "President", "France", "Europe/Paris"),
    ("Luiz Inácio Lula da Silva", "President", "Brazil", "America/Sao_Paulo"),
    ("Narendra Modi", "Prime Minister", "India", "Asia/Kolkata"),
    ("Friedrich Merz", "Chancellor", "Germany", "Europe/Berlin"),
    ("Mark Carney", "Prime Minister", "Canada", "America/Toronto"),
]
HOSTS = [
    ("Sousuke Takai", "Prime Minister", "Japan", "Asia/Tokyo"),
    ("Keir Starmer", "Prime Minister", "United Kingdom", "Europe/London"),
    ("Prabowo Subianto", "President", "Indonesia", "Asia/Jakarta"),
    ("Christopher Luxon", "Prime Minister", "New Zealand", "Pacific/Auckland"),
]
PLACES = {
    "Japan": ["Tokyo", "Nara", "Kyoto", "Osaka", "Hiroshima"],
    "United Kingdom": ["London", "Edinburgh", "Chequers"],
    "Indonesia": ["Jakarta", "Bogor", "Bali"],
    "New Zealand": ["Wellington", "Auckland"],
}
PROGRAMME = [
    ("arrival", "Arrival at {place} airport and welcome by the Minister for Foreign Affairs"),
    ("ceremony", "Welcome ceremony with guard of honour at the Prime Minister's Office"),
    ("meeting", "Summit meeting between {guest} and {host}"),
    ("meeting", "Expanded bilateral talks with delegations on trade and economic security"),
    ("press", "Joint press conference and signing of cooperation documents"),
    ("meal", "Working lunch hosted by {host} for the visiting delegation"),
    ("exchange", "Visit to a technology campus and exchange with young researchers"),
    ("community", "Meeting with representatives of the {country} community in {place}"),
    ("meal", "State banquet hosted in honour of {guest}"),
    ("departure", "Farewell and departure from {place}"),
]
DETAILS = [
    "Talks on energy transition, critical minerals and supply-chain resilience.",
    "Agenda: people-to-people exchanges, youth mobility and the next multilateral summit.",
    "Pool coverage of the opening remarks only; a readout follows from both governments.",
    "Follows the leaders' meeting on the margins of the G20, in an anniversary year.",
]
TAGS = ["bilateral", "summit", "shuttle-diplomacy", "economy", "security", "culture"]


def synthetic_schedules(count: int, seed: int = 2026) -> list[ScheduleInput]:
    """`count` segments in visits of SEGMENTS_PER_VISIT, as the schedule parser would give them."""
    rng = random.Random(seed)
    schedules = []
    visit_number = 0
    remaining = count
    while remaining > 0:
        size = min(SEGMENTS_PER_VISIT, remaining)
        remaining -= size
        schedules.append(_synthetic_visit(rng, visit_number, size))
        visit_number += 1
    return schedules


def _synthetic_visit(rng: random.Random, number: int, size: int) -> ScheduleInput:
    guest, guest_office, guest_country, _ = GUESTS[number % len(GUESTS)]
    host, host_office, host_country, zone = HOSTS[(number // len(GUESTS)) % len(HOSTS)]
    first_day = date(2026, 1, 13) + timedelta(days=3 * number)
    last_day = first_day + timedelta(days=2)
    place = rng.choice(PLACES[host_country])
    slug = f"{first_day:%Y-%m}-{guest.split()[-1].lower()}-{number:04d}"
    visit = VisitSpec.model_validate(
        {
            "slug": slug,
            "title": f"{guest_office} {guest} visits {host_country} ({place})",
            "timezone": zone,
            "first_day": first_day,
            "last_day": last_day,
            "status": "confirmed",
            "guest": {"name": guest, "office": guest_office, "country": guest_country},
            "host": {"name": host, "office": host_office, "country": host_country},
            "place": f"{place}, {host_country}",
            "description": rng.choice(DETAILS),
            "source": {"name": f"Government of {host_country}", "date": first_day},
            "tags": rng.sample(TAGS, 2),
        }
    )
    words = {"guest": guest, "host": host, "place": place, "country": guest_country}
    segments = []
    for index in range(size):
        kind, title = PROGRAMME[index % len(PROGRAMME)]
        day = first_day + timedelta(days=min(index * 3 // size, 2))
        shape = rng.random()
        timing: dict[str, object]
        if shape < 0.7:
            start = clock(8 + index % 12, rng.choice((0, 15, 30, 45)))
            end = clock(start.hour + 1, start.minute)
            timing = {"start": start, "end": end}
        elif shape < 0.95:
            timing = {"part_of_day": rng.choice(list(PART_OF_DAY))}
        else:
            timing = {}
        spec = SegmentSpec.model_validate(
            {
                "id": f"{kind}-{index:02d}",
                "title": title.format(**words),
                "kind": kind,
                "date": day,
                "location": f"{place}, {rng.choice(['State Guest House', 'Kantei', 'City Hall'])}",
                "participants": [guest, host] if kind != "arrival" else [guest],
                # Most announced segments carry no prose of their own.
                "description": rng.choice(DETAILS) if rng.random() < 0.3 else "",
                "tags": rng.sample(TAGS, 1),
                **timing,
            }
        )
        segments.append(resolve_segment(spec, visit, PART_OF_DAY))
    return ScheduleInput(visit, tuple(segments), origin=f"bench:{slug}")


def moved(schedule: ScheduleInput, index: int, minutes: int) -> ScheduleInput:
    """The schedule with its `index`th segment moved to an exact time `minutes` later."""
    segments = list(schedule.segments)
    old = segments[index]
    start = old.start_at + timedelta(minutes=minutes)
    if old.precision != "exact":
        tz = ZoneInfo(old.timezone)
        start = local_instant(old.start_at.astimezone(tz).date(), clock(10, minutes % 60), tz)
    segments[index] = replace(
        old,
        start_at=start,
        end_at=start + timedelta(hours=1),
        precision="exact",
        part_of_day=None,
        status="confirmed",
        title=old.title + " (rescheduled)",
    )
    return replace(schedule, segments=tuple(segments))


# --------------------------------------------------------------------------------------------
# Measurements in this process.


def settings_for(db_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db_path}",
        base_url="http://127.0.0.1:8000",
        visits_dir=db_path.parent / "no-visits",
        **overrides,  # type: ignore[arg-type]
    )


def ms(seconds: float) -> float:
    return seconds * 1000.0


@dataclass
class SizeFigures:
    size: int
    feed_bytes: int
    apply_ms: float
    assemble_ms: float
    cold_ms: float
    change_ms: float  # median
    change_max_ms: float
    icalendar_ms: float


def bulk_load(size: int, db_path: Path) -> tuple[float, float, int]:
    """Catalog.apply of `size` new segments into a fresh database, then the first assembly."""
    schedules = synthetic_schedules(size)
    services = Services.build(settings_for(db_path))
    try:
        services.db.migrate()
        gc.collect()
        started = time.perf_counter()
        report = services.catalog.apply(schedules, BULK_AT)
        services.feeds.invalidate()
        applied = time.perf_counter()
        feed = services.feeds.get(ALL)
        done = time.perf_counter()
        assert feed is not None and report.count("added") == size, "bulk load incomplete"
        return ms(applied - started), ms(done - applied), len(feed.body)
    finally:
        services.close()


def one_segment_changes(size: int, db_path: Path) -> list[float]:
    """Catalog.apply of a visit with one segment moved, until FeedStore.get has the new bytes."""
    schedules = synthetic_schedules(size)
    # Only the visits that change are kept: a server does not hold every parsed schedule.
    picks = [
        (len(schedules) // 2 + repeat * 7) % len(schedules) for repeat in range(CHANGE_REPEATS)
    ]
    kept = {index: schedules[index] for index in picks}
    del schedules
    services = Services.build(settings_for(db_path))
    try:
        services.feeds.get(ALL)
        gc.collect()
        changes = []
        for repeat, visit_index in enumerate(picks):
            schedule = kept[visit_index]
            segment_index = repeat % len(schedule.segments)
            changed = moved(schedule, segment_index, 30 + repeat)
            before = services.feeds.get(ALL)
            t0 = time.perf_counter()
            report = services.catalog.apply([changed], BULK_AT + timedelta(minutes=repeat + 1))
            services.feeds.invalidate()
            fresh = services.feeds.get(ALL)
            t1 = time.perf_counter()
            assert report.changes and fresh is not None and before is not None
            new_title = changed.segments[segment_index].title
            assert fresh.etag != before.etag and new_title.encode()[:40] in fresh.body.replace(
                b"\r\n ", b""
            ), "the changed segment is not in the fresh feed"
            kept[visit_index] = changed
            changes.append(ms(t1 - t0))
        return changes
    finally:
        services.close()


def measure_size(size: int, workdir: Path, rounds: int) -> tuple[SizeFigures, Path]:
    """Best of `rounds` for the bulk load and for icalendar alike; changes on the last database."""
    loads = []
    for round_number in range(rounds):
        db_path = workdir / f"bench-{size}-{round_number}.db"
        loads.append(bulk_load(size, db_path))
    apply_ms, assemble_ms, feed_bytes = min(loads, key=lambda load: load[0] + load[1])
    services = Services.build(settings_for(db_path))
    try:
        events = _events(services)
    finally:
        services.close()
    baseline = min(icalendar_render_ms(events) for _ in range(rounds))
    del events
    changes = one_segment_changes(size, db_path)
    figures = SizeFigures(
        size=size,
        feed_bytes=feed_bytes,
        apply_ms=apply_ms,
        assemble_ms=assemble_ms,
        cold_ms=apply_ms + assemble_ms,
        change_ms=statistics.median(changes),
        change_max_ms=max(changes),
        icalendar_ms=baseline,
    )
    return figures, db_path


def _events(services: Services) -> list:
    with services.db.session() as session:
        visits = {v.id: v for v in session.exec(select(Visit))}
        segments = session.exec(select(Segment).order_by(Segment.start_at, Segment.uid)).all()  # type: ignore[arg-type]
        return [segment_event(s, visits[s.visit_id], services.settings) for s in segments]


def icalendar_render_ms(events: Sequence) -> float:
    """icalendar building and serialising one Calendar holding the same events (the baseline)."""
    years: dict[str, tuple[int, int]] = {}
    for event in events:
        first, last = years.get(event.timezone, (event.start.year, event.end.year))
        years[event.timezone] = (min(first, event.start.year), max(last, event.end.year))
    started = time.perf_counter()
    cal = icalendar.Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "visitcal: all official visits")
    for tzid, (first, last) in sorted(years.items()):
        cal.add_component(
            icalendar.Timezone.from_tzid(
                tzid, first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1)
            )
        )
    for event in events:
        cal.add_component(build_event(event))
    body = cal.to_ical()
    elapsed = time.perf_counter() - started
    assert body.count(b"BEGIN:VEVENT") == len(events)
    return ms(elapsed)


# --------------------------------------------------------------------------------------------
# Restart: a new process on the same database file.


def restart_probe(database: str) -> None:
    """Run in a child process: print the first FeedStore.get after opening the database."""
    t0 = time.perf_counter()
    services = Services.build(settings_for(Path(database)))
    t1 = time.perf_counter()
    feed = services.feeds.get(ALL)
    t2 = time.perf_counter()
    again = services.feeds.get(ALL)
    t3 = time.perf_counter()
    services.close()
    assert feed is not None and again is feed
    print(
        json.dumps(
            {
                "build_ms": ms(t1 - t0),
                "first_get_ms": ms(t2 - t1),
                "cached_get_us": (t3 - t2) * 1e6,
                "bytes": len(feed.body),
            }
        )
    )


def measure_restart(db_path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--restart-probe", str(db_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"restart probe failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Servers and wrk.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


@contextmanager
def running(
    command: Sequence[str], port: int, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def visitcal_env(db_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITCAL_")}
    env.update(
        VISITCAL_DATABASE_URL=f"sqlite:///{db_path}",
        VISITCAL_BASE_URL="http://127.0.0.1:8000",
        VISITCAL_LOG_LEVEL="warning",
    )
    return env


# `--processes N`: visitcal serve --workers N beside nginx worker_processes N.
PROCESSES = [1]


def serve_command(port: int) -> list[str]:
    return [
        str(BIN / "visitcal"),
        "serve",
        "--workers",
        str(PROCESSES[0]),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


NGINX_CONF = """\
worker_processes {processes};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ text/calendar ics; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/calendar;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        etag on;
        location /feeds/ {{ add_header Cache-Control "public, max-age=300"; }}
    }}
}}
"""


@dataclass
class WrkResult:
    rps: float
    p99_ms: float
    requests: int
    errors: str


def wrk(port: int, path: str, headers: dict[str, str], seconds: int) -> WrkResult:
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "--timeout", "2s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr.strip()}")
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    problems = []
    socket_errors = re.search(r"Socket errors:.*", out)
    if socket_errors:
        problems.append(socket_errors.group(0).strip())
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        problems.append(f"non-2xx/3xx: {bad.group(1)}")
    return WrkResult(rps, float(p99.group(1)) * scale, total, "; ".join(problems))


@dataclass
class HttpFigures:
    feed_bytes: int
    project_200: WrkResult
    nginx_200: WrkResult
    project_304: WrkResult
    nginx_304: WrkResult


def measure_http(
    db_path: Path, workdir: Path, seconds: int, step: Callable[[str], None]
) -> HttpFigures:
    path = "/feeds/all.ics"
    project_port, nginx_port = free_port(), free_port()
    export_dir = workdir / "export"
    env = visitcal_env(db_path, project_port)
    step("exporting the feed for nginx")
    subprocess.run(
        [str(BIN / "visitcal"), "export", str(export_dir)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    nginx_dir = workdir / "nginx"
    nginx_dir.mkdir()
    conf = nginx_dir / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(dir=nginx_dir, port=nginx_port, root=export_dir, processes=PROCESSES[0])
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    step("starting visitcal serve and nginx")
    with (
        running(serve_command(project_port), project_port, env, workdir / "serve.log"),
        running(
            [nginx, "-c", str(conf), "-p", str(nginx_dir)], nginx_port, env, nginx_dir / "out.log"
        ),
    ):
        status, project_headers, project_body = get(project_port, path)
        assert status == 200, f"visitcal answered {status}"
        status, nginx_headers, nginx_body = get(nginx_port, path)
        assert status == 200, f"nginx answered {status}"
        assert project_body == nginx_body, "the exported file differs from the served feed"
        project_etag, nginx_etag = project_headers["etag"], nginx_headers["etag"]
        for port, etag in ((project_port, project_etag), (nginx_port, nginx_etag)):
            status, _, body = get(port, path, {"If-None-Match": etag})
            assert status == 304 and not body, f"no 304 from port {port} (got {status})"

        results = {}
        for name, port, headers in (
            ("project_200", project_port, {}),
            ("nginx_200", nginx_port, {}),
            ("project_304", project_port, {"If-None-Match": project_etag}),
            ("nginx_304", nginx_port, {"If-None-Match": nginx_etag}),
        ):
            step(f"wrk {name.replace('_', ' ')} ({seconds} s + 1 s warm-up)")
            wrk(port, path, headers, 1)
            results[name] = wrk(port, path, headers, seconds)
    return HttpFigures(len(project_body), **results)


def measure_first_response(db_path: Path, workdir: Path) -> tuple[float, float]:
    """A freshly started `visitcal serve`: its first feed response, and the one after it."""
    port = free_port()
    env = visitcal_env(db_path, port)
    with running(serve_command(port), port, env, workdir / "serve-restart.log"):
        t0 = time.perf_counter()
        status, _, body = get(port, "/feeds/all.ics")
        t1 = time.perf_counter()
        get(port, "/feeds/all.ics")
        t2 = time.perf_counter()
    assert status == 200 and body.startswith(b"BEGIN:VCALENDAR")
    return ms(t1 - t0), ms(t2 - t1)


# --------------------------------------------------------------------------------------------
# The report.


def verdict(ok: bool) -> str:
    return "[bold green]PASS[/]" if ok else "[bold red]MISS[/]"


def report(
    sizes: list[SizeFigures],
    restart: dict[str, float],
    first_http: tuple[float, float],
    http: HttpFigures | None,
    seconds: int,
    rounds: int,
) -> None:
    table = Table(title="visitcal feeds benchmark (lower ms is better; higher req/s is better)")
    for column, justify in (
        ("measure", "left"),
        ("segments", "right"),
        ("visitcal", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("", "center"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for figures in sizes:
        n = f"{figures.size:,}"
        table.add_row(
            "bulk load: apply + first assembly",
            n,
            f"{figures.cold_ms:,.0f} ms",
            f"{figures.icalendar_ms:,.0f} ms icalendar",
            f"{figures.cold_ms / figures.icalendar_ms:.2f}×",
            "≤ 1.00× icalendar" if figures.size == 10_000 else "",
            verdict(figures.cold_ms <= figures.icalendar_ms) if figures.size == 10_000 else "",
        )
        table.add_row(
            "  of which Catalog.apply / assembly",
            n,
            f"{figures.apply_ms:,.0f} / {figures.assemble_ms:,.1f} ms",
            f"{figures.feed_bytes / 1024:,.0f} KiB feed",
            "",
            "",
            "",
        )
        table.add_row(
            "one segment changed → fresh feed",
            n,
            f"{figures.change_ms:,.1f} ms",
            f"max {figures.change_max_ms:,.1f} ms",
            "",
            f"≤ {CHANGE_TARGET_MS:.0f} ms" if figures.size == 10_000 else "",
            verdict(figures.change_ms <= CHANGE_TARGET_MS) if figures.size == 10_000 else "",
            end_section=figures is sizes[-1],
        )
    biggest = f"{sizes[-1].size:,}"
    table.add_row(
        "restart: first FeedStore.get (new process)",
        biggest,
        f"{restart['first_get_ms']:,.1f} ms",
        f"open {restart['build_ms']:,.1f} ms",
        "",
        f"≤ {RESTART_TARGET_MS:.0f} ms",
        verdict(restart["first_get_ms"] <= RESTART_TARGET_MS),
    )
    table.add_row(
        "restart: first HTTP response of visitcal serve",
        biggest,
        f"{first_http[0]:,.1f} ms",
        f"next {first_http[1]:,.1f} ms",
        "",
        f"≤ {RESTART_TARGET_MS:.0f} ms",
        verdict(first_http[0] <= RESTART_TARGET_MS),
        end_section=True,
    )
    if http is not None:
        for label, ours, theirs, target in (
            ("GET cached feed, req/s", http.project_200, http.nginx_200, RPS_TARGET),
            ("GET If-None-Match → 304, req/s", http.project_304, http.nginx_304, RPS_304_TARGET),
        ):
            ratio = ours.rps / theirs.rps
            table.add_row(
                label,
                f"100 ({http.feed_bytes / 1024:.0f} KiB)" if target == RPS_TARGET else "100",
                f"{ours.rps:,.0f}",
                f"{theirs.rps:,.0f} nginx",
                f"{ratio:.0%}",
                f"≥ {target:.0%} of nginx",
                verdict(ratio >= target),
            )
            table.add_row(
                "  p99 latency",
                "",
                f"{ours.p99_ms:,.2f} ms",
                f"{theirs.p99_ms:,.2f} ms nginx",
                f"{ours.p99_ms / theirs.p99_ms:.1f}×",
                "",
                "",
            )
        problems = [
            f"{name}: {result.errors}"
            for name, result in (
                ("visitcal 200", http.project_200),
                ("nginx 200", http.nginx_200),
                ("visitcal 304", http.project_304),
                ("nginx 304", http.nginx_304),
            )
            if result.errors
        ]
    else:
        problems = []
    console.print(table)
    console.print(
        f"[dim]{os.cpu_count()} CPUs; wrk -t2 -c50 -d{seconds}s --latency on 127.0.0.1; "
        f"{PROCESSES[0]} uvicorn process(es) (visitcal serve --workers {PROCESSES[0]}) vs nginx "
        f"worker_processes {PROCESSES[0]} serving visitcal export; "
        f"'one segment changed' is the median of {CHANGE_REPEATS} changes (in-process writer, "
        f"then FeedStore.invalidate); bulk load and icalendar are each the best of {rounds} "
        "rounds; the bulk load excludes schema migration and schedule parsing; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other processes on this machine skew figures).[/]"
    )
    for problem in problems:
        console.print(f"[yellow]wrk reported {problem}[/]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restart-probe", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="segment counts")
    parser.add_argument("--no-http", action="store_true", help="skip the wrk part")
    parser.add_argument(
        "--processes", type=int, default=1, help="serve --workers N beside nginx worker_processes N"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="bulk loads and icalendar renders (best of)"
    )
    args = parser.parse_args()
    PROCESSES[0] = args.processes
    if args.restart_probe:
        restart_probe(args.restart_probe)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.no_http and not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y nginx-light wrk")

    workdir = Path(tempfile.mkdtemp(prefix="visitcal-bench-"))
    workdir.chmod(0o755)  # nginx's workers (user nobody when started by root) read the export
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=None)

            def step(text: str) -> None:
                progress.update(task, description=text)

            figures: list[SizeFigures] = []
            databases: dict[int, Path] = {}
            for size in sizes:
                step(f"{size:,} segments: bulk load, changes, icalendar baseline")
                result, db_path = measure_size(size, workdir, args.rounds)
                figures.append(result)
                databases[size] = db_path
            largest = databases[max(sizes)]
            step(f"restart on {max(sizes):,} segments: new process")
            restart = measure_restart(largest)
            step(f"restart on {max(sizes):,} segments: new visitcal serve")
            first_http = measure_first_response(largest, workdir)
            http = None
            if not args.no_http:
                http = measure_http(databases[min(sizes)], workdir, args.seconds, step)
        report(figures, restart, first_http, http, args.seconds, args.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
