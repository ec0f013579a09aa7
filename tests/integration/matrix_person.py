"""Authorization matrix lines for the person side of sharing (merged by the matrix test)."""

from __future__ import annotations

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {}
