"""Response headers and cookie settings that every page gets.

The CSP allows scripts and styles from our own origin only: no inline script,
no inline style, no framing. Pages are never cached: a kiosk in detention is
shared, and the next person must not find the previous one's pages in history
or cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask, Response

from vault.core.config import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: the photos a person takes, shown before saving (static/js/photos.js).
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Our own pages send their address with each request to us: over HTTPS the
    # CSRF check refuses a POST whose Referer is missing or of another origin
    # (vault/core/extensions.py). Other sites get nothing, so neither a link token
    # (/lien/<token>) nor search text leaves the vault.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def init_app(app: Flask, settings: Settings) -> None:
    # `__Host-` cookies must be Secure, which a plain-HTTP dev server cannot set.
    secure = settings.production
    app.config.update(
        SESSION_COOKIE_NAME="__Host-vault" if secure else "vault",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )
    app.after_request(_set_headers(secure))


def _set_headers(secure: bool) -> Callable[[Response], Response]:
    def set_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        # Static assets are public and versioned with the release; pages are not.
        if not response.headers.get("Cache-Control") or response.status_code >= 300:
            response.headers["Cache-Control"] = "no-store"
        return response

    return set_headers
