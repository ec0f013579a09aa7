"""Cookies kept by hand, as a browser keeps them, for clients that talk real HTTP.

The production app sets `__Host-` cookies with `Secure`; the tests' and the
benchmarks' servers are often plain HTTP on loopback, where an HTTP library's
own jar would keep such cookies back. These clients keep a plain dict instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie


def cookie_header(cookies: Mapping[str, str]) -> str:
    """The `Cookie` header a browser would send with `cookies`."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def keep_cookies(cookies: dict[str, str], set_cookie_headers: Iterable[str]) -> None:
    """Apply a response's `Set-Cookie` headers: new values kept, emptied or expired ones dropped."""
    for header in set_cookie_headers:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if not morsel.value or morsel["max-age"] == "0":
                cookies.pop(name, None)
            else:
                cookies[name] = morsel.value
