"""Where every message to a follower goes: email channels to our own mail sender (the relay, or
the local mail store when there is none), every other channel through Apprise."""

from __future__ import annotations

import threading

from service.clock import Clock, utc_now
from service.reminders.channel_policy import ChannelPolicy
from service.reminders.channels import AppriseSender, Outcome
from service.reminders.email_address import address_of, is_email_channel
from service.reminders.mail_message import MailExtras, MailIdentity, build_message
from service.reminders.mail_store import MailStore
from service.reminders.message_ids import HEADER, mail_message_id
from service.reminders.smtp_relay import SmtpRelay
from service.settings import Settings


def mail_transport(settings: Settings) -> SmtpRelay | MailStore:
    """The relay when smtp_url names one, otherwise the local mail store: never nowhere."""
    if settings.smtp_url:
        return SmtpRelay(settings.smtp_url, settings.smtp_connections)
    return MailStore(settings.mail_dir)


def where_mail_goes(settings: Settings) -> str:
    """One line for `visitcal up` and the operator's pages."""
    if settings.smtp_url:
        return f"Email goes out through {mail_transport(settings).description}."
    return (
        "Email is not sent: no relay is configured (smtp_url), so every mail is kept in "
        f"{settings.mail_dir}/; `visitcal mail list` lists it, `visitcal mail show ID` shows one."
    )


class Outbox:
    """The Sender the worker and the sign-up use. Apprise is set up on first use only."""

    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.identity = MailIdentity(settings.organizer_email, settings.mail_from_name)
        self.mail = mail_transport(settings)
        self._apprise: AppriseSender | None = None
        self._lock = threading.Lock()

    def send(
        self,
        channel: str,
        title: str,
        body: str,
        message_id: str = "",
        extras: MailExtras | None = None,
    ) -> Outcome:
        if not is_email_channel(channel):
            return self._apprise_sender().send(channel, title, body, message_id)
        to = address_of(channel)
        message = build_message(
            self.identity, to, title, body, extras or MailExtras(), self.clock()
        )
        if message_id:
            # The same Message-ID on every attempt: a mail repeated after a retry or a lease
            # taken over is recognisable as the same mail.
            message.replace_header(
                "Message-ID", mail_message_id(message_id, self.settings.base_url)
            )
            message[HEADER] = message_id
        return self.mail.send(message)

    def _apprise_sender(self) -> AppriseSender:
        with self._lock:
            if self._apprise is None:
                self._apprise = AppriseSender(ChannelPolicy.from_settings(self.settings))
            return self._apprise

    def close(self) -> None:
        self.mail.close()
