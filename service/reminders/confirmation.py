"""The one message a new channel gets before it is confirmed: a link to a page that confirms
(service.urls.confirm_link)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from service.i18n import DEFAULT_LANGUAGE, gettext_for
from service.reminders.channels import Sender
from service.reminders.email_address import is_email_channel

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


# A relay that refuses for a moment (greylisting, a restart) gets an email confirmation again
# after these pauses; it is not in the reminder queue, which retries everything else. Other
# channels get one attempt: a stranger's URL is not worth more of the server's time.
RETRY_PAUSES = (2.0, 10.0)


def send_confirmation(
    sender: Sender,
    channel: str,
    link: str,
    hours: float,
    lang: str = DEFAULT_LANGUAGE,
    pauses: Sequence[float] = RETRY_PAUSES,
) -> bool:
    """Send the confirmation message, again after each pause while it fails; a final failure
    is logged as an error (the follower can sign up again). Whether it was delivered."""
    title, body = confirmation_message(link, hours, lang)
    if not is_email_channel(channel):
        pauses = ()
    for pause in (*pauses, None):
        outcome = sender.send(channel, title, body)
        if outcome.ok:
            return True
        if pause is None:
            log.error("confirmation message not delivered: %s", outcome.answer)
            return False
        log.warning("confirmation message not delivered, again in %g s: %s", pause, outcome.answer)
        time.sleep(pause)
    return False
