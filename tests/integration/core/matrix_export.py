"""Authorization matrix lines for the exit pack (merged by the matrix test).

The download is a POST that needs the secret phrase typed again: with only
the CSRF token, the owner gets the form back (400) and nothing streams.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import person_only

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "export.index": ("GET", "/export/", person_only(200)),
    "export.download": ("POST", "/export/", person_only(400)),
}
