"""The local mail store (a Maildir under var/): where mail is kept, not sent, when no relay is
configured, so that `visitcal mail list` / `visitcal mail show` can show what would have gone
out (a newcomer confirms a sign-up from it). Nothing is dropped."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from service.reminders.channels import Outcome


@dataclass(frozen=True)
class StoredMail:
    id: str
    date: datetime | None
    to: str
    subject: str
    has_invitation: bool


class MailStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def description(self) -> str:
        return f"the local mail store {self.path}/ (no relay: smtp_url is empty)"

    def _box(self) -> mailbox.Maildir:
        # Maildir(create=True) makes tmp/, new/ and cur/ only when the directory itself is new.
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(self.path, factory=None, create=True)

    def send(self, message: EmailMessage) -> Outcome:
        try:
            key = self._box().add(message)
        except OSError as error:  # a full disk: the delivery is retried, not dropped
            return Outcome(False, f"not kept in {self.path}: {error}")
        return Outcome(True, f"kept in {self.path}/ as {key} (no relay configured)")

    def close(self) -> None:
        pass

    def list(self) -> list[StoredMail]:
        """Every kept mail, oldest first."""
        if not self.path.exists():
            return []
        box = self._box()
        mails = [_summary(key, _parsed(box.get_bytes(key))) for key in box.iterkeys()]
        return sorted(mails, key=lambda m: (m.date.timestamp() if m.date else 0.0, m.id))

    def get(self, id_start: str) -> tuple[str, EmailMessage]:
        """The mail whose id starts with `id_start`; KeyError when none or several do."""
        if not self.path.exists() or not id_start:
            raise KeyError(id_start)
        box = self._box()
        keys = [key for key in box.iterkeys() if key.startswith(id_start)]
        if len(keys) != 1:
            raise KeyError(id_start)
        return keys[0], _parsed(box.get_bytes(keys[0]))


def _parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _summary(key: str, message: EmailMessage) -> StoredMail:
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    invitation = any(part.get_content_type() == "text/calendar" for part in message.walk())
    return StoredMail(
        key, date, str(message["To"] or ""), str(message["Subject"] or ""), invitation
    )


def readable_text(message: EmailMessage) -> str:
    """The plain-text alternative, as a reader sees it (the confirmation link included)."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()  # type: ignore[attr-defined]
    return str(content)
