"""SSRF guard: where a webhook may point, checked at registration and again before every delivery.

- https only, to a host whose every address is public (IPv4 and IPv6): loopback, private, shared
  (100.64/10), link-local (169.254/16: the instance metadata service 169.254.169.254, fe80::/10),
  unique-local (fc00::/7), reserved, multicast and unspecified addresses are refused, as are
  IPv4-mapped and translated IPv6 forms of them (::ffff:10.0.0.1, 64:ff9b::a00:1).
- Loopback (http or https, 127.0.0.0/8 and ::1) only when CRM_WEBHOOK_ALLOW_LOOPBACK is set: the
  local stack and the tests, never a deployed stage.
- No user name or password in the URL, no fragment.
- CRM_WEBHOOK_LOOPBACK_ONLY (the local stack): nothing but loopback passes, and no name but localhost is
  looked up, so a webhook registered on `make dev` never sends anything off the machine.
The delivery connects to the address checked here (sender.py), never resolving the name again (a
DNS answer that changes between check and connect cannot redirect it), and never follows redirects.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.errors import Problem
from ..core.settings import get_settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (the TLS server name and the Host header)
    port: int
    path: str  # path + query
    address: str  # the checked address to connect to


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (tests replace this to play DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def is_loopback(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_v4(ip)) is not None:
        return v4.is_loopback
    return ip.is_loopback


def is_public(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        v4 = _embedded_v4(ip)
        if v4 is not None:
            return is_public(v4)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_private
                                 or ip.is_unspecified or ip.is_loopback)


HTTPS_PORTS = (443, 8443)


def check(url: str, *, resolve: bool = True) -> Target:
    """The target of `url` if a delivery may go there; raises Problem (webhook.url_*) otherwise."""
    allow_loopback = get_settings().webhook_allow_loopback
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Problem("webhook.url_invalid") from None
    scheme, host = (parts.scheme or "").lower(), parts.hostname or ""
    if scheme not in ("https", "http") or not host or (scheme == "http" and not allow_loopback):
        raise Problem("webhook.url_https")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise Problem("webhook.url_invalid")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IP | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if get_settings().webhook_loopback_only and not ((literal is not None and is_loopback(literal)) or host == "localhost"):
        raise Problem("webhook.url_local_stack", host=host)  # the local stack sends nothing off the machine, asks no DNS
    if literal is not None:
        addresses = [str(literal)]
    elif not resolve:
        addresses = []
    else:
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError):
            raise Problem("webhook.url_unresolved", host=host) from None
        if not addresses:
            raise Problem("webhook.url_unresolved", host=host)
    ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    loopback = bool(ips) and all(is_loopback(ip) for ip in ips)
    if scheme == "http" and not (allow_loopback and (loopback or (not ips and host == "localhost"))):
        raise Problem("webhook.url_https")
    for ip in ips:
        if is_public(ip) or (allow_loopback and is_loopback(ip)):
            continue
        raise Problem("webhook.url_private", host=host)
    if port not in HTTPS_PORTS and not (allow_loopback and (loopback or (not ips and host == "localhost"))):
        raise Problem("webhook.url_port", port=port)  # no reaching other services (SSH, databases) of a public host
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, path, addresses[0] if addresses else "")
