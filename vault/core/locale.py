"""Which language each request is answered in (docs/translations.md, D-150..D-152).

In order: the signed-in account's own choice, then the device's remembered
choice (a cookie), then the best match of the browser's `Accept-Language`
among the registry, then French. Only codes of `vault.core.languages` are ever
accepted, from any of these sources.

Flask-Babel calls `select_locale` once per request (it keeps the answer on
`g`). Templates translate through Flask-Babel's `get_translations()`, which
follows `force_locale` (the bilingual printed sheets), but look it up once per
template render rather than on each of a page's hundred calls: each lookup
walks `g` and the locale again, and cost about a third of the document list's
CPU when it was done per call (docs/benchmarks.md). A render started inside
`force_locale` gets that locale's catalogue.
"""

from __future__ import annotations

from urllib.parse import quote

from babel.support import NullTranslations, Translations
from flask import Flask, g, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from werkzeug.wrappers import Response

from vault.core import kiosk
from vault.core.addresses import local_path
from vault.core.extensions import get_settings
from vault.core.languages import BY_CODE, CODES, DEFAULT, Language, language

# A person's phone or computer keeps the choice for a year; a kiosk keeps it
# for the idle time only and forgets it at sign-out (D-151).
REMEMBER_DAYS = 365
# Where a template render keeps its catalogue (an attribute of Jinja's Context).
_CATALOGUE = "vault_catalogue"


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


def _catalogue(context: Context) -> Translations | NullTranslations:
    """The catalogue of the locale in force: Flask-Babel's, looked up again only when it changed.

    Kept on the render's Jinja context with the Locale object it was found
    for. Flask-Babel keeps the request's Locale on `g._flask_babel` (a new
    object per request, replaced by `force_locale`): reading it straight from
    `g` costs 0.2 µs where Flask-Babel's full lookup costs 7 µs, and a
    template module Jinja keeps between requests (an import without context)
    sees the new request's locale.
    """
    if not has_app_context():
        outside: Translations | NullTranslations = get_translations()  # NullTranslations
        return outside
    babel_state = vars(g._get_current_object()).get("_flask_babel")
    locale = getattr(babel_state, "babel_locale", None)
    cached: tuple[object, Translations | NullTranslations] | None = getattr(
        context, _CATALOGUE, None
    )
    if cached is not None and locale is not None and cached[0] is locale:
        return cached[1]
    catalogue: Translations | NullTranslations = get_translations()  # chooses the locale if needed
    setattr(context, _CATALOGUE, (get_locale(), catalogue))
    return catalogue


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _catalogue(context).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).ungettext(singular, plural, n)


def init_app(app: Flask) -> None:
    """Flask-Babel with `select_locale`; templates' gettext; `current_language()` and
    `text_direction()` for `<html lang dir>`, the registry for the switcher."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or DEFAULT.code)
    # After Babel(app), which installed its per-call callables (pgettext kept).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["languages"] = BY_CODE.values
    app.jinja_env.globals["text_direction"] = lambda: current_language().direction
    app.jinja_env.globals["language_return_path"] = return_path
