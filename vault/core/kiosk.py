"""Kiosk mode: does this request come from a shared terminal in detention? (docs/kiosk.md)

One answer for the whole app: the kiosk idle timeout (vault.accounts.auth),
the idle countdown, the sheets shown as printable pages rather than PDFs, the
refused downloads and export all ask `from_kiosk()`, and templates read
`kiosk`. The address is `request.remote_addr`, which the ProxyFix installed by
vault.core.extensions has already taken from `X-Forwarded-For` exactly as far
as `VAULT_PROXY_HOPS` trusts it, as the sign-in limits and the establishments'
network rule do: a client can neither claim a kiosk's address nor leave kiosk
mode by sending a header of its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import Flask, g, request

from vault.core.extensions import get_settings


def in_kiosk_networks(address: str | None, networks: Iterable[str]) -> bool:
    """Is `address` inside one of the CIDR blocks `networks` (as Settings validated them)?"""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(block) for block in networks)


def from_kiosk() -> bool:
    """Does the current request come from a declared kiosk network?"""
    found: bool | None = g.get("from_kiosk")
    if found is None:
        found = in_kiosk_networks(request.remote_addr, get_settings().kiosk_networks)
        g.from_kiosk = found
    return found


def init_app(app: Flask) -> None:
    """`kiosk` in every template (False outside a request), and `from_kiosk()` for macros,
    which Jinja imports without the page's context."""
    app.jinja_env.globals["from_kiosk"] = lambda: from_kiosk() if request else False

    @app.context_processor
    def kiosk_context() -> dict[str, bool]:
        return {"kiosk": from_kiosk() if request else False}
