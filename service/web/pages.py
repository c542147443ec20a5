"""Web pages for followers: the visits, a visit's schedule, and reminder sign-up, as HTML."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from starlette.concurrency import run_in_threadpool

from service.clock import utc_now
from service.errors import InputError, NotFound, Unauthorized
from service.i18n import N_, gettext_for
from service.offsets import describe_offset
from service.reminders.broadcasts import broadcasts
from service.reminders.email_address import is_email_channel
from service.reminders.subscriptions import authorize, create_subscription, end_subscription
from service.services import Services
from service.signing import server_secret
from service.urls import all_feed, all_links, subscription_manage, unsubscribe_link, with_language
from service.web.channel_choice import qr_svg, suggested_topic, topic_page
from service.web.confirmation_request import ask_confirmation
from service.web.html import render
from service.web.language import page_language
from service.web.schedule_view import all_visits, split_upcoming, visit_page, zone_names
from service.web.signup_form import ALL_VISITS, SignupForm, form_field, signup_request

router = APIRouter(include_in_schema=False)
PAGE = ["GET", "HEAD"]
SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _forms(
    services: Services,
    form: SignupForm,
    error: InputError | None = None,
    unsubscribe_error: InputError | None = None,
    unsubscribe_id: str = "",
) -> dict[str, Any]:
    """What the sign-up and unsubscribe forms need, as typed and with any error."""
    return {
        "form": form,
        "error": error,
        "error_field": form_field(error) if error else "",
        "mail_kept_locally": not services.settings.smtp_url,
        "browser_default": not form.timezone,  # JavaScript fills in the reader's zone
        "zone_names": zone_names(),
        "all_visits_value": ALL_VISITS,
        "unsubscribe_error": unsubscribe_error,
        "unsubscribe_id": unsubscribe_id,
        "ways": None,  # the reminders page's other ways to be reached (_ways)
    }


def _ways(services: Services, form: SignupForm) -> dict[str, Any]:
    """What the form's other ways to be reached need: the phone's topic, its page and QR code."""
    topic = form.topic or suggested_topic()
    page = topic_page(services.settings.ntfy_server, topic)
    return {"topic": topic, "topic_page": page, "qr": qr_svg(page)}


@router.api_route("/", methods=PAGE)
def index(request: Request) -> Response:
    services = _services(request)
    lang = page_language(request)
    upcoming, past = split_upcoming(all_visits(services, lang), utc_now().date())
    return render(
        request,
        "index.html",
        lang=lang,
        upcoming=upcoming,
        past=past,
        links=all_links(services.settings, lang),
        download_path=with_language(all_feed(""), lang),
    )


@router.api_route("/visits/{slug}", methods=PAGE)
def visit(request: Request, slug: str, tz: str = "") -> Response:
    """The schedule by day in the visit's zone, or in `tz` (the zone switch without JavaScript)."""
    services = _services(request)
    lang = page_language(request)
    _ = gettext_for(lang)
    status, zone_error = 200, None
    try:
        page = visit_page(services, slug, tz or None, utc_now(), lang)
    except NotFound as error:
        title = _("No such visit")
        return render(request, "message.html", 404, lang=lang, title=title, message=str(error))
    except InputError as error:
        status, zone_error = 422, error
        page = visit_page(services, slug, None, utc_now(), lang)
    forms = _forms(services, SignupForm(visits=(slug,), timezone=page.zone, language=lang))
    forms["browser_default"] = not tz  # a zone the reader picked is kept for reminders too
    # Channels an operator broadcasts the visit's reminders to, and how to follow them.
    followed = [b for b in broadcasts(services.db, slug) if b.follow_url]
    return render(
        request,
        "visit.html",
        status,
        lang=lang,
        page=page,
        zone_error=zone_error,
        broadcasts=[(b, qr_svg(b.follow_url)) for b in followed],
        **forms,
    )


@router.api_route("/reminders", methods=PAGE)
def reminders(request: Request, visit: str = "") -> Response:
    """Sign up for reminders, or end a subscription with its id and token."""
    services = _services(request)
    lang = page_language(request)
    forms = _forms(services, SignupForm(visits=(visit,) if visit else (), language=lang))
    forms["ways"] = _ways(services, forms["form"])
    # Not cached: each reader gets a topic of their own.
    visits = all_visits(services, lang)
    return render(request, "reminders.html", cacheable=False, lang=lang, visits=visits, **forms)


@router.post("/reminders")
async def sign_up(request: Request) -> Response:
    # Async only to read the form; the rest (the database, the channel's address lookups) runs
    # in the thread pool, so that a wait there holds no other request.
    form = SignupForm.from_form(await request.form())
    return await run_in_threadpool(_sign_up, request, form)


def _sign_up(request: Request, form: SignupForm) -> Response:
    services = _services(request)
    lang = page_language(request)
    try:
        request_body = signup_request(form, services.settings.ntfy_server)
        created = create_subscription(services.db, services.settings, request_body, utc_now())
    except InputError as error:
        forms = _forms(services, form, error)
        forms["ways"] = _ways(services, form)
        visits = all_visits(services, lang)
        return render(request, "reminders.html", 422, lang=lang, visits=visits, **forms)
    subscription = created.subscription
    base = services.settings.base_url
    secret = server_secret(services.db, services.settings.secret_key)
    confirmation = BackgroundTasks()  # sent after the answer: a slow channel must not hold it
    ask_confirmation(request, confirmation, subscription)
    page = render(
        request,
        "subscribed.html",
        201,
        lang=lang,
        subscription=subscription,
        followed=[v for v in all_visits(services, lang) if v.slug in subscription.visits],
        token=created.token,
        offsets=", ".join(describe_offset(seconds, lang) for seconds in subscription.offsets),
        manage_url=subscription_manage(base, subscription.id),
        unsubscribe_url=unsubscribe_link(base, secret, subscription.id),
        mail_kept_locally=not services.settings.smtp_url,
        mail_dir=str(services.settings.mail_dir),
        is_email=is_email_channel(subscription.channel),
    )
    page.background = confirmation
    return page


def _end(services: Services, subscription_id: str, token: str) -> tuple[int, InputError | None]:
    """End a subscription with its id and token: the status and the problem, if any."""
    if not subscription_id:
        return 422, InputError("subscription", N_("give the subscription's id"))
    if not token:
        return 422, InputError("token", N_("give the manage token"))
    if not SUBSCRIPTION_ID.fullmatch(subscription_id):  # nothing to look up (NUL: PostgreSQL)
        return 404, InputError("subscription", f"no subscription {subscription_id!r}")
    try:
        authorize(services.db, subscription_id, token)
        end_subscription(services.db, subscription_id, utc_now())
    except NotFound as error:
        return 404, InputError("subscription", str(error))
    except Unauthorized:
        return 403, InputError("token", N_("this token does not belong to that subscription"))
    return 200, None


@router.post("/reminders/unsubscribe")
async def unsubscribe(request: Request) -> Response:
    # Async only to read the form; the database is used from the thread pool (see sign_up).
    fields = await request.form()
    subscription_id = str(fields.get("subscription", "")).strip()[:64]
    token = str(fields.get("token", "")).strip()
    return await run_in_threadpool(_unsubscribe, request, subscription_id, token)


def _unsubscribe(request: Request, subscription_id: str, token: str) -> Response:
    services = _services(request)
    lang = page_language(request)
    _ = gettext_for(lang)
    status, problem = _end(services, subscription_id, token)
    if problem is None:
        message = _("You will get no more reminders from this subscription.")
        title = _("Unsubscribed")
        return render(
            request, "message.html", cacheable=False, lang=lang, title=title, message=message
        )
    forms = _forms(
        services,
        SignupForm(language=lang),
        unsubscribe_error=problem,
        unsubscribe_id=subscription_id,
    )
    visits = all_visits(services, lang)
    return render(request, "reminders.html", status, lang=lang, visits=visits, **forms)
