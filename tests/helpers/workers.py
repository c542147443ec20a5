"""Reminder workers for real, in this process or as `visitcal worker` subprocesses, and what they
leave in the reminder table."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlmodel import col, select

from service.models import Reminder
from service.reminders.worker import ReminderWorker
from service.services import Services
from tests.helpers.cli import VISITCAL, subprocess_env
from tests.helpers.services import ROOT


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll until `condition()` holds; False if it still does not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


# -- reading the reminder table -------------------------------------------------------------------


def reminders(services: Services, subscription_id: str | None = None) -> list[Reminder]:
    query = select(Reminder).order_by(col(Reminder.id))
    if subscription_id is not None:
        query = query.where(col(Reminder.subscription_id) == subscription_id)
    with services.db.session() as session:
        return list(session.exec(query))


def states(services: Services) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in reminders(services):
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts


# -- workers --------------------------------------------------------------------------------------


@contextmanager
def worker_in_process(services: Services) -> Iterator[ReminderWorker]:
    """The real worker (APScheduler; our mail sender, Apprise) in this process, stopped at the
    end."""
    worker = services.reminder_worker()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


class WorkerProcess:
    """`visitcal worker` as a subprocess, with settings given as VISITCAL_* variables."""

    def __init__(self, database_url: str, **settings: object) -> None:
        self.process = subprocess.Popen(
            [str(VISITCAL), "worker"],
            cwd=ROOT,
            env=subprocess_env(database_url, **settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_running(self, timeout: float = 20) -> str:
        """The worker id it printed once it runs (armed and watching)."""
        ok = wait_until(
            lambda: (
                any("running" in line for line in self.lines) or self.process.poll() is not None
            ),
            timeout,
        )
        found = [line for line in self.lines if "running" in line]
        assert ok and found, f"worker did not start: {self.output}"
        return found[0].split()[1]

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)
