"""Sending one webhook request: the SSRF guard, the signature, and the HTTP POST.

The guard: only https URLs; the host is resolved at send time and every address it resolves to
must be a public one (not private, loopback, link-local, multicast, reserved or unspecified);
the connection is then made to that checked address (TLS still verifies the certificate for the
URL's host name), so a DNS answer that changes between the check and the connection cannot
point the request inside the network. Redirects are not followed; timeouts are short.
WEBHOOK_ALLOW_PRIVATE=1 lifts the https and address rules (development and tests).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

RESPONSE_READ_LIMIT = 64 * 1024


class AddressRefused(Exception):  # noqa: N818 (a refusal, said in words for admins)
    """The URL may not be called: wrong scheme, or an address inside the network."""


@dataclass(frozen=True)
class Answer:
    """What the receiver answered (status None: no answer; error says why)."""

    status: int | None
    milliseconds: int
    error: str | None


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def url_problem(url: str) -> str | None:
    """Why a URL cannot be a webhook endpoint (checked when it is saved); None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return str(_l("Enter a valid URL."))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return str(_l("Enter a valid URL."))
    if parts.username or parts.password:
        return str(_l("Leave the user name and password out of the URL."))
    if allow_private():
        return None
    if parts.scheme != "https":
        return str(_l("The URL must start with https://."))
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a host name: checked on its resolved addresses at send time
    if not is_public(literal):
        return str(_l("The URL points to a private or reserved address."))
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address on the public internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> str:
    """The address to connect to; AddressRefused unless every address of the host is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve the host ({type(exc).__name__})") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise AddressRefused("the host has no address")
    if not allow_private():
        for text in addresses:
            if not is_public(ipaddress.ip_address(text.split("%", 1)[0])):
                raise AddressRefused("the host resolves to a private or reserved address")
    return addresses[0]


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """Felag-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>" in hex>."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST the body to the URL through the guard; never raises for the receiver's faults."""
    started = time.monotonic()

    def answer(status: int | None, error: str | None) -> Answer:
        return Answer(status, int((time.monotonic() - started) * 1000), error)

    # Imported here: only the jobs worker delivers, and a web worker need not hold urllib3.
    import certifi
    import urllib3

    parts = urlsplit(url)
    if url_problem(url) is not None:
        return answer(None, "refused: the URL is not allowed")
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    try:
        address = resolve(host, port)
    except AddressRefused as exc:
        return answer(None, f"refused: {exc}")
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 5))
    named = f"[{host}]" if ":" in host else host
    default_port = port == (443 if https else 80)
    request_headers = {**headers, "Host": named if default_port else f"{named}:{port}"}
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            address, port, timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        response.read(RESPONSE_READ_LIMIT)
        response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return answer(None, type(exc).__name__)
    finally:
        pool.close()
    status = response.status
    if 300 <= status < 400:
        return answer(status, "redirect not followed")
    return answer(status, None if 200 <= status < 300 else f"HTTP {status}")
