"""The reminder worker: an APScheduler scheduler that wakes at the next due instant, claims
what is due, delivers it through the follower's channel and records what happened."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import col, select

from service.channels import Sender
from service.models import Segment, Subscription, Visit
from service.reminder_queue import Claimed, Fate, ReminderQueue
from service.reminder_text import Links, compose
from service.services import Services
from service.signing import server_secret, sign

log = logging.getLogger("visitcal.worker")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def unsubscribe_url(base_url: str, secret: bytes, subscription_id: str) -> str:
    signature = sign(secret, f"unsubscribe:{subscription_id}")
    return f"{base_url}/subscriptions/{subscription_id}/unsubscribe?sig={signature}"


class ReminderWorker:
    def __init__(
        self,
        services: Services,
        sender: Sender,
        worker_id: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.sender = sender
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.queue = ReminderQueue(
            services.db, self.worker_id, timedelta(seconds=self.settings.lease_seconds)
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.pool = ThreadPoolExecutor(self.settings.worker_threads, thread_name_prefix="deliver")
        self._run_lock = threading.Lock()
        self._arm_lock = threading.Lock()
        self._plan_version = -1
        self._secret = b""

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._secret = server_secret(self.services.db, self.settings.secret_key)
        self.scheduler.add_job(
            self._watch, "interval", seconds=self.settings.plan_check_seconds, id="watch"
        )
        self.scheduler.add_job(
            self.run_due, "interval", seconds=self.settings.sweep_seconds, id="sweep"
        )
        self.scheduler.start()
        self.services.db.listeners.append(self._on_commit)
        self.arm()

    def stop(self) -> None:
        if self._on_commit in self.services.db.listeners:
            self.services.db.listeners.remove(self._on_commit)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.pool.shutdown(wait=True)

    # -- waking up ----------------------------------------------------------------------------

    def _on_commit(self, flags: set[str]) -> None:
        if "plan" in flags and self.scheduler.running:
            self.arm()

    def _watch(self) -> None:
        """Learn of plans made by other processes through the shared plan counter."""
        version = self.services.db.counter("plan_version")
        if version != self._plan_version:
            self._plan_version = version
            self.arm()

    def arm(self) -> None:
        """(Re)set the one date job to the next instant something becomes claimable."""
        with self._arm_lock:
            due = self.queue.next_due()
            if due is None:
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job("due")
                return
            self.scheduler.add_job(
                self.run_due,
                "date",
                run_date=max(due, self.clock()),
                id="due",
                replace_existing=True,
            )

    # -- delivering ---------------------------------------------------------------------------

    def run_due(self) -> int:
        """Claim and deliver everything due now, batch after batch; returns how many handled."""
        handled = 0
        with self._run_lock:
            while True:
                claimed = self.queue.claim_due(self.clock(), self.settings.worker_batch)
                if not claimed:
                    break
                self._deliver(claimed)
                handled += len(claimed)
        if self.scheduler.running:
            self.arm()
        return handled

    def _deliver(self, claimed: list[Claimed]) -> None:
        """Deliver a batch, recording each reminder's fate as soon as it is known: a worker killed
        mid-batch must not leave what it has already sent to be claimed and sent again."""
        with self.services.db.session() as session:
            subscriptions = {
                s.id: s
                for s in session.exec(
                    select(Subscription).where(
                        col(Subscription.id).in_({r.subscription_id for r in claimed})
                    )
                )
            }
            segments = {
                s.id: s
                for s in session.exec(
                    select(Segment).where(col(Segment.id).in_({r.segment_id for r in claimed}))
                )
            }
            visits = {
                v.id: v
                for v in session.exec(
                    select(Visit).where(col(Visit.id).in_({s.visit_id for s in segments.values()}))
                )
            }
        futures: list[tuple[Future[None], int]] = []
        fates = []
        for reminder in claimed:
            subscription = subscriptions[reminder.subscription_id]
            segment = segments[reminder.segment_id]
            visit = visits[segment.visit_id]
            now = self.clock()
            if not subscription.active:
                fates.append(Fate(reminder.id, "cancelled", now, "unsubscribed"))
            elif reminder.kind == "reminder" and segment.status == "cancelled":
                fates.append(Fate(reminder.id, "cancelled", now, "segment cancelled"))
            elif segment.start_at <= now:
                # Sent after the segment began, a reminder is noise: it is recorded, not sent.
                fates.append(Fate(reminder.id, "missed", now, "segment had started"))
            else:
                future = self.pool.submit(
                    self._send_and_record, reminder, subscription, segment, visit
                )
                futures.append((future, reminder.id))
        self.queue.record(fates)
        in_flight = dict(futures)
        while in_flight:
            done, _ = wait(in_flight, timeout=self.settings.lease_seconds / 3)
            for future in done:
                in_flight.pop(future)
                future.result()
            self.queue.renew(list(in_flight.values()), self.clock())

    def _send_and_record(
        self, reminder: Claimed, subscription: Subscription, segment: Segment, visit: Visit
    ) -> None:
        self.queue.record([self._send(reminder, subscription, segment, visit)])

    def _send(
        self, reminder: Claimed, subscription: Subscription, segment: Segment, visit: Visit
    ) -> Fate:
        base = self.settings.base_url
        links = Links(
            segment_ics=f"{base}/visits/{visit.slug}/segments/{segment.key}.ics",
            visit_feed=f"{base}/feeds/visits/{visit.slug}.ics",
            unsubscribe=unsubscribe_url(base, self._secret, subscription.id),
        )
        now = self.clock()
        late_after = timedelta(seconds=self.settings.late_after_seconds)
        late = reminder.late or now - reminder.due_at > late_after
        # A late reminder says how long is really left, not the offset it was planned with.
        lead = (segment.start_at - now).total_seconds() if late else reminder.offset_seconds
        message = compose(
            reminder.kind, segment, visit, subscription.timezone, round(lead), links, late=late
        )
        outcome = self.sender.send(subscription.channel, message.title, message.body)
        now = self.clock()
        if outcome.ok:
            return Fate(reminder.id, "sent", now, outcome.answer, late=late)
        if reminder.attempts <= self.settings.retry_limit:
            delay = self.settings.retry_base_seconds * 2 ** (reminder.attempts - 1)
            retry_at = now + timedelta(seconds=delay)
            return Fate(reminder.id, "retry", now, outcome.answer, retry_at=retry_at)
        return Fate(reminder.id, "failed", now, outcome.answer)
