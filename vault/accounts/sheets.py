"""Printed sheets (activation sheet, recovery kit): how long a code is shown, the PDF answer.

Shared by the sign-in views and the recovery views (two features), hence
here rather than in either one's views.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response

# The recovery code can be shown (and printed) for this long after it was issued.
RECOVERY_CODE_SHOWN_FOR = timedelta(minutes=15)


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF to download, never kept by a browser's or a proxy's cache."""
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
