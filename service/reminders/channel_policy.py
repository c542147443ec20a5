"""What a follower may aim the reminder worker at: allowed Apprise schemes, no chosen methods or
headers, and the address policy on every host contacted (at sign-up and again at each send)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit
from urllib.request import getproxies

from apprise.plugins.base import NotifyBase

from service.address_policy import AddressRefused, checked_addresses, is_allowed, literal
from service.settings import Settings

_REFUSAL = "channels to such addresses are off (setting channel_allow_private)"


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


@dataclass(frozen=True)
class ChannelPolicy:
    schemes: frozenset[str]
    allow_private: bool
    # The operator's own relay (setting smtp_url) is trusted wherever it is: an Apprise mailto://
    # channel through it is the operator's doing.
    trusted_hosts: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelPolicy:
        # The proxies the environment names for outgoing HTTP, if any, are the operator's too.
        trusted = {
            (urlsplit(proxy).hostname or "").lower() for proxy in getproxies().values() if proxy
        } - {""}
        relay = urlsplit(settings.smtp_url).hostname if settings.smtp_url else None
        if relay:
            trusted.add(relay.lower())
        return cls(
            frozenset(s.lower() for s in settings.channel_schemes),
            settings.channel_allow_private,
            frozenset(trusted),
        )

    def check_scheme(self, url: str) -> None:
        scheme = scheme_of(url)
        if scheme not in self.schemes:
            shown = f"{scheme}://" if scheme.isalnum() and len(scheme) < 20 else "this kind of URL"
            raise ValueError(
                f"{shown} is not accepted as a channel here; accepted: "
                f"{', '.join(sorted(self.schemes))} (setting channel_schemes)"
            )

    def check_sign_up(self, url: str, plugin: NotifyBase) -> None:
        """Refuse what a stranger must not choose: the scheme, HTTP method, headers, and a host
        that resolves inside. A name that does not resolve now is left to the send-time check."""
        self.check_scheme(url)
        for key, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
            if key.startswith("+"):
                raise ValueError("a channel cannot set HTTP headers (+Header= in the URL)")
            if key.lower() == "method":
                raise ValueError("a channel cannot choose its HTTP method (?method= in the URL)")
        if getattr(plugin, "headers", None):
            raise ValueError("a channel cannot set HTTP headers (+Header= in the URL)")
        if str(getattr(plugin, "method", None) or "POST").upper() != "POST":
            raise ValueError("a channel cannot choose its HTTP method (?method= in the URL)")
        host = self.destination(plugin)
        if host is None:
            return
        address = literal(host)
        if address is not None:
            if not is_allowed(address, self.allow_private):
                raise ValueError(f"{host} is not a public address; {_REFUSAL}")
            return
        try:
            self.check_host(host, 0)
        except AddressRefused as refused:
            if "cannot be resolved" not in str(refused) and "has no address" not in str(refused):
                raise ValueError(str(refused)) from None

    def destination(self, plugin: NotifyBase) -> str | None:
        """The host a plugin that takes one connects to (an email's SMTP server); None for
        plugins that talk to their own provider (slack://, tgram://...)."""
        host = getattr(plugin, "smtp_host", None)
        if not host and "host" in getattr(type(plugin), "template_tokens", {}):
            host = getattr(plugin, "host", None)
        return str(host) if host else None

    def check_host(self, host: str, port: int) -> None:
        """AddressRefused unless every address of `host` is allowed (or it is trusted)."""
        self.addresses_to_connect(host, port)

    def addresses_to_connect(self, host: str, port: int) -> list[str]:
        """Where a connection to `host` may go: its addresses, every one checked (a trusted
        host as it is named). Connecting to the checked address itself, not to the
        name again, means a name that resolves outside when checked and inside a moment later
        (DNS rebinding) cannot slip between the check and the connection."""
        if host.lower().strip("[]") in self.trusted_hosts:
            return [host]
        return [str(a) for a in checked_addresses(host, port, self.allow_private, _REFUSAL)]
