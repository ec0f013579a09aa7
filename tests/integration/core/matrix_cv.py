"""Authorization matrix lines for the CV and cover-letter builders (merged by the matrix test).

Each person reaches only their own drafts (a query scoped by the vault), so
another person gets their own empty builder: the same answer as the owner.
A PDF asked with nothing written sends back to the first step (302).
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import person_only

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "cv.index": ("GET", "/cv/", person_only(200)),
    "cv.step": ("GET", "/cv/etape/identite", person_only(200)),
    "cv.make_pdf": ("POST", "/cv/pdf", person_only(302)),
    "letter.step": ("GET", "/cv/lettre/etape/poste", person_only(200)),
    "letter.make_pdf": ("POST", "/cv/lettre/pdf", person_only(302)),
}
