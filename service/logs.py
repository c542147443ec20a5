"""Log lines: one per event, as text or as one JSON object per line (setting log_format)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from service.settings import Settings


class JsonLines(logging.Formatter):
    """`{"at": ..., "level": ..., "logger": ..., "message": ...}` on one line; a traceback
    goes in "error" (escaped, so the record stays one line)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def configure_logging(settings: Settings) -> None:
    """The root logger writes to stderr in the chosen format; uvicorn's loggers go through it."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if settings.log_format == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # APScheduler says "Running job ..." at INFO for every run: twice a second for the
    # worker's watch job. Its warnings and errors still show; all of it at DEBUG.
    if root.level > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
