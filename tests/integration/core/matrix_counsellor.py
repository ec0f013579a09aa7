"""Authorization matrix lines for the counsellor side (merged by the matrix test).

In the world, the counsellor follows the owner, who shares `{doc}` with them;
the other person is followed by nobody. `{link}` is active (the owner has no
establishment, so no approval applies): deciding it is 404 even for the
counsellor. Routes naming an assignment or an establishment use an id that
exists nowhere (`NOWHERE`): the world has neither, and what an administrator
gets for a real one is in test_assignments.py.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import ADMIN, ANONYMOUS, COUNSELLOR, OTHER, OWNER, only

NOWHERE = "00000000-0000-4000-8000-000000000000"


def staff(counsellor: int, administrator: int) -> dict[str, int]:
    """Pages for counsellors and administrators alike (deposits)."""
    return {
        ANONYMOUS: 302,
        OWNER: 403,
        OTHER: 403,
        COUNSELLOR: counsellor,
        ADMIN: administrator,
    }


# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    # counsellor.index keeps its line in test_authorization_matrix.py.
    "counsellor.person": ("GET", "/suivi/{person}/", only(COUNSELLOR, 200)),
    "counsellor.document": ("GET", "/suivi/{person}/documents/{doc}", only(COUNSELLOR, 200)),
    "counsellor.download": (
        "GET",
        "/suivi/{person}/documents/{doc}/telecharger",
        only(COUNSELLOR, 200),
    ),
    "counsellor.request_form": ("GET", "/suivi/{person}/demander", only(COUNSELLOR, 200)),
    # No document type chosen: the form comes back with its error, nothing is created.
    "counsellor.send_request": ("POST", "/suivi/{person}/demander", only(COUNSELLOR, 400)),
    "counsellor.links": ("GET", "/suivi/liens", only(COUNSELLOR, 200)),
    "counsellor.approve_link": ("POST", "/suivi/liens/{link}/accepter", only(COUNSELLOR, 404)),
    "counsellor.refuse_link": ("POST", "/suivi/liens/{link}/refuser", only(COUNSELLOR, 404)),
    "deposits.form": ("GET", "/depots/{person}", staff(200, 200)),
    # A form post without a file: refused with the form's message, nothing stored.
    "deposits.upload": ("POST", "/depots/{person}", staff(400, 400)),
    # No counsellor chosen: the page comes back with its error.
    "admin.assign": ("POST", "/admin/comptes/{user}/suivis", only(ADMIN, 400)),
    "admin.end_assignment": (
        "POST",
        f"/admin/comptes/{{user}}/suivis/{NOWHERE}/fin",
        only(ADMIN, 404),
    ),
    "admin.establishment": ("GET", f"/admin/etablissements/{NOWHERE}", only(ADMIN, 404)),
    # A page of a shared document, shown inline (D-101): the counsellor it is shared with only.
    "counsellor.page": (
        "GET",
        "/suivi/{person}/documents/{doc}/page/1",
        only(COUNSELLOR, 200),
    ),
}
