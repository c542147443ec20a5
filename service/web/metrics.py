"""GET /metrics: Prometheus' text format (see service/metrics.py for what is counted)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.clock import utc_now
from service.metrics import CONTENT_TYPE, exposition, queue_gauges
from service.reminders.health import queue_figures, workers
from service.services import Services

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Counts of reminders, feeds and sign-ups (every process of `serve --workers N`), and
    the reminder queue and workers, read from the database now."""
    services: Services = request.app.state.services
    now = utc_now()
    queue = queue_figures(services.db, now)
    seen = workers(services.db, now, services.settings.heartbeat_seconds)
    alive = sum(w.alive for w in seen)
    gauges = queue_gauges(
        queue.due, queue.claimed, queue.oldest_wait(now), alive, len(seen) - alive, now
    )
    return Response(
        exposition(gauges), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
