"""Every public address visitcal hands out: pages, feeds, downloads, private feeds, change
feeds and signed confirmation and unsubscribe links. `base` is the public base URL, or "" for a
site path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from service.i18n import DEFAULT_LANGUAGE
from service.settings import Settings
from service.signing import sign, signature_matches


def visit_page(base: str, slug: str) -> str:
    return f"{base}/visits/{quote(slug)}"


def visit_download(base: str, slug: str) -> str:
    return f"{visit_page(base, slug)}.ics"


def segment_download(base: str, slug: str, key: str) -> str:
    return f"{visit_page(base, slug)}/segments/{quote(key)}.ics"


def visit_changes(base: str, slug: str) -> str:
    return f"{visit_page(base, slug)}/changes.atom"


def visit_feed(base: str, slug: str) -> str:
    return f"{base}/feeds/visits/{quote(slug)}.ics"


def all_feed(base: str) -> str:
    return f"{base}/feeds/all.ics"


def private_feed(base: str, token: str) -> str:
    return f"{base}/feeds/private/{token}.ics"


def subscription_manage(base: str, subscription_id: str) -> str:
    return f"{base}/subscriptions/{subscription_id}"


# What a signed link lets its holder do without the manage token, in the link's path.
SignedAction = Literal["unsubscribe", "confirm"]


def _signed_message(subscription_id: str, action: SignedAction, channel: str) -> str:
    """What a link's signature covers. A confirmation covers the channel too: after the channel
    changes, the link sent to the old one confirms nothing (else a stranger could confirm their
    own channel's link after pointing the subscription at someone else's)."""
    if action == "confirm":
        return f"confirm:{subscription_id}:{hashlib.sha256(channel.encode()).hexdigest()}"
    return f"{action}:{subscription_id}"


def signed_link(
    base: str, secret: bytes, subscription_id: str, action: SignedAction, channel: str = ""
) -> str:
    """A link bound to one subscription and one action (a confirmation also to its channel),
    signed with the server secret: the confirmation message carries "confirm", every reminder
    "unsubscribe"."""
    signature = sign(secret, _signed_message(subscription_id, action, channel))
    return f"{subscription_manage(base, subscription_id)}/{action}?sig={signature}"


def signed_link_valid(
    secret: bytes,
    subscription_id: str,
    action: SignedAction,
    signature: str | None,
    channel: str = "",
) -> bool:
    """Whether `signature` is the one `signed_link` wrote for this subscription and action (and,
    for a confirmation, the subscription's channel as it is now)."""
    return signature_matches(secret, _signed_message(subscription_id, action, channel), signature)


def unsubscribe_link(base: str, secret: bytes, subscription_id: str) -> str:
    return signed_link(base, secret, subscription_id, "unsubscribe")


def confirm_link(base: str, secret: bytes, subscription_id: str, channel: str) -> str:
    """The link the confirmation message sends to `channel`: it confirms only that channel."""
    return signed_link(base, secret, subscription_id, "confirm", channel)


def webcal(url: str) -> str:
    """The same feed for calendar apps that subscribe on a click (webcal://)."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", *parts[1:]))


def with_language(url: str, lang: str) -> str:
    """A feed in a reader's language (`?lang=ja`); the default language needs no parameter."""
    return url if lang == DEFAULT_LANGUAGE else f"{url}?lang={lang}"


@dataclass(frozen=True)
class FeedLinks:
    """Where a follower finds a visit's feed."""

    feed: str
    webcal: str
    download: str


def visit_links(settings: Settings, slug: str, lang: str = DEFAULT_LANGUAGE) -> FeedLinks:
    feed = with_language(visit_feed(settings.base_url, slug), lang)
    download = with_language(visit_download(settings.base_url, slug), lang)
    return FeedLinks(feed, webcal(feed), download)


def all_links(settings: Settings, lang: str = DEFAULT_LANGUAGE) -> FeedLinks:
    feed = with_language(all_feed(settings.base_url), lang)
    return FeedLinks(feed, webcal(feed), feed)
