"""Which language each request is answered in (docs/translations.md, D-150..D-152).

In order: the signed-in account's own choice, then the device's remembered
choice (a cookie), then the best match of the browser's `Accept-Language`
among the registry, then French. Only codes of `vault.core.languages` are ever
accepted, from any of these sources.

Flask-Babel calls `select_locale` once per request (it keeps the answer on
`g`); templates get the catalogue through Flask-Babel's own callables, so
`force_locale` (the bilingual printed sheets) works in templates too.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from vault.core import kiosk
from vault.core.extensions import get_settings
from vault.core.http import local_path
from vault.core.languages import BY_CODE, CODES, DEFAULT, Language, language

# A person's phone or computer keeps the choice for a year; a kiosk keeps it
# for the idle time only and forgets it at sign-out (D-151).
REMEMBER_DAYS = 365


def cookie_name() -> str:
    # `__Host-` (Secure, no Domain, Path=/) like the session cookie in production;
    # a plain-HTTP development server cannot set it.
    return "__Host-vault-lang" if get_settings().production else "vault-lang"


def registered(code: object) -> str | None:
    """`code` if it is a registry code, else None (never a guess from a near miss)."""
    return code if isinstance(code, str) and code in BY_CODE else None


def device_choice() -> str | None:
    """The language this browser was told to use (the switcher), if any."""
    return registered(request.cookies.get(cookie_name()))


def browser_guess() -> str | None:
    """The best registry language for the browser's `Accept-Language`, if any matches.

    Werkzeug compares primary tags too: `ar-MA` or `pt-BR` find `ar` or `pt`.
    """
    return registered(request.accept_languages.best_match(CODES))


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT.code
    if current_user and current_user.is_authenticated:
        chosen = registered(getattr(current_user, "locale", None))
        if chosen:
            return chosen
    return device_choice() or browser_guess() or DEFAULT.code


def current_language() -> Language:
    """The registry entry of the language this request is answered in."""
    return language(str(get_locale() or DEFAULT.code))


def remember(response: Response, code: str) -> None:
    """Keep `code` on this device: a year on a person's own device, the idle time on a kiosk."""
    settings = get_settings()
    on_kiosk = kiosk.from_kiosk()
    max_age = settings.kiosk_idle_minutes * 60 if on_kiosk else REMEMBER_DAYS * 24 * 3600
    response.set_cookie(
        cookie_name(),
        code,
        max_age=max_age,
        secure=settings.production,
        httponly=True,
        samesite="Lax",
        path="/",
    )


def forget_on_kiosk(response: Response) -> None:
    """At sign-out on a kiosk, the next person starts from the kiosk's own language."""
    if kiosk.from_kiosk() and cookie_name() in request.cookies:
        settings = get_settings()
        response.delete_cookie(
            cookie_name(), path="/", secure=settings.production, httponly=True, samesite="Lax"
        )


def return_path() -> str:
    """This page's own address, for the switcher to come back to (or "/" if unusual)."""
    path = quote(request.path)
    if request.query_string:
        path += "?" + request.query_string.decode("latin-1")
    return local_path(path) or "/"


def init_app(app: Flask) -> None:
    """`current_language()` for `<html lang dir>` and the switcher; the registry for its list."""
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["languages"] = BY_CODE.values
    app.jinja_env.globals["text_direction"] = lambda: current_language().direction
    app.jinja_env.globals["language_return_path"] = return_path
