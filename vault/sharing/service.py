"""The sharing feature's services in one namespace, for its many callers.

The code lives where each concept is: assignments and share-key grants in
vault.access (below the documents), shares in vault.sharing.shares, what a
counsellor reads in vault.sharing.reading, requests in vault.sharing.requests,
deposits in vault.documents.deposits. Views, commands and tests reach them as
`sharing.<name>` through this module; new code should import from the module
that owns the name.
"""

from __future__ import annotations

from vault.access.assignments import active_assignment as active_assignment
from vault.access.assignments import assign as assign
from vault.access.assignments import assignment_history as assignment_history
from vault.access.assignments import caseload_page as caseload_page
from vault.access.assignments import counsellors_of as counsellors_of
from vault.access.assignments import people_of as people_of
from vault.access.grants import end_assignment as end_assignment
from vault.access.rules import share_is_active as share_is_active
from vault.core.envelope import request_message_context as message_context
from vault.documents.deposits import deposit_document as deposit_document
from vault.documents.deposits import take_in_deposits as take_in_deposits
from vault.sharing.reading import OpenedShare as OpenedShare
from vault.sharing.reading import open_shared as open_shared
from vault.sharing.reading import shared_count as shared_count
from vault.sharing.reading import shared_with as shared_with
from vault.sharing.requests import MenuCounts as MenuCounts
from vault.sharing.requests import answer_request as answer_request
from vault.sharing.requests import menu_counts as menu_counts
from vault.sharing.requests import open_requests as open_requests
from vault.sharing.requests import open_requests_count as open_requests_count
from vault.sharing.requests import request_document as request_document
from vault.sharing.requests import request_messages as request_messages
from vault.sharing.shares import active_shares as active_shares
from vault.sharing.shares import revoke as revoke
from vault.sharing.shares import share_category as share_category
from vault.sharing.shares import share_document as share_document

__all__ = [
    "MenuCounts",
    "OpenedShare",
    "active_assignment",
    "active_shares",
    "answer_request",
    "assign",
    "assignment_history",
    "caseload_page",
    "counsellors_of",
    "deposit_document",
    "end_assignment",
    "menu_counts",
    "message_context",
    "open_requests",
    "open_requests_count",
    "open_shared",
    "people_of",
    "request_document",
    "request_messages",
    "revoke",
    "share_category",
    "share_document",
    "share_is_active",
    "shared_count",
    "shared_with",
    "take_in_deposits",
]
