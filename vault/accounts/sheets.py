"""Activation sheets: what one printed page says, for one account or a whole intake.

The web edge of opening accounts (like auth.py): it builds the activation URL
with Flask's `url_for` and renders through `vault.core.pdf`. The administrator's
single sheet and the intake's batch (one page per person) print the same page
(`templates/pdf/_activation.html`). Every sheet addressed to a person is in
their language (`User.locale`) and in French, the staff's (D-170).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pypdfium2 as pdfium
from flask_babel import format_date

from vault.accounts import auth, sessions
from vault.accounts.labels import role_label
from vault.accounts.opening import normalize_activation_code
from vault.core.addresses import public_url_for, url_on
from vault.core.pdf.render import per_locale, render_pdf, sheet_languages, sheet_locales
from vault.models import User

BATCH_PAGES = 40


def activation_url_at(base_url: str) -> str:
    """The activation page's address under `base_url` (a command has no request to ask).

    Raises ValueError unless `base_url` looks like https://coffre.example.fr.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(base_url)
    return url_on(base_url, "auth.activate")


def sheet_context(user: User, code: str, activation_url: str | None = None) -> dict[str, Any]:
    """The plain values of `user`'s activation page, in the person's language and French.

    `activation_url` defaults to the activation page at the Internet address
    (VAULT_PUBLIC_URL, docs/kiosk.md), never the address the request came in on.
    """
    if activation_url is None:
        activation_url = public_url_for("auth.activate")
    digits = normalize_activation_code(code)
    # In the fragment, which browsers never send: the code stays out of the
    # server's and any proxy's logs when the QR code is scanned.
    qr_payload = f"{activation_url}#u={quote(user.username, safe='')}&c={digits}"
    locales = sheet_locales(user.locale)
    expires = user.activation_expires_at
    return {
        "display_name": user.display_name,
        "username": user.username,
        "activation_code": code,
        "activation_url": activation_url,
        "qr_payload": qr_payload,
        "expires_on": per_locale(locales, lambda: format_date(expires, "long") if expires else ""),
        "establishment": user.establishment.name if user.establishment else None,
        "role_label": per_locale(locales, lambda: str(role_label(user.role))),
        **sheet_languages(user.locale),
    }


def recovery_sheet_context(user: User, code: str, issued: datetime | None) -> dict[str, Any]:
    """The plain values of `user`'s recovery sheet (templates/pdf/recovery_kit.html)."""
    return {
        "display_name": user.display_name,
        "username": user.username,
        "recovery_code": code,
        "issued_on": per_locale(sheet_locales(user.locale), lambda: format_date(issued, "long")),
        **sheet_languages(user.locale),
    }


def activation_sheet(user: User, code: str, activation_url: str | None = None) -> bytes:
    """One account's activation sheet, as a PDF."""
    return render_pdf("pdf/activation_sheet.html", **sheet_context(user, code, activation_url))


def activation_sheets(accounts: list[tuple[User, str]], activation_url: str | None = None) -> bytes:
    """One PDF, one page per (account, code), in the order given.

    WeasyPrint holds a whole document's layout in memory (about 2 MiB a
    page): the pages are rendered BATCH_PAGES at a time and joined with
    pdfium, so that hundreds of sheets stay within a worker's memory.
    """
    contexts = [sheet_context(user, code, activation_url) for user, code in accounts]
    parts = [
        render_pdf("pdf/activation_sheets.html", sheets=contexts[i : i + BATCH_PAGES])
        for i in range(0, len(contexts), BATCH_PAGES)
    ]
    if len(parts) == 1:
        return parts[0]
    joined = pdfium.PdfDocument.new()
    try:
        for part in parts:
            source = pdfium.PdfDocument(part)
            joined.import_pages(source)
            source.close()
        out = io.BytesIO()
        joined.save(out)
        return out.getvalue()
    finally:
        joined.close()


# An intake's new accounts wait in the administrator's own session, encrypted
# under the session's key (vault.accounts.sessions), until their sheets are
# printed: the codes are never stored in clear nor logged. A new intake
# replaces the previous batch.
BATCH_KEY = "intake_sheets"


def remember_batch(codes: list[tuple[str, str]]) -> None:
    """Keep (account id, code) pairs for printing, next to whatever else is pending."""
    opened = auth.open_session()
    ticket = auth.current_ticket()
    data = sessions.get_pending(opened.row, ticket)
    data[BATCH_KEY] = [[user_id, code] for user_id, code in codes]
    sessions.set_pending(opened.row, ticket, data)


def remembered_batch() -> list[tuple[str, str]]:
    """The (account id, code) pairs of the last intake in this session."""
    data = sessions.get_pending(auth.open_session().row, auth.current_ticket())
    pairs = data.get(BATCH_KEY)
    if not isinstance(pairs, list):
        return []
    return [
        (pair[0], pair[1])
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
    ]
