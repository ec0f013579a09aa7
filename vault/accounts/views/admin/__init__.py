"""Administrators: accounts, activation sheets, assignments, establishments.

Administrators open accounts, print activation sheets, assign counsellors and
set each establishment's rule for external links; they never see a document
or anything encrypted (docs/architecture.md §3). One blueprint ("admin"), its routes in
one module per subject; importing this package registers them all.
"""

from __future__ import annotations

from vault.accounts.followups import end_followup
from vault.accounts.labels import ROLE_LABELS, role_label, status_label
from vault.accounts.views.admin import account_pages, assignments, establishments, staff
from vault.accounts.views.admin.blueprint import bp

# role_label, status_label and end_followup are re-exported under their old
# home for code that has not moved to vault.accounts.labels / followups yet.
__all__ = [
    "ROLE_LABELS",
    "account_pages",
    "assignments",
    "bp",
    "end_followup",
    "establishments",
    "role_label",
    "staff",
    "status_label",
]
