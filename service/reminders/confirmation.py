"""The one message a new channel gets before it is confirmed: a link to a page that confirms
(service.urls.confirm_link)."""

from __future__ import annotations

import logging

from service.i18n import DEFAULT_LANGUAGE, gettext_for
from service.reminders.channels import Sender

log = logging.getLogger("visitcal.confirmation")


def confirmation_message(link: str, hours: float, lang: str = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """Title and body, in the language chosen at sign-up. It names no visit and carries no text
    of the sign-up: whoever signed this channel up cannot make it say anything."""
    _ = gettext_for(lang)
    title = _("Confirm your visitcal reminders")
    body = (
        _("Someone signed this channel up for reminders of official visits from visitcal.")
        + "\n"
        + _("To receive them, open this link and press Confirm (within {hours} hours):").format(
            hours=f"{hours:g}"
        )
        + f"\n{link}\n\n"
        + _("If this was not you, ignore this message: nothing else will be sent.")
    )
    return title, body


def send_confirmation(
    sender: Sender, channel: str, link: str, hours: float, lang: str = DEFAULT_LANGUAGE
) -> None:
    """Send the confirmation message; a failure is logged (the follower can sign up again)."""
    title, body = confirmation_message(link, hours, lang)
    outcome = sender.send(channel, title, body)
    if not outcome.ok:
        log.warning("confirmation message not delivered: %s", outcome.answer)
