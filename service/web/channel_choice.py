"""The sign-up form's ways to be reached, for people who have never heard of Apprise: email, a
push to their phone (an ntfy topic, with its QR code), a chat app (the webhook URL it gives) or a
webhook for developers; each turned into the channel URL the worker delivers to."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import apprise
import segno
from markupsafe import Markup

from service.errors import InputError
from service.i18n import N_

HOW = ("email", "phone", "chat", "webhook")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def suggested_topic() -> str:
    """A topic nobody else will guess: on a public ntfy server, anyone who knows it can read it."""
    return f"visitcal-{secrets.token_urlsafe(9).replace('_', 'x').replace('-', 'y')}"


def topic_page(ntfy_server: str, topic: str) -> str:
    """The topic's address, which the ntfy app (or the phone's browser) opens when scanned."""
    return f"{ntfy_server.rstrip('/')}/{topic}"


def qr_svg(text: str) -> Markup:
    """A QR code as inline SVG, drawn on the server: no script, no request to anyone."""
    svg = segno.make(text, error="m").svg_inline(scale=4, title=text)
    return Markup(svg)  # noqa: S704 - segno's own markup, the text escaped by segno


def channel_for(how: str, typed: dict[str, str], ntfy_server: str) -> str:
    """The channel URL for the chosen way; InputError names the form field that is wrong."""
    if how not in HOW:
        raise InputError("how", N_("choose email, phone, chat app or webhook"))
    if how == "email":
        if not typed.get("channel"):
            raise InputError("channel", N_("give an email address, or one of the other channels"))
        return typed["channel"]
    if how == "phone":
        topic = typed.get("topic", "")
        if not _TOPIC.match(topic):
            raise InputError(
                "topic", N_("8 to 64 letters, digits, - or _ (keep the suggested one)")
            )
        server = urlsplit(ntfy_server)
        scheme = "ntfys" if server.scheme == "https" else "ntfy"
        return f"{scheme}://{server.netloc}/{topic}"
    if how == "chat":
        pasted = typed.get("chat_url", "")
        plugin = apprise.Apprise.instantiate(pasted) if pasted.startswith("https://") else None
        if plugin is None:
            raise InputError(
                "chat_url",
                N_("paste the webhook URL your chat app gives (it starts with https://)"),
            )
        # The plugin's own URL (slack://, discord://, ...), without its default options.
        return str(plugin.url()).split("?", 1)[0]
    pasted = typed.get("webhook_url", "")
    parts = urlsplit(pasted)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise InputError("webhook_url", N_("give an https:// URL without a query (?...)"))
    scheme = "jsons" if parts.scheme == "https" else "json"
    return f"{scheme}://{parts.netloc}{parts.path or '/'}"
