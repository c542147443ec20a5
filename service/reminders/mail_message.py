"""One follower's mail as an RFC 5322 message: text and HTML alternatives, an iMIP invitation
when there is one, and the headers mail clients and providers look for (Message-ID, Date,
Auto-Submitted, List-Id, one-click List-Unsubscribe of RFC 8058)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class MailExtras:
    """What a mail carries beyond a title and a text: the one-click unsubscribe URL (empty for
    a confirmation, which has nothing to unsubscribe from) and an iTIP calendar to attach."""

    unsubscribe: str = ""
    calendar: bytes = b""
    method: str = ""  # REQUEST or CANCEL, with a calendar


@dataclass(frozen=True)
class MailIdentity:
    """Who the mails come from, and the list they belong to."""

    address: str
    name: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "visitcal.invalid"

    @property
    def list_id(self) -> str:
        # RFC 2919: a name and a dot-atom unique to this service's followers.
        return f"{self.name} reminders <reminders.{self.domain}>"


def build_message(
    identity: MailIdentity,
    to: str,
    subject: str,
    text: str,
    extras: MailExtras,
    now: datetime,
) -> EmailMessage:
    message = EmailMessage()
    local, _, domain = identity.address.rpartition("@")
    message["From"] = Address(identity.name, local, domain)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    # Given the domain, make_msgid needs no DNS lookup of this host's name.
    message["Message-ID"] = make_msgid("visitcal", domain=identity.domain)
    # RFC 3834: no out-of-office replies to it; RFC 2919: a list a mail client can filter on.
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = identity.list_id
    if extras.unsubscribe:
        # RFC 8058: a POST of "List-Unsubscribe=One-Click" to this URL ends the subscription,
        # with no page, cookie or login; the signed link is the authority.
        message["List-Unsubscribe"] = f"<{extras.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html_version(subject, text), subtype="html")
    if extras.calendar:
        method = extras.method or "REQUEST"
        # RFC 6047: the iTIP object as a text/calendar part with the same METHOD parameter, in
        # the alternatives (where Outlook and Gmail look for it) and as an .ics attachment
        # (what other clients offer to open).
        message.add_alternative(
            extras.calendar.decode("utf-8"), subtype="calendar", params={"method": method}
        )
        message.add_attachment(
            extras.calendar,
            maintype="application",
            subtype="ics",
            filename="invite.ics" if method == "REQUEST" else "cancel.ics",
        )
    return message


def html_version(subject: str, text: str) -> str:
    """The text as HTML: the same words, paragraphs kept, links clickable."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        lines = [_linked(line) for line in block.split("\n")]
        paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family: sans-serif; line-height: 1.4">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>\n"
    )


def _linked(line: str) -> str:
    out, last = [], 0
    for found in _URL.finditer(line):
        out.append(html.escape(line[last : found.start()]))
        url = html.escape(found.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    out.append(html.escape(line[last:]))
    return "".join(out)
