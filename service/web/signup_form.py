"""The reminder sign-up form: its fields checked and turned into a subscription request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.errors import InputError
from service.i18n import DEFAULT_LANGUAGE, N_
from service.reminders.subscriptions import SubscriptionRequest, request_from
from service.web.channel_choice import channel_for

ALL_VISITS = "*"  # the form's "every visit, also those added later": a subscription naming none
DEFAULT_OFFSETS = "1d, 1h"


class FormFields(Protocol):
    """A submitted form (Starlette's FormData): every value given for a name."""

    def getlist(self, key: Any) -> list[Any]: ...


def _text(form: FormFields, name: str) -> str:
    values = [value for value in form.getlist(name) if isinstance(value, str)]
    return values[0].strip() if values else ""


@dataclass(frozen=True)
class SignupForm:
    """The sign-up form's fields as typed, so that a form with an error is shown as it was."""

    channel: str = ""
    visits: tuple[str, ...] = ()
    offsets: str = DEFAULT_OFFSETS
    timezone: str = ""
    invitations: bool = False
    language: str = ""  # the reminders' language: the page's when the form does not say
    how: str = "email"  # see service.web.channel_choice
    topic: str = ""
    chat_url: str = ""
    webhook_url: str = ""

    @classmethod
    def from_form(cls, form: FormFields) -> SignupForm:
        return cls(
            channel=_text(form, "channel"),
            visits=tuple(v for v in form.getlist("visits") if isinstance(v, str)),
            offsets=_text(form, "offsets"),
            timezone=_text(form, "timezone"),
            invitations=_text(form, "invitations") == "on",
            language=_text(form, "language"),
            how=_text(form, "how") or "email",
            topic=_text(form, "topic"),
            chat_url=_text(form, "chat_url"),
            webhook_url=_text(form, "webhook_url"),
        )


def signup_request(form: SignupForm, ntfy_server: str = "https://ntfy.sh") -> SubscriptionRequest:
    """The subscription the form asks for; InputError names the form field that is wrong."""
    typed = {
        "channel": form.channel,
        "topic": form.topic,
        "chat_url": form.chat_url,
        "webhook_url": form.webhook_url,
    }
    channel = channel_for(form.how, typed, ntfy_server)
    offsets = [part.strip() for part in form.offsets.split(",") if part.strip()]
    if not offsets:
        raise InputError("offsets", N_("give at least one, such as 1d, 1h or 15m"))
    if not form.visits:
        raise InputError("visits", N_("choose a visit, or every visit"))
    visits: Sequence[str] = [] if ALL_VISITS in form.visits else form.visits
    data = {
        "channel": channel,
        "visits": list(visits),
        "offsets": offsets,
        "timezone": form.timezone or "UTC",
        "invitations": form.invitations,
        "language": form.language or DEFAULT_LANGUAGE,
    }
    request: SubscriptionRequest = request_from(data, SubscriptionRequest)
    return request


def form_field(error: InputError) -> str:
    """The form field an error is about ("offsets.0" from the schema is the offsets field)."""
    return error.field.split(".", 1)[0]
