"""The lifecycle pages' blueprint and what its route modules share.

The "lifecycle" blueprint spans person_way.py (an administrator's page of a
person: transfer, release, follow-up), admin_settings.py (establishments'
networks, the release checklist) and own_release.py (the person's release
page, closing the vault); the package's __init__ imports them so that their
routes are registered.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, to_user_timezone
from flask_babel.speaklater import LazyString

from vault.lifecycle import service as lifecycle
from vault.models import Lifecycle
from vault.models.base import utcnow

bp = Blueprint("lifecycle", __name__)

LIFECYCLE_LABELS: dict[str, LazyString] = {
    Lifecycle.DETAINED: _l("Detained"),
    Lifecycle.TRANSFERRED: _l("Detained (transferred)"),
    Lifecycle.RELEASED: _l("Released"),
    Lifecycle.CLOSED: _l("Vault closed"),
}


def today() -> date:
    """Today in the interface's time zone (release dates are local dates)."""
    local: datetime = to_user_timezone(utcnow())
    return local.date()


def refusal(code: str) -> str:
    """What to tell an administrator whose change the lifecycle service refused (by its code)."""
    messages = {
        "closed": _("This vault is closed. Nothing can be recorded for it any more."),
        "released": _(
            "This person is already released. A transfer or a release is recorded only "
            "during detention."
        ),
        "not_released": _("The follow-up after release can be set once the release is recorded."),
        "same_establishment": _("This person is already at this establishment."),
        "unknown_establishment": _("Choose an establishment from the list."),
        "future_date": _(
            "The date of release cannot be in the future. Record the release on the day it "
            "happens, or after."
        ),
        "too_old": _("This date of release is not possible. Check the year."),
        "no_networks": _(
            "Write at least one network before limiting sign-in to them: otherwise nobody "
            "detained here could sign in."
        ),
        "too_many": ngettext(
            "Write at most %(num)d network.",
            "Write at most %(num)d networks.",
            lifecycle.MAX_NETWORKS,
        ),
    }
    return str(messages.get(code, _("This could not be recorded.")))
