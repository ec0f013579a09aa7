"""Authorization matrix lines for the person side of sharing (merged by the matrix test).

The owner's POSTs carry only the CSRF token: forms with required fields answer
400 (nothing changed), confirmations answer 302. Another person gets 404 on
anything named by an id of the owner's vault. The public link page answers
everyone alike: the token is the only credential.
"""

from __future__ import annotations

from tests.integration.core.matrix_roles import everyone, person_only

# endpoint -> (method, path template, {role: expected status}); see matrix_roles.
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "sharing.shares": ("GET", "/partages/", person_only(200)),
    "sharing.share_document_form": ("GET", "/partages/document/{doc}", person_only(200, 404)),
    "sharing.share_document": ("POST", "/partages/document/{doc}", person_only(400, 404)),
    "sharing.share_category_form": ("GET", "/partages/categorie", person_only(200)),
    "sharing.share_category": ("POST", "/partages/categorie", person_only(400)),
    "sharing.revoke_confirm": ("GET", "/partages/{share}/retirer", person_only(200, 404)),
    "sharing.revoke": ("POST", "/partages/{share}/retirer", person_only(302, 404)),
    "sharing.requests_index": ("GET", "/demandes/", person_only(200)),
    "sharing.answer_form": ("GET", "/demandes/{request}", person_only(200, 404)),
    "sharing.answer": ("POST", "/demandes/{request}", person_only(400, 404)),
    "sharing.links_index": ("GET", "/liens/", person_only(200)),
    "sharing.link_form": ("GET", "/liens/nouveau/{doc}", person_only(200, 404)),
    "sharing.create_link": ("POST", "/liens/nouveau/{doc}", person_only(400, 404)),
    # The address is shown once, in the session that made the link: not this one.
    "sharing.link_created": ("GET", "/liens/{link}/adresse", person_only(302, 404)),
    "sharing.link_noted": ("POST", "/liens/{link}/adresse", person_only(302, 404)),
    "sharing.revoke_link_confirm": ("GET", "/liens/{link}/retirer", person_only(200, 404)),
    "sharing.revoke_link": ("POST", "/liens/{link}/retirer", person_only(302, 404)),
    "public_links.show": ("GET", "/lien/{token}", everyone(200)),
    "public_links.download": ("POST", "/lien/{token}", everyone(200)),
    # The page viewer (D-100): a page of one's own document only.
    "documents.page": ("GET", "/documents/{doc}/page/1", person_only(200, 404)),
}
