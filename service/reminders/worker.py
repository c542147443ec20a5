"""The reminder worker: an APScheduler scheduler that wakes at the next due instant, claims
what is due, delivers it through the follower's channel and records what happened."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import col, select

from service import metrics
from service.address_policy import AddressRefused
from service.clock import Clock, utc_now
from service.db import Database
from service.errors import Busy
from service.models import Reminder, Segment, Subscription, Visit, WorkerProcess
from service.reminders.channel_policy import ChannelPolicy, scheme_of
from service.reminders.channels import Outcome, Sender
from service.reminders.health import beat, forget_worker, note_channel_errors
from service.reminders.invitations import mail_extras, withdrawal_extras
from service.reminders.mail_message import MailExtras
from service.reminders.message_ids import message_id
from service.reminders.notice_changes import Difference, differences
from service.reminders.queue import Claimed, Fate, ReminderQueue
from service.reminders.text import Links, Message, compose, compose_digest, compose_withdrawal
from service.reminders.webhooks import Job, Webhook, WebhookClient, webhook_of, webhook_payload
from service.settings import Settings
from service.signing import server_secret
from service.urls import segment_download, unsubscribe_link, visit_feed

log = logging.getLogger("visitcal.worker")
# Notices that a follower gets as one message when several about one visit fall due together.
DIGESTED = ("moved", "refined", "cancelled")


class ReminderWorker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        sender: Sender,
        worker_id: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.settings = settings
        self.sender = sender
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.queue = ReminderQueue(
            db, self.worker_id, timedelta(seconds=self.settings.lease_seconds)
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.pool = ThreadPoolExecutor(self.settings.worker_threads, thread_name_prefix="deliver")
        self._run_lock = threading.Lock()
        self._stopping = False
        self._arm_lock = threading.Lock()
        self._plan_version = -1
        self._secret = b""
        self._recorder = _Recorder(self.queue)
        self._told: dict[tuple[int | None, int, datetime], list[Difference]] = {}
        self._started_at = self.clock()
        self._handled = 0
        self._errors: dict[str, tuple[datetime, str]] = {}  # channel kind -> last error
        self._errors_lock = threading.Lock()
        # Plain json:// webhooks go through our own client, many at once on kept-alive
        # connections; every other channel through `sender` in the delivering threads.
        self.policy = ChannelPolicy.from_settings(settings)
        self.webhooks = WebhookClient(settings.worker_threads, self.policy.addresses_to_connect)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._secret = server_secret(self.db, self.settings.secret_key)
        self.scheduler.add_job(
            self._watch, "interval", seconds=self.settings.plan_check_seconds, id="watch"
        )
        self.scheduler.add_job(
            self.run_due, "interval", seconds=self.settings.sweep_seconds, id="sweep"
        )
        self.scheduler.add_job(
            self.heartbeat, "interval", seconds=self.settings.heartbeat_seconds, id="heartbeat"
        )
        self.heartbeat()
        self.scheduler.start()
        self.db.listeners.append(self._on_commit)
        self.arm()

    def stop(self) -> None:
        self._stopping = True
        if self._on_commit in self.db.listeners:
            self.db.listeners.remove(self._on_commit)
        # Not shutdown(wait=True): APScheduler holds its job store lock while it waits, and a
        # run finishing meanwhile re-arms through that lock, so both would wait forever.
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._run_lock:  # let a run in progress record what it sent
            pass
        self.pool.shutdown(wait=True)
        self.webhooks.close()
        close = getattr(self.sender, "close", None)  # the relay's open SMTP sessions: QUIT
        if close is not None:
            close()
        try:
            released = self.queue.release()  # claimed but never recorded: others take them now
            if released:
                log.info("released %d claim(s) on stopping", released)
            self._write_errors()
            forget_worker(self.db, self.worker_id)
        except Exception:  # the database is gone: the row's heartbeat stops and it shows dead
            log.warning("could not remove worker %s from the workers table", self.worker_id)

    # -- being seen ---------------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Say this worker is alive (`visitcal status`, /metrics) and pass on channel errors."""
        row = WorkerProcess(
            id=self.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            concurrency=self.settings.worker_threads,
            started_at=self._started_at,
            heartbeat_at=self.clock(),
            handled=self._handled,
        )
        try:
            beat(self.db, row)
            self._write_errors()
        except Busy as error:  # the next beat will do; three missed ones look dead
            log.warning("heartbeat: %s", error)

    def _note_error(self, channel: str, at: datetime, answer: str) -> None:
        with self._errors_lock:
            self._errors[scheme_of(channel) or "?"] = (at, answer)

    def _write_errors(self) -> None:
        with self._errors_lock:
            errors, self._errors = self._errors, {}
        note_channel_errors(self.db, self.worker_id, errors)

    # -- waking up ----------------------------------------------------------------------------

    def _on_commit(self, flags: set[str]) -> None:
        if "plan" in flags and self.scheduler.running:
            self.arm()

    def _watch(self) -> None:
        """Learn of plans made by other processes through the shared plan counter."""
        version = self.db.counter("plan_version")
        if version != self._plan_version:
            self._plan_version = version
            self.arm()

    def arm(self) -> None:
        """(Re)set the one date job to the next instant something becomes claimable."""
        if self._stopping:
            return
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
                # Re-armed from inside run_due for an instant already past, the job fires while
                # that run is still returning; with one instance allowed it would be skipped and
                # nothing would wake the worker until the sweep. The run lock serializes them.
                max_instances=2,
            )

    # -- delivering ---------------------------------------------------------------------------

    def run_due(self) -> int:
        """Claim and deliver everything due now, batch after batch; returns how many handled.

        The next batch is claimed while the last sends of the one before are still going, and
        each fate is recorded as soon as it is known (many to a transaction); when this returns,
        everything it handled is recorded."""
        handled = 0
        busy: Busy | None = None
        with self._run_lock:
            flight = _Flight()
            try:
                while not self._stopping:  # stopping: finish what is claimed, claim no more
                    try:
                        claimed = self.queue.claim_due(self.clock(), self.settings.worker_batch)
                    except Busy as error:  # another writer holds the database: claim again soon
                        log.warning("claiming reminders: %s", error)
                        busy = error
                        break
                    if claimed:
                        metrics.REMINDERS_DUE.inc(sum(r.attempts == 1 for r in claimed))
                        self._deliver(claimed, flight)
                        handled += len(claimed)
                    if len(claimed) < self.settings.worker_batch:
                        break  # nothing else was due: arm() below wakes us for what comes next
                    # Claim the next batch while half of this one is still under way.
                    self._land(
                        flight,
                        max(2 * self.settings.worker_threads, self.settings.worker_batch // 2),
                    )
            finally:
                self._land(flight, 0)
                self._recorder.flush()
            self._handled += handled
            flight.raise_first()
        if handled:
            log.info("handled %d reminder(s)", handled)
        if busy is not None:
            self._retry_claim(busy.retry_after)
        elif self.scheduler.running:
            self.arm()
        return handled

    def _retry_claim(self, seconds: float) -> None:
        """Wake again in `seconds` (the due job, not the sweep): what is due stays due."""
        if self._stopping or not self.scheduler.running:
            return
        with self._arm_lock:
            self.scheduler.add_job(
                self.run_due,
                "date",
                run_date=self.clock() + timedelta(seconds=seconds),
                id="due",
                replace_existing=True,
                max_instances=2,
            )

    def _land(self, flight: _Flight, most: int) -> None:
        """Wait until at most `most` deliveries are in flight, renewing the claims of those
        still going every third of a lease: a claim that is merely slow (a channel taking
        longer than the lease) is not taken over and sent twice, while the claims of a worker
        that died stop being renewed and expire."""
        renew_every = self.settings.lease_seconds / 3
        while not flight.wait(most, until=flight.renewed + renew_every):
            self.queue.renew(flight.ids(), self.clock())
            flight.renewed = time.monotonic()

    def _deliver(self, claimed: list[Claimed], flight: _Flight) -> None:
        """Start delivering a batch; each reminder's fate is recorded as soon as it is known: a
        worker killed mid-batch must not leave what it has already sent to be claimed and sent
        again."""
        with self.db.session() as session:
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
            # A withdrawal's CANCEL says what the follower was told, not the segment as it is.
            withdrawals = {
                r.id: (r.segment_start, r.segment_sequence)
                for r in session.exec(
                    select(Reminder).where(
                        col(Reminder.id).in_([c.id for c in claimed if c.kind == "withdrawn"])
                    )
                )
            }
        fates = []
        sendable: list[_Item] = []
        posts: list[tuple[Claimed, Subscription, Segment, Visit, Webhook]] = []
        for reminder in claimed:
            subscription = subscriptions[reminder.subscription_id]
            segment = segments[reminder.segment_id]
            visit = visits[segment.visit_id]
            now = self.clock()
            if not subscription.active:
                fates.append(Fate(reminder.id, "cancelled", now, "unsubscribed"))
            elif not subscription.confirmed:  # planned by no rule of ours; never sent
                fates.append(Fate(reminder.id, "cancelled", now, "subscription not confirmed"))
            elif reminder.kind == "withdrawn":
                told_start, sequence = withdrawals[reminder.id]
                if segment.visibility == "public":  # public again: a REQUEST puts it back
                    fates.append(Fate(reminder.id, "cancelled", now, "segment public again"))
                elif not subscription.invitations:
                    fates.append(Fate(reminder.id, "cancelled", now, "invitations turned off"))
                elif told_start <= now:  # judged by the public start, not the restricted one
                    fates.append(Fate(reminder.id, "missed", now, "segment had started"))
                else:
                    sendable.append(_Item(reminder, subscription, segment, visit, sequence))
            elif segment.visibility != "public":  # a restricted segment reaches no follower
                fates.append(Fate(reminder.id, "cancelled", now, "segment not public"))
            elif reminder.kind == "reminder" and segment.status == "cancelled":
                fates.append(Fate(reminder.id, "cancelled", now, "segment cancelled"))
            elif segment.start_at <= now:
                # Sent after the segment began, a reminder is noise: it is recorded, not sent.
                fates.append(Fate(reminder.id, "missed", now, "segment had started"))
            elif reminder.kind == "reminder" and (hook := webhook_of(subscription.channel)):
                posts.append((reminder, subscription, segment, visit, hook))
            else:
                sendable.append(_Item(reminder, subscription, segment, visit))
        for group in notice_groups(sendable):
            for item in group:
                flight.start(item.reminder.id)
            try:
                self.pool.submit(self._send_and_record, flight, group)
            except BaseException:  # the pool is shut down: the claims expire
                for item in group:
                    flight.end(item.reminder.id, None)
                raise
        fates += self._post(posts, flight)
        self._recorder.add(fates)

    def _post(
        self, posts: list[tuple[Claimed, Subscription, Segment, Visit, Webhook]], flight: _Flight
    ) -> list[Fate]:
        """Start posting a batch's webhook reminders (each text composed once per distinct
        message); returns the fates of those the channel policy refuses now."""
        refusals: dict[tuple[str, bool, str, int], str] = {}
        refused: list[Fate] = []
        jobs: list[Job] = []
        now = self.clock()
        for reminder, subscription, segment, visit, hook in posts:
            key = (scheme_of(subscription.channel), *hook.origin)
            if key not in refusals:  # once a batch per host, as Apprise's path does per send
                refusals[key] = self._refusal(subscription.channel, hook)
            if refusals[key]:
                outcome = Outcome(False, refusals[key])
                refused.append(self._fate(reminder, subscription, outcome, late=False))
                continue
            late, lead = self._lateness(reminder, segment, now)
            message = self._message(reminder, subscription, segment, visit, late, lead, flight)
            identifier = message_id(reminder.id, reminder.due_at)
            payload = webhook_payload(message.title, message.body, identifier)
            jobs.append(Job(hook, payload, identifier, (reminder, subscription, late)))
            flight.start(reminder.id)
        if jobs:
            self.webhooks.post(jobs, lambda done: self._posted(done, flight))
        return refused

    def _refusal(self, channel: str, hook: Webhook) -> str:
        """Why the channel policy refuses this webhook now ("" if it does not)."""
        try:
            self.policy.check_scheme(channel)
            self.policy.check_host(hook.host, hook.port)
        except (ValueError, AddressRefused) as refused:
            return f"refused: {refused}"[:1000]
        return ""

    def _posted(self, done: list[tuple[Job, Outcome]], flight: _Flight) -> None:
        """In the webhook client's thread: hand the outcomes to a delivering thread to record."""
        try:
            self.pool.submit(self._record_posted, done, flight)
        except RuntimeError:  # the pool is shut down: the claims are released or expire
            for job, _outcome in done:
                flight.end(job.key[0].id, None)

    def _record_posted(self, done: list[tuple[Job, Outcome]], flight: _Flight) -> None:
        error: BaseException | None = None
        try:
            fates = []
            for job, outcome in done:
                reminder, subscription, late = job.key
                fates.append(self._fate(reminder, subscription, outcome, late))
            self._recorder.add(fates)
        except Exception as failure:  # raised again by run_due; the claims expire
            error = failure
        finally:
            for job, _outcome in done:
                flight.end(job.key[0].id, error)

    def _send_and_record(self, flight: _Flight, group: list[_Item]) -> None:
        """Deliver one message: a reminder or notice, or several notices about one visit to one
        follower told at once (a burst of edits), each recorded with the one outcome."""
        error = None
        try:
            if len(group) == 1 and group[0].withdrawal_sequence is not None:
                fates = [self._send_withdrawal(group[0], group[0].withdrawal_sequence)]
            elif len(group) == 1:
                item = group[0]
                fates = [self._send(item.reminder, item.subscription, item.segment, item.visit)]
            else:
                fates = self._send_digest(group)
            self._recorder.add(fates)
        except Exception as failure:  # raised again by run_due; the claims expire
            error = failure
        finally:
            for item in group:
                flight.end(item.reminder.id, error)

    def _send_digest(self, group: list[_Item]) -> list[Fate]:
        first = group[0]
        subscription, visit = first.subscription, first.visit
        links = self._links(subscription, first.segment, visit)
        messages = [
            compose(
                item.reminder.kind,
                item.segment,
                visit,
                subscription.timezone,
                0,
                self._links(subscription, item.segment, visit),
                changes=self._differences(item.reminder, item.segment),
                lang=subscription.language,
            )
            for item in group
        ]
        digest = compose_digest(messages, visit, subscription.language)
        outcome = self.sender.send(
            subscription.channel,
            digest.title,
            digest.body,
            message_id=message_id(first.reminder.id, first.reminder.due_at),
            extras=MailExtras(unsubscribe=links.unsubscribe),
        )
        return [self._fate(item.reminder, subscription, outcome, late=False) for item in group]

    def _send_withdrawal(self, item: _Item, sequence: int) -> Fate:
        """The CANCEL of a segment made restricted: the visit's name, the segment's UID and a
        SEQUENCE, nothing else of the segment (its texts, time and place are held back now)."""
        subscription, visit = item.subscription, item.visit
        unsubscribe = self._unsubscribe(subscription)
        links = Links("", visit_feed(self.settings.base_url, visit.slug), unsubscribe)
        message = compose_withdrawal(visit, links, subscription.language)
        extras = withdrawal_extras(
            self.settings, subscription, item.segment.uid, sequence, self.clock(), unsubscribe
        )
        outcome = self.sender.send(
            subscription.channel,
            message.title,
            message.body,
            message_id=message_id(item.reminder.id, item.reminder.due_at),
            extras=extras,
        )
        return self._fate(item.reminder, subscription, outcome, late=False)

    def _links(self, subscription: Subscription, segment: Segment, visit: Visit) -> Links:
        base = self.settings.base_url
        return Links(
            segment_ics=segment_download(base, visit.slug, segment.key),
            visit_feed=visit_feed(base, visit.slug),
            unsubscribe=unsubscribe_link(base, self._secret, subscription.id),
        )

    def _send(
        self, reminder: Claimed, subscription: Subscription, segment: Segment, visit: Visit
    ) -> Fate:
        late, lead = self._lateness(reminder, segment, self.clock())
        message = self._message(reminder, subscription, segment, visit, late, lead, None)
        outcome = self.sender.send(
            subscription.channel,
            message.title,
            message.body,
            message_id=message_id(reminder.id, reminder.due_at),
            # One-click unsubscribe (RFC 8058) and, for invitations, the segment as iTIP.
            extras=mail_extras(
                self.settings,
                reminder.kind,
                subscription,
                segment,
                self._unsubscribe(subscription),
                visit,
            ),
        )
        return self._fate(reminder, subscription, outcome, late)

    def _lateness(self, reminder: Claimed, segment: Segment, now: datetime) -> tuple[bool, int]:
        """Whether it goes out late, and the lead it states: a late reminder says how long is
        really left, not the offset it was planned with."""
        late_after = timedelta(seconds=self.settings.late_after_seconds)
        late = reminder.late or now - reminder.due_at > late_after
        lead = (segment.start_at - now).total_seconds() if late else reminder.offset_seconds
        return late, round(lead)

    def _unsubscribe(self, subscription: Subscription) -> str:
        return unsubscribe_link(self.settings.base_url, self._secret, subscription.id)

    def _message(
        self,
        reminder: Claimed,
        subscription: Subscription,
        segment: Segment,
        visit: Visit,
        late: bool,
        lead: int,
        flight: _Flight | None,
    ) -> Message:
        """The follower's message. Reminders that say the same (segment, kind, lead, lateness,
        zone, language) are composed once a run, only the unsubscribe link made per follower."""
        key = (reminder.kind, segment.id, lead, late, subscription.timezone, subscription.language)
        cached = flight.texts.get(key) if flight is not None else None
        if cached is None:
            links = self._links(subscription, segment, visit)
            links = Links(links.segment_ics, links.visit_feed, unsubscribe=_UNSUBSCRIBE)
            cached = compose(
                reminder.kind,
                segment,
                visit,
                subscription.timezone,
                lead,
                links,
                late=late,
                changes=self._differences(reminder, segment),
                lang=subscription.language,
            )
            # A notice says what changed since its own row was made: composed for each one.
            if flight is not None and reminder.kind in ("reminder", "invitation"):
                flight.texts[key] = cached
        mine = self._unsubscribe(subscription)
        return Message(cached.title, cached.body.replace(_UNSUBSCRIBE, mine))

    def _fate(
        self, reminder: Claimed, subscription: Subscription, outcome: Outcome, late: bool
    ) -> Fate:
        """What became of a delivery, from the channel's answer: sent, retried later or failed."""
        now = self.clock()
        if outcome.ok:
            return Fate(reminder.id, "sent", now, outcome.answer, late=late, due_at=reminder.due_at)
        self._note_error(subscription.channel, now, outcome.answer)
        log.warning(
            "reminder %d to a %s channel failed (attempt %d): %s",
            reminder.id,
            scheme_of(subscription.channel) or "?",
            reminder.attempts,
            outcome.answer,
        )
        if reminder.attempts <= self.settings.retry_limit:
            delay = self.settings.retry_base_seconds * 2 ** (reminder.attempts - 1)
            retry_at = now + timedelta(seconds=delay)
            return Fate(reminder.id, "retry", now, outcome.answer, retry_at=retry_at)
        return Fate(reminder.id, "failed", now, outcome.answer)

    def _differences(self, reminder: Claimed, segment: Segment) -> list[Difference]:
        """For a change notice: the fields that changed since the first change it tells of."""
        if reminder.kind in ("reminder", "invitation"):
            return []
        with self.db.session() as session:
            row = session.get(Reminder, reminder.id)
            if row is None:
                return []
            # Every follower's notice of one burst was queued at the same instant: the history
            # is read once for all of them.
            key = (segment.id, segment.sequence, row.created_at)
            found = self._told.get(key)
            if found is None:
                found = differences(session, segment, row.created_at)
                if len(self._told) > 256:
                    self._told.clear()
                self._told[key] = found
            return found


@dataclass(frozen=True)
class _Item:
    """A claimed reminder with its rows, ready to send."""

    reminder: Claimed
    subscription: Subscription
    segment: Segment
    visit: Visit
    withdrawal_sequence: int | None = None  # a withdrawal's CANCEL: the SEQUENCE it carries


def notice_groups(items: list[_Item]) -> list[list[_Item]]:
    """One group per message: the change notices of one follower about one visit that fall due
    together become one (the planner gives a burst one due instant); everything else, and any
    notice that carries its own calendar invitation, goes alone."""
    groups: dict[tuple[str, int, object], list[_Item]] = {}
    alone: list[list[_Item]] = []
    for item in items:
        grouped = item.reminder.kind in DIGESTED and not item.subscription.invitations
        if not grouped:
            alone.append([item])
            continue
        key = (item.subscription.id, item.segment.visit_id, item.reminder.due_at)
        groups.setdefault(key, []).append(item)
    return alone + list(groups.values())


# Stands for the unsubscribe link in a text composed once for many followers.
_UNSUBSCRIBE = "\x00unsubscribe\x00"


class _Flight:
    """One run's deliveries still going (their reminder ids), when their claims were last
    renewed, the first error a delivery raised, and the texts the run has composed."""

    def __init__(self) -> None:
        self.texts: dict[tuple[object, ...], Message] = {}
        self._going: set[int] = set()
        self._changed = threading.Condition()
        self.renewed = time.monotonic()
        self.error: BaseException | None = None

    def start(self, reminder_id: int) -> None:
        with self._changed:
            self._going.add(reminder_id)

    def end(self, reminder_id: int, error: BaseException | None) -> None:
        with self._changed:
            self._going.discard(reminder_id)
            self.error = self.error or error
            self._changed.notify_all()

    def ids(self) -> list[int]:
        with self._changed:
            return list(self._going)

    def wait(self, most: int, until: float) -> bool:
        """Whether at most `most` are going before the monotonic instant `until`."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self._going) <= most, max(0.0, until - time.monotonic())
            )

    def raise_first(self) -> None:
        if self.error is not None:
            raise self.error


_COUNTERS = {
    "sent": metrics.REMINDERS_SENT,
    "retry": metrics.REMINDERS_RETRIED,
    "failed": metrics.REMINDERS_FAILED,
    "missed": metrics.REMINDERS_MISSED,
    "cancelled": metrics.REMINDERS_CANCELLED,
}


def _count(fates: list[Fate]) -> None:
    """The recorded fates into the metrics (once recorded: a fate not written did not happen)."""
    by_state: dict[str, int] = {}
    late = 0
    for fate in fates:
        by_state[fate.state] = by_state.get(fate.state, 0) + 1
        if fate.state == "sent":
            late += fate.late
            if fate.due_at is not None:
                metrics.LATENESS.observe(max(0.0, (fate.at - fate.due_at).total_seconds()))
    for state, count in by_state.items():
        _COUNTERS[state].inc(count)
    if late:
        metrics.REMINDERS_LATE.inc(late)


class _Recorder:
    """Records fates as soon as they are known, many to a transaction (a group commit).

    The thread that adds a fate writes it at once, with any others waiting, unless a write is
    under way: then that writer takes it in its next transaction. So a fate waits at most for
    one write to finish, and a burst of deliveries costs a few transactions, not one each."""

    def __init__(self, queue: ReminderQueue) -> None:
        self.queue = queue
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting: list[Fate] = []
        self._writing = False
        self._error: BaseException | None = None

    def add(self, fates: list[Fate]) -> None:
        with self._lock:
            self._waiting.extend(fates)
            if self._writing or not self._waiting:
                return
            self._writing = True
        while True:
            with self._lock:
                taken, self._waiting = self._waiting, []
                if not taken:
                    self._writing = False
                    self._idle.notify_all()
                    return
            try:
                self._record(taken)
            except Exception as error:  # unrecorded claims expire and are delivered again
                log.exception("recording %d reminder fate(s) failed", len(taken))
                with self._lock:
                    self._error = self._error or error

    def _record(self, fates: list[Fate]) -> None:
        """Write the fates; a database busy past its bound is tried again (twice): a fate left
        unwritten is a reminder sent twice once its claim expires."""
        for attempt in range(3):
            try:
                self.queue.record(fates)
                _count(fates)
                return
            except Busy as busy:
                if attempt == 2:
                    raise
                log.warning("recording %d reminder fate(s): %s", len(fates), busy)

    def flush(self) -> None:
        """Wait until everything added so far is written; raise the first write error since."""
        with self._lock:
            while self._writing:
                self._idle.wait()
            error, self._error = self._error, None
        if error is not None:
            raise error
