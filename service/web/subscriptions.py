"""Followers' subscriptions to reminders: create, read, change, end, and their deliveries."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.clock import utc_now
from service.errors import NotFound
from service.models import Subscription
from service.offsets import describe_offset
from service.reminders.subscriptions import (
    SubscriptionChange,
    SubscriptionRequest,
    authorize,
    change_subscription,
    confirm_subscription,
    create_subscription,
    current_channel,
    deliveries,
    end_subscription,
)
from service.services import Services
from service.signing import server_secret
from service.urls import (
    SignedAction,
    signed_link_valid,
    subscription_manage,
    unsubscribe_link,
)
from service.web.confirmation_request import ask_confirmation
from service.web.html import render

router = APIRouter(tags=["subscriptions"])
bearer = HTTPBearer(auto_error=False, description="The manage token returned at creation")
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class SubscriptionOut(BaseModel):
    id: str
    channel: str  # redacted: secrets masked
    visits: list[str]
    kinds: list[str]
    tags: list[str]
    offsets: list[str]
    timezone: str
    language: str  # reminders and notices are written in it
    label: str
    confirmed: bool  # nothing is sent but the confirmation message until it is
    invitations: bool  # email: segments also arrive as calendar invitations (iMIP)
    manage_url: str
    unsubscribe_url: str
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    token: str  # shown once


class DeliveryOut(BaseModel):
    id: int
    kind: str
    visit: str
    segment: str
    offset: str
    due_at: datetime
    state: str
    late: bool
    attempts: int
    sent_at: datetime | None
    lateness_seconds: float | None
    result: str


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _out(services: Services, subscription: Subscription) -> dict[str, object]:
    base = services.settings.base_url
    secret = server_secret(services.db, services.settings.secret_key)
    return {
        "id": subscription.id,
        "channel": subscription.channel_redacted,
        "visits": subscription.visits,
        "kinds": subscription.kinds,
        "tags": subscription.tags,
        "offsets": [describe_offset(s) for s in subscription.offsets],
        "timezone": subscription.timezone,
        "language": subscription.language,
        "label": subscription.label,
        "confirmed": subscription.confirmed,
        "invitations": subscription.invitations,
        "manage_url": subscription_manage(base, subscription.id),
        "unsubscribe_url": unsubscribe_link(base, secret, subscription.id),
        "created_at": subscription.created_at,
    }


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials else None


def _owner(request: Request, subscription_id: str, token: Token) -> Subscription:
    """The subscription, when the manage token is its own: a dependency, so that a stranger
    gets 401 before the body is looked at (and not a 422 that describes the schema)."""
    return authorize(_services(request).db, subscription_id, _token(token))


Owned = Annotated[Subscription, Depends(_owner)]


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated)
def subscribe(
    request: Request, body: SubscriptionRequest, background: BackgroundTasks
) -> dict[str, object]:
    """Sign up for reminders. The channel gets one message, a link to confirm; nothing else is
    sent until it is confirmed. The answer carries the manage token once: keep it."""
    services = _services(request)
    created = create_subscription(services.db, services.settings, body, utc_now())
    ask_confirmation(request, background, created.subscription)
    return {**_out(services, created.subscription), "token": created.token}


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def read_subscription(request: Request, owned: Owned) -> dict[str, object]:
    return _out(_services(request), owned)


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def patch_subscription(
    request: Request,
    subscription_id: str,
    body: SubscriptionChange,
    token: Token,
    _owned: Owned,
    background: BackgroundTasks,
) -> dict[str, object]:
    """Change what is followed, the offsets, the zone or the channel; reminders are re-planned.
    A new channel is confirmed anew before anything else goes to it."""
    services = _services(request)
    changed = change_subscription(
        services.db, services.settings, subscription_id, _token(token), body, utc_now()
    )
    if not changed.confirmed:
        ask_confirmation(request, background, changed)
    return _out(services, changed)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(request: Request, subscription_id: str, _owned: Owned) -> Response:
    """End the subscription; its pending reminders are cancelled."""
    services = _services(request)
    end_subscription(services.db, subscription_id, utc_now())
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    request: Request, subscription_id: str, _owned: Owned
) -> list[dict[str, object]]:
    """What was sent, when and how late; failures with the channel's reason."""
    services = _services(request)
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "visit": row.visit,
            "segment": row.segment,
            "offset": describe_offset(row.offset_seconds) if row.kind == "reminder" else "",
            "due_at": row.due_at,
            "state": row.state,
            "late": row.late,
            "attempts": row.attempts,
            "sent_at": row.sent_at,
            "lateness_seconds": row.lateness_seconds,
            "result": row.result,
        }
        for row in deliveries(services.db, subscription_id, public_only=True)
    ]


_LINK_WORDS = {"unsubscribe": "unsubscribe link", "confirm": "confirmation link"}


def _check_signed(services: Services, subscription_id: str, sig: str, action: SignedAction) -> str:
    """NotFound, as for any unknown link, unless `sig` is the one this subscription's `action`
    link carries; a confirmation link must also have been sent to the subscription's channel as
    it is now. The channel it was checked against."""
    secret = server_secret(services.db, services.settings.secret_key)
    channel = current_channel(services.db, subscription_id) if action == "confirm" else ""
    if not signed_link_valid(secret, subscription_id, action, sig, channel):
        raise NotFound(f"this {_LINK_WORDS[action]} is not valid")
    return channel


async def _posted_sig(request: Request, sig: str) -> str:
    """The signature from the query, or else from the confirming page's form."""
    if sig:
        return sig
    form = await request.form()
    return str(form.get("sig", ""))


@router.get("/subscriptions/{subscription_id}/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, subscription_id: str, sig: str = "") -> Response:
    """The link in the confirmation message: asks to confirm. A GET never confirms: mail
    scanners and link previews open links that nobody clicked."""
    _check_signed(_services(request), subscription_id, sig, "confirm")
    return render(request, "confirm_link.html", cacheable=False, sig=sig)


@router.post("/subscriptions/{subscription_id}/confirm", response_class=HTMLResponse)
async def confirm(request: Request, subscription_id: str, sig: str = "") -> Response:
    # Async only to read the form; the database is used from the thread pool, where a wait
    # for a writer holds no other request.
    posted = await _posted_sig(request, sig)
    return await run_in_threadpool(_confirm, request, subscription_id, posted)


def _confirm(request: Request, subscription_id: str, sig: str) -> Response:
    services = _services(request)
    channel = _check_signed(services, subscription_id, sig, "confirm")
    try:
        confirm_subscription(
            services.db, services.settings, subscription_id, utc_now(), channel=channel
        )
    except NotFound as error:
        return render(request, "message.html", 404, title="Not confirmed", message=str(error))
    message = "Reminders will come to this channel. Every one carries a link to unsubscribe."
    return render(request, "message.html", cacheable=False, title="Confirmed", message=message)


@router.get("/subscriptions/{subscription_id}/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, subscription_id: str, sig: str = "") -> Response:
    """The link in every reminder: asks to confirm (a link preview must not unsubscribe)."""
    _check_signed(_services(request), subscription_id, sig, "unsubscribe")
    return render(request, "unsubscribe_link.html", cacheable=False, sig=sig)


@router.post("/subscriptions/{subscription_id}/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, subscription_id: str, sig: str = "") -> Response:
    posted = await _posted_sig(request, sig)  # then the database, from the thread pool
    return await run_in_threadpool(_unsubscribe, request, subscription_id, posted)


def _unsubscribe(request: Request, subscription_id: str, sig: str) -> Response:
    services = _services(request)
    _check_signed(services, subscription_id, sig, "unsubscribe")
    with contextlib.suppress(NotFound):  # already unsubscribed: the same answer
        end_subscription(services.db, subscription_id, utc_now())
    message = "You will get no more reminders."
    return render(request, "message.html", cacheable=False, title="Unsubscribed", message=message)
