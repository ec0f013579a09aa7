"""Errors become kind French pages with the right status, never a traceback.

Infrastructure failures (database or blob store unreachable) answer 503 so a
load balancer and the person both know to try again later; the log keeps the
technical line, without any document name or secret.
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

import storage
from vault.core.errors import NotFound
from vault.core.throttle import HashingBusy

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Access denied"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist or is no longer available.")),
    405: (_l("Not possible"), _l("This action is not possible on this page.")),
    413: (_l("File too large"), _l("The file you sent is larger than allowed.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before trying again.")),
    500: (
        _l("Service error"),
        _l("Something went wrong. Nothing was lost. Please try again."),
    ),
    503: (
        _l("Service temporarily unavailable"),
        _l(
            "The vault is not answering right now. Your documents are safe. "
            "Please try again in a few minutes."
        ),
    ),
}


def error_page(status: int) -> tuple[str, int]:
    title, message = MESSAGES.get(status, MESSAGES[500])
    return render_error(status, title, message), status


def render_error(status: int, title: object, message: object) -> str:
    """The French error page, even when the database just failed.

    A failed flush leaves the request's session "pending rollback", and the
    layout reads the signed-in user (its role and name for the menu): roll
    back first. If the layout still cannot be drawn (the database is gone),
    draw it without the signed-in menu, and as a last resort a plain page:
    never the server's bare English "Internal Server Error".
    """
    _rollback()
    context = {"status": status, "title": title, "message": message}
    try:
        return render_template("errors/error.html", **context)
    except Exception:
        log.warning("error page drawn without the signed-in menu", exc_info=True)
    _rollback()
    # Drawn as for someone signed out: Flask-Login's template context loads
    # the user from the database, which is what just failed.
    g._login_user = AnonymousUserMixin()
    try:
        return render_template("errors/error.html", **context)
    except Exception:
        log.exception("error page drawn without its layout")
    return (
        '<!doctype html><html lang="fr"><meta charset="utf-8">'
        f"<title>{escape(str(title))}</title><h1>{escape(str(title))}</h1>"
        f"<p>{escape(str(message))}</p></html>"
    )


def _rollback() -> None:
    session = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()
    except SQLAlchemyError:
        log.warning("rollback before the error page failed", exc_info=True)


def init_app(app: Flask) -> None:
    """Register the error pages (a saturated passphrase check is a 503, like a busy database)."""

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError) -> tuple[str, int]:
        log.info("CSRF check failed: %s", e.description)
        title = _l("Page expired")
        message = _l("This page has expired. Go back, reload it and try again.")
        return render_error(400, title, message), 400

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[str, int]:
        return error_page(e.code or 500)

    # Refused credentials are an operator's problem, like a server that is down:
    # the person should come back later either way.
    @app.errorhandler(storage.StorageUnavailable)
    @app.errorhandler(storage.StorageAccessDenied)
    def storage_unavailable(e: storage.StorageError) -> tuple[str, int]:
        log.error("blob store unavailable: %s", e)
        return error_page(503)

    # A service's "not there or not yours", let through by the view: the
    # same page as abort(404).
    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> tuple[str, int]:
        return error_page(404)

    @app.errorhandler(HashingBusy)
    def saturated(e: HashingBusy) -> tuple[str, int]:
        log.warning("passphrase checks saturated; answered 503")
        return error_page(503)

    @app.errorhandler(OperationalError)
    def database_unavailable(e: OperationalError) -> tuple[str, int]:
        log.error("database unavailable: %s", type(e.orig).__name__ if e.orig else e)
        return error_page(503)

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> tuple[str, int]:
        log.exception("unexpected error")
        return error_page(500)
