"""Authorization matrix lines for the intake and the overview (issue 17; merged by the matrix test).

Administrators only. The upload's POST carries a CSRF token and no file: the
administrator's answer is the page again with its French error (400). The
sheets' PDF answers 404 when the session holds no intake's codes.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import ADMIN, only

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "intake.form": ("GET", "/admin/import/", only(ADMIN, 200)),
    "intake.upload": ("POST", "/admin/import/", only(ADMIN, 400)),
    "intake.activation_sheets": (
        "GET",
        "/admin/import/feuilles-activation.pdf",
        only(ADMIN, 404),
    ),
    "overview.index": ("GET", "/admin/tableau-de-bord/", only(ADMIN, 200)),
}
