"""`visitcal demo`: a sample visit a few minutes ahead, a local webhook receiver that prints
what arrives, the real worker, and a segment moved half-way, so a newcomer sees it all work."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rich.console import Console

from service.localtime import zone
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.schedules.spec import ScheduleInput, SegmentSpec, VisitSpec, resolve_segment
from service.services import Services

SLUG = "demo-visit"


@dataclass(frozen=True)
class Timeline:
    """Seconds after the demo starts; `speed` compresses them (the tests run it at 10x)."""

    arrival: float = 75
    summit: float = 150
    move_at: float = 30
    summit_moved: float = 180
    offsets: tuple[float, float] = (60, 15)

    def scaled(self, speed: float) -> Timeline:
        return Timeline(
            self.arrival / speed,
            self.summit / speed,
            self.move_at / speed,
            self.summit_moved / speed,
            (self.offsets[0] / speed, self.offsets[1] / speed),
        )


class Receiver:
    """A webhook receiver on 127.0.0.1 that hands each JSON message to `on_message`."""

    def __init__(self, on_message: Callable[[dict[str, object]], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(200)
                self.end_headers()
                on_message(json.loads(body or b"{}"))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def _schedule(
    services: Services, start: datetime, arrival: datetime, summit: datetime
) -> ScheduleInput:
    tz_name = services.settings.default_timezone
    tz = zone(tz_name)
    day = start.astimezone(tz).date()
    last = (summit + timedelta(hours=2)).astimezone(tz).date()
    visit = VisitSpec.model_validate(
        {
            "slug": SLUG,
            "title": "Demo visit (sample data)",
            "timezone": tz_name,
            "first_day": day,
            "last_day": last,
            "guest": {"name": "A Guest", "office": "President"},
            "host": {"name": "A Host", "office": "Prime Minister"},
            "place": "Nara",
            "description": "A sample visit made by `visitcal demo`.",
        }
    )

    def segment(key: str, title: str, kind: str, at: datetime) -> SegmentSpec:
        local = at.astimezone(tz)
        return SegmentSpec.model_validate(
            {
                "id": key,
                "title": title,
                "kind": kind,
                "date": local.date(),
                "start": local.time().replace(microsecond=0).isoformat(),
                "location": "Nara",
                "participants": ["A Guest", "A Host"],
            }
        )

    windows = services.settings.part_of_day
    segments = (
        resolve_segment(segment("arrival", "Arrival in Nara", "arrival", arrival), visit, windows),
        resolve_segment(segment("summit", "Summit meeting", "meeting", summit), visit, windows),
    )
    return ScheduleInput(visit=visit, segments=segments, origin="visitcal demo")


def run_demo(
    services: Services, console: Console, speed: float = 1.0, follower_tz: str = "Europe/Rome"
) -> int:
    """Run the demo to its end; returns how many messages arrived."""
    timeline = Timeline().scaled(speed)
    arrived: list[dict[str, object]] = []
    began = time.monotonic()

    def show(message: dict[str, object]) -> None:
        arrived.append(message)
        console.print(
            f"[dim]{time.monotonic() - began:6.1f}s[/dim]  [bold green]received[/bold green] "
            f"{message.get('title', '')}",
            highlight=False,
        )

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    arrival = start + timedelta(seconds=timeline.arrival)
    summit = start + timedelta(seconds=timeline.summit)
    services.catalog.apply([_schedule(services, start, arrival, summit)], datetime.now(UTC))
    offsets = [f"{max(1, round(s))}s" for s in timeline.offsets]
    with Receiver(show) as receiver:
        created = create_subscription(
            services.db,
            services.settings,
            SubscriptionRequest(
                channel=receiver.url, visits=[SLUG], offsets=offsets, timezone=follower_tz
            ),
            datetime.now(UTC),
            confirmed=True,  # the operator runs the demo: the channel is theirs
        )
        console.print(
            f"Demo visit loaded: arrival at {arrival:%H:%M:%S} UTC, "
            f"summit at {summit:%H:%M:%S} UTC.\n"
            f"Subscribed {receiver.url} (zone {follower_tz}) with reminders "
            f"{', '.join(offsets)} before each segment (subscription {created.subscription.id}).\n"
            "Waiting for reminders; Ctrl-C stops.",
            highlight=False,
        )
        worker = services.reminder_worker()
        worker.start()
        try:
            time.sleep(max(0.0, timeline.move_at - (time.monotonic() - began)))
            moved = start + timedelta(seconds=timeline.summit_moved)
            console.print(
                f"[yellow]The organizer moves the summit to {moved:%H:%M:%S} UTC.[/yellow]"
            )
            services.catalog.apply([_schedule(services, start, arrival, moved)], datetime.now(UTC))
            last_due = moved - timedelta(seconds=timeline.offsets[1])
            time.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds() + 2))
        finally:
            worker.stop()
    console.print(f"Demo done: {len(arrived)} message(s) arrived.")
    return len(arrived)
