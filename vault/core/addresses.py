"""The vault's Internet address, for everything that leaves the building (D-071).

Printed sheets, the exit summary and external links give `VAULT_PUBLIC_URL`,
never the address the request came in on: a sheet printed on the
establishment's network would otherwise send a released person, or an
employer opening a link, to an internal address they cannot reach. Outside
production the setting may be empty, and the request's own address is used
(`make run`, tests on a random port).

And the other way: `local_path` accepts only an address of this site, for a
form that sends the person back where they were.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from vault.core.extensions import get_settings


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute address of `endpoint` on the public entrance."""
    base = get_settings().public_url
    if not base:
        return url_for(endpoint, _external=True, **values)
    return url_on(base, endpoint, **values)


def url_on(base: str, endpoint: str, **values: Any) -> str:
    """The absolute address of `endpoint` under `base` ("https://host[:port][/prefix]")."""
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


# A page address to come back to (`local_path`); ours are far shorter.
MAX_LOCAL_PATH = 2048


def local_path(target: str) -> str | None:
    """`target` if it is a path of this site ("/documents/?q=x"), else None.

    For redirects after a form (the language switcher's `next`): a full URL,
    a scheme-relative `//host`, a backslash (browsers read `/\\host` as
    `//host`) or any control character or space could send the person
    elsewhere, so they are refused rather than cleaned.
    """
    if len(target) > MAX_LOCAL_PATH or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
