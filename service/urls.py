"""Every public address visitcal hands out: pages, feeds, downloads, private feeds, change
feeds and signed confirmation and unsubscribe links. `base` is the public base URL, or "" for a
site path."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

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


def unsubscribe_link(base: str, secret: bytes, subscription_id: str) -> str:
    """A link that ends a subscription without its manage token: signed with the server secret."""
    signature = sign(secret, f"unsubscribe:{subscription_id}")
    return f"{subscription_manage(base, subscription_id)}/unsubscribe?sig={signature}"


def unsubscribe_link_signed(secret: bytes, subscription_id: str, signature: str | None) -> bool:
    """Whether `signature` is the one `unsubscribe_link` wrote for this subscription."""
    return signature_matches(secret, f"unsubscribe:{subscription_id}", signature)


def confirm_link(base: str, secret: bytes, subscription_id: str) -> str:
    """The link in a sign-up's confirmation message: signed, bound to one subscription."""
    signature = sign(secret, f"confirm:{subscription_id}")
    return f"{subscription_manage(base, subscription_id)}/confirm?sig={signature}"


def confirm_link_signed(secret: bytes, subscription_id: str, signature: str | None) -> bool:
    """Whether `signature` is the one `confirm_link` wrote for this subscription."""
    return signature_matches(secret, f"confirm:{subscription_id}", signature)


def webcal(url: str) -> str:
    """The same feed for calendar apps that subscribe on a click (webcal://)."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", *parts[1:]))


@dataclass(frozen=True)
class FeedLinks:
    """Where a follower finds a visit's feed."""

    feed: str
    webcal: str
    download: str


def visit_links(settings: Settings, slug: str) -> FeedLinks:
    feed = visit_feed(settings.base_url, slug)
    return FeedLinks(feed, webcal(feed), visit_download(settings.base_url, slug))


def all_links(settings: Settings) -> FeedLinks:
    feed = all_feed(settings.base_url)
    return FeedLinks(feed, webcal(feed), feed)
