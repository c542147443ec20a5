"""Which network addresses the service may contact on someone's behalf (imports, channels).

One rule for everything a stranger can aim the service at: every address a name resolves to must
be a public unicast address, unless the operator allows private ones (loopback, private networks,
link-local) for a test machine or an intranet. Addresses that embed an IPv4 address (IPv4-mapped,
6to4, Teredo, NAT64) are judged by the address they embed.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(ValueError):
    """A host the policy does not let the service contact; the message says why."""


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 address stands for, if it stands for one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_allowed(address: Address, allow_private: bool) -> bool:
    """Public unicast always; loopback, private and link-local only when allowed; multicast,
    unspecified and reserved never."""
    address = _embedded(address)
    if address.is_multicast or address.is_unspecified:
        return False
    if address.is_global:
        return True
    inside = address.is_loopback or address.is_link_local or address.is_private
    return allow_private and inside and (address.is_loopback or not address.is_reserved)


def literal(host: str) -> Address | None:
    """The host as an IP address, if it is one (brackets and a zone index allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to; AddressRefused when it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise AddressRefused(f"host {host!r} cannot be resolved ({error})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"host {host!r} has no address")
    return addresses


def checked_addresses(host: str, port: int, allow_private: bool, refusal: str) -> list[Address]:
    """The addresses of `host`, all allowed; AddressRefused naming the first that is not (one
    inside address among public ones is enough to refuse: the connection may go to it).
    `refusal` ends the message: what is off, and the setting that turns it on."""
    addresses = resolve(host, port)
    for address in addresses:
        if not is_allowed(address, allow_private):
            inside = _embedded(address)
            what = (
                "a loopback, private or link-local address"
                if inside.is_loopback or inside.is_private or inside.is_link_local
                else "not a public unicast address"
            )
            raise AddressRefused(f"{host} is {address}, {what}; {refusal}")
    return addresses
