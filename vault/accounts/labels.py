"""How accounts are named on pages and sheets: roles and statuses, in French."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from vault.models import AccountStatus, Role, User
from vault.models.base import utcnow

ROLE_LABELS: dict[str, LazyString] = {
    Role.PERSON: _l("Vault holder"),
    Role.COUNSELLOR: _l("Counsellor"),
    Role.ADMINISTRATOR: _l("Administrator"),
    Role.RECOVERY_OFFICER: _l("Recovery officer"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(user: User) -> tuple[str, str]:
    """(CSS modifier, French label) of the account's status."""
    if user.status == AccountStatus.PENDING:
        expires = user.activation_expires_at
        if expires is not None and expires < utcnow():
            return "expired", _("Activation code expired")
        return "pending", _("Waiting for activation")
    if user.status == AccountStatus.ACTIVE:
        return "active", _("Active")
    return "disabled", _("Disabled")
