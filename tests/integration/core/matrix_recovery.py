"""Authorization matrix lines for recovery (merged by the matrix test).

The person's pages are anonymous (they cannot sign in); the approvals are the
counsellor's; the officers' pages answer 403 to the five matrix roles (the
officers themselves are checked in test_recovery.py and test_escrow.py).
Request ids are `NOWHERE`: the world holds no recovery request, so even the
counsellor gets 404 for deciding one.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import COUNSELLOR, everyone, only, person_only, signed

NOWHERE = "00000000-0000-4000-8000-000000000000"

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "recovery.start": ("GET", "/recuperation", signed(200, 302)),
    # No code was accepted in this browser: back to the first step.
    "recovery.choose_passphrase": ("GET", "/recuperation/nouvelle-phrase", everyone(302)),
    "recovery.kit": ("GET", "/recuperation/feuille-de-secours", person_only(302)),
    "recovery.kit_pdf": ("GET", "/recuperation/feuille-de-secours.pdf", person_only(404)),
    "recovery.renew": ("GET", "/recuperation/nouvelle-feuille", person_only(200)),
    "recovery.approvals": ("GET", "/recuperation/approbations", only(COUNSELLOR, 200)),
    "recovery.approve": (
        "POST",
        f"/recuperation/approbations/{NOWHERE}/approuver",
        only(COUNSELLOR, 404),
    ),
    "recovery.decline": (
        "POST",
        f"/recuperation/approbations/{NOWHERE}/refuser",
        only(COUNSELLOR, 404),
    ),
    "recovery.officer_index": ("GET", "/recuperation/agents/", signed(302, 403)),
    "recovery.officer_person": (
        "GET",
        "/recuperation/agents/personnes/{person}",
        signed(302, 403),
    ),
    "recovery.officer_request": (
        "GET",
        f"/recuperation/agents/demandes/{NOWHERE}",
        signed(302, 403),
    ),
    "recovery.confirm": (
        "POST",
        f"/recuperation/agents/demandes/{NOWHERE}/confirmer",
        signed(302, 403),
    ),
    "recovery.cancel": (
        "POST",
        f"/recuperation/agents/demandes/{NOWHERE}/annuler",
        signed(302, 403),
    ),
}
