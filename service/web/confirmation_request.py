"""Asking a new channel to confirm: the one message it gets before it is confirmed, sent by the
app's outbox after the answer (API and sign-up page alike)."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from service.models import Subscription
from service.reminders.channels import Sender
from service.reminders.confirmation import send_confirmation
from service.services import Services
from service.signing import server_secret
from service.urls import confirm_link


def sender(request: Request) -> Sender:
    """The app's sender for confirmation messages (made on first use)."""
    state = request.app.state
    if getattr(state, "sender", None) is None:
        services: Services = state.services
        state.sender = services.sender()
    found: Sender = state.sender
    return found


def ask_confirmation(
    request: Request, background: BackgroundTasks, subscription: Subscription
) -> None:
    """Send the confirmation message after the answer (a slow channel must not hold it)."""
    services: Services = request.app.state.services
    secret = server_secret(services.db, services.settings.secret_key)
    link = confirm_link(services.settings.base_url, secret, subscription.id, subscription.channel)
    hours = services.settings.confirm_within_hours
    background.add_task(
        send_confirmation,
        sender(request),
        subscription.channel,
        link,
        hours,
        subscription.language,
    )
