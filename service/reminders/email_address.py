"""Email as a channel: a follower's plain address, kept as a `mailto:` URI (RFC 6068), which
visitcal delivers itself (service/reminders/mail_outbox.py) rather than through Apprise."""

from __future__ import annotations

import re

# What people type: one address, optionally written as mailto:address. Apprise's mailto://
# URLs (with a server in them) are something else and are left to Apprise.
_ADDRESS = re.compile(r"^(?:mailto:)?([^@\s:/?#,;<>()\[\]\\\"]+@[^@\s:/?#,;<>()\[\]\\\"]+)$", re.I)
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$",
    re.I,
)
PREFIX = "mailto:"


def looks_like_email(text: str) -> bool:
    """Whether `text` is meant as an email address (not an Apprise URL)."""
    return "://" not in text and _ADDRESS.match(text.strip()) is not None


def email_channel(text: str) -> str:
    """The channel for an address typed by a follower; ValueError says what is wrong with it."""
    found = _ADDRESS.match(text.strip())
    if found is None or "://" in text:
        raise ValueError("give one email address, such as name@example.org")
    address = found.group(1)
    local, _, domain = address.rpartition("@")
    if len(address) > 254 or len(local) > 64:
        raise ValueError("this email address is too long")
    if not local.isascii():
        # Mail to such an address needs SMTPUTF8 all the way; not every relay offers it.
        raise ValueError("the part before the @ must be in ASCII letters here")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("this email address has a misplaced dot before the @")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("the part after the @ is not a domain name") from None
    if not _DOMAIN.match(ascii_domain):
        raise ValueError("the part after the @ is not a domain name, such as example.org")
    # An internationalized domain is kept as its ASCII form (IDNA), which every relay takes.
    return PREFIX + local + "@" + ascii_domain.lower()


def is_email_channel(channel: str) -> bool:
    return channel.startswith(PREFIX) and not channel.startswith(PREFIX + "//")


def address_of(channel: str) -> str:
    return channel.removeprefix(PREFIX)


def redact_address(channel: str) -> str:
    """The address with most of its local part hidden: enough to recognise it, not to harvest."""
    local, _, domain = address_of(channel).rpartition("@")
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}…@{domain}"
