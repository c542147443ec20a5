"""`visitcal status`: the reminder queue, the workers by heartbeat, the last channel errors."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from service.clock import utc_now
from service.reminders.health import channel_errors, queue_figures, workers
from service.reminders.outbox import where_mail_goes
from service.services import Services


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def print_status(services: Services, out: Console) -> None:
    now = utc_now()
    queue = queue_figures(services.db, now)
    oldest = "nothing waiting"
    if queue.oldest_due:
        oldest = f"the oldest was due {queue.oldest_wait(now):.1f} s ago"
    out.print(
        f"queue: {queue.due:,} due and waiting, {queue.claimed:,} being delivered; {oldest}",
        highlight=False,
    )
    out.print(f"mail: {where_mail_goes(services.settings)}", highlight=False, soft_wrap=True)
    seen = workers(services.db, now, services.settings.heartbeat_seconds)
    alive = sum(w.alive for w in seen)
    out.print(f"workers: {alive} alive, {len(seen) - alive} silent", highlight=False)
    if seen:
        table = Table("worker", "state", "last heartbeat", "started", "handled", "concurrency")
        for each in seen:
            row = each.worker
            table.add_row(
                row.id,
                "alive" if each.alive else "silent (dead?)",
                _ago(now, row.heartbeat_at),
                f"{row.started_at:%Y-%m-%d %H:%M:%S} UTC",
                f"{row.handled:,}",
                str(row.concurrency),
            )
        out.print(table)
    errors = channel_errors(services.db)
    if not errors:
        out.print("channel errors: none", highlight=False)
        return
    table = Table("channel kind", "last error", "worker", "what the channel said")
    for error in errors:
        table.add_row(error.kind, _ago(now, error.at), error.worker_id, error.message[:200])
    out.print("channel errors (the last per kind):", highlight=False)
    out.print(table)
