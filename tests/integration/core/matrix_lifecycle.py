"""Authorization matrix lines for release and after (merged by the matrix test).

Administrators' pages answer 403 to everyone else; the person's pages are the
signed-in person's own (no id in the path). POSTs carry only a CSRF token, so
the administrator's answer is the form's refusal (400) or, for ids that name
nothing (`NOWHERE`), 404.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import ADMIN, only, person_only

NOWHERE = "00000000-0000-4000-8000-000000000000"

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "lifecycle.person": ("GET", "/admin/parcours/{person}", only(ADMIN, 200)),
    "lifecycle.transfer": ("POST", "/admin/parcours/{person}/transfert", only(ADMIN, 400)),
    "lifecycle.release": ("POST", "/admin/parcours/{person}/sortie", only(ADMIN, 400)),
    "lifecycle.followup": ("POST", "/admin/parcours/{person}/suivi", only(ADMIN, 400)),
    "lifecycle.end_assignment": (
        "POST",
        f"/admin/parcours/{{person}}/suivis/{NOWHERE}/fin",
        only(ADMIN, 404),
    ),
    "lifecycle.networks": ("GET", f"/admin/etablissements/{NOWHERE}/reseaux", only(ADMIN, 404)),
    "lifecycle.checklist_settings": (
        "GET",
        "/admin/parametres/liste-de-sortie",
        only(ADMIN, 200),
    ),
    # Already the default list: nothing to undo, back to the page.
    "lifecycle.checklist_reset": (
        "POST",
        "/admin/parametres/liste-de-sortie/par-defaut",
        only(ADMIN, 302),
    ),
    "lifecycle.my_release": ("GET", "/ma-sortie", person_only(200)),
    "lifecycle.close": ("GET", "/compte/fermer", person_only(200)),
}
