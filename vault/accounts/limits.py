"""Limits on the posts that check a secret: sign-in, activation, recovery, a link's PIN.

A whole prison's kiosks leave through one address, so the limit is counted
per address *and* per subject: the name typed, or the link opened (from the
URL, never from a form field the client could vary to get a fresh budget).
One person spends only their own budget; the per-username delays
(vault/core/throttle.py) are what stops guessing one account. docs/decisions.md
(issue 11) gives the figures.

A coarse ceiling per address alone stands against spraying many names from
one place. So that one person's spray cannot lock the others out, a browser
that carries the typed account's own device mark (vault/accounts/devices.py: it
signed in there before) is not counted against the ceiling.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from vault.accounts import devices
from vault.accounts.users import find_user
from vault.core import metrics
from vault.core.db import db_session
from vault.core.envelope import limit_message
from vault.core.extensions import get_throttle_secret

SIGNIN_RATE = "60 per minute;600 per hour"
ADDRESS_PER_MINUTE = 600
ADDRESS_CEILING = f"{ADDRESS_PER_MINUTE} per minute;{ADDRESS_PER_MINUTE * 10} per hour"


def limit_signins(app: Flask, *endpoints: str) -> None:
    """Apply the sign-in limits to the POSTs of `endpoints` (after registration)."""
    limiter: Limiter = app.extensions["vault.limiter"]
    for endpoint in endpoints:
        view = app.view_functions[endpoint]
        limited = limiter.limit(
            SIGNIN_RATE, key_func=_address_and_subject, methods=["POST"], on_breach=_counted
        )(view)
        limited = limiter.limit(
            ADDRESS_CEILING, methods=["POST"], exempt_when=_owner_browser, on_breach=_counted
        )(limited)
        app.view_functions[endpoint] = limited  # type: ignore[assignment]


def _counted(_limit: RequestLimit) -> None:
    """Count the refusal (the limiter answers it as usual: None keeps its response)."""
    metrics.SIGNIN_THROTTLED.labels("address").inc()


def _subject() -> str:
    token = (request.view_args or {}).get("token")
    if token is not None:
        return "link|" + str(token)
    return "name|" + " ".join(str(request.form.get("username", "")).split()).casefold()


def _address_and_subject() -> str:
    """The client's address and an HMAC of the subject.

    Keyed, so that the limiter's store (Redis in production) never holds what
    was typed: sometimes a passphrase, typed into the wrong field.
    """
    digest = hmac.new(get_throttle_secret(), limit_message(_subject()), hashlib.sha256)
    return f"{get_remote_address()}|{digest.hexdigest()[:32]}"


def _owner_browser() -> bool:
    """The post names an account whose device mark this browser carries."""
    username = request.form.get("username", "")
    if not username or not request.cookies.get(devices.cookie_name()):
        return False
    user = find_user(db_session(), username)
    return user is not None and devices.is_trusted(request, user)
