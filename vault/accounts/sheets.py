"""Activation sheets: what one printed page says, for one account or a whole intake.

The web edge of opening accounts (like auth.py): it builds the activation URL
with Flask's `url_for` and renders through `vault.core.pdf`. The administrator's
single sheet and the intake's batch (one page per person) print the same page
(`templates/pdf/_activation.html`).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app, url_for
from flask_babel import format_date

from vault.accounts.labels import role_label
from vault.accounts.opening import normalize_activation_code
from vault.core.pdf.render import render_pdf
from vault.models import User


def activation_url_at(base_url: str) -> str:
    """The activation page's address under `base_url` (a command has no request to ask).

    Raises ValueError unless `base_url` looks like https://coffre.example.fr.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(base_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build("auth.activate", force_external=True)


def sheet_context(
    user: User, code: str, activation_url: str | None = None
) -> dict[str, str | None]:
    """The plain values of `user`'s activation page.

    `activation_url` defaults to the request's own address for the activation page.
    """
    if activation_url is None:
        activation_url = url_for("auth.activate", _external=True)
    digits = normalize_activation_code(code)
    # In the fragment, which browsers never send: the code stays out of the
    # server's and any proxy's logs when the QR code is scanned.
    qr_payload = f"{activation_url}#u={quote(user.username, safe='')}&c={digits}"
    return {
        "display_name": user.display_name,
        "username": user.username,
        "activation_code": code,
        "activation_url": activation_url,
        "qr_payload": qr_payload,
        "expires_on": format_date(user.activation_expires_at, "long")
        if user.activation_expires_at
        else "",
        "establishment": user.establishment.name if user.establishment else None,
        "role_label": str(role_label(user.role)),
    }


def activation_sheet(user: User, code: str, activation_url: str | None = None) -> bytes:
    """One account's activation sheet, as a PDF."""
    return render_pdf("pdf/activation_sheet.html", **sheet_context(user, code, activation_url))


def activation_sheets(accounts: list[tuple[User, str]], activation_url: str | None = None) -> bytes:
    """One PDF, one page per (account, code), in the order given."""
    return render_pdf(
        "pdf/activation_sheets.html",
        sheets=[sheet_context(user, code, activation_url) for user, code in accounts],
    )
