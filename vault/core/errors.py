"""Errors services raise; views translate them into French messages.

`NotFound` needs no translating: the app answers it with the 404 page
(vault.core.error_pages), so a view lets it through.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


class ServiceError(Exception):
    """A business rule refused the operation; `code` says which."""

    code = "error"

    def __init__(self, code: str | None = None) -> None:
        super().__init__(code or self.code)
        if code:
            self.code = code


class NotFound(ServiceError):
    """The thing does not exist or is not the actor's (answered as 404)."""

    code = "not_found"


class SignInRefused(ServiceError):
    """Wrong username, code or passphrase; deliberately says no more than that."""

    code = "refused"


class Throttled(ServiceError):
    """Too many failures for this username: wait `retry_after` seconds."""

    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class PolicyError(ServiceError):
    """A passphrase or form value breaks a rule; `problems` lists the codes."""

    code = "policy"

    def __init__(self, problems: list[str]) -> None:
        super().__init__()
        self.problems = problems


class QuotaExceeded(ServiceError):
    """The vault has no room left for this file; `blobs` were written and must go."""

    code = "quota"

    def __init__(self, blobs: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.blobs = blobs or []


def owned_or_404(db: Session, model: type[T], key: Any, **columns: object) -> T:
    """The `model` row with primary key `key` whose `columns` hold the values given, or NotFound.

    `owned_or_404(db, Document, document_id, vault_id=owner.vault_id)`: a row
    that exists but belongs to someone else is answered exactly like one that
    does not exist, so an identifier tried from another account tells nothing.
    """
    if key is None:
        raise NotFound()
    row = db.get(model, key)
    if row is None or any(getattr(row, name) != value for name, value in columns.items()):
        raise NotFound()
    return row
