"""Administrators: accounts, activation sheets, assignments, establishments.

Administrators open accounts, print activation sheets, assign counsellors and
set each establishment's rule for external links; they never see a document
or anything encrypted (docs/architecture.md §3). One blueprint ("admin"), its routes in one
module per subject; importing this package registers them all.
"""

from __future__ import annotations

from vault.accounts.views.admin import account_pages, assignments, establishments, staff
from vault.accounts.views.admin.blueprint import bp

__all__ = ["account_pages", "assignments", "bp", "establishments", "staff"]
