"""Forms of the lifecycle pages: transfer, release, follow-up, networks, closing a vault.

The checklist editor has a variable number of rows and reads its fields from
the request itself (lifecycle/views/admin_settings.py); it only needs the CSRF token here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from vault.core.digits import DateField
from vault.core.forms import REQUIRED

NETWORKS_MAX = 4000


class TransferForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    establishment = SelectField(_l("New establishment"), [DataRequired(REQUIRED)])


class ReleaseForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    released_on = DateField(
        _l("Date of release"),
        [DataRequired(_l("Give the date of release, e.g. 14/03/2026."))],
    )
    followup = RadioField(
        _l("Does the follow-up continue after release?"),
        choices=[
            SelectChoice("yes", _l("Yes: the counsellors keep following this person")),
            SelectChoice("no", _l("No: the counsellors' access ends after the grace period")),
        ],
        validators=[DataRequired(_l("Choose whether the follow-up continues."))],
    )


class FollowupForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    followup = RadioField(
        _l("Follow-up after release"),
        choices=[
            SelectChoice("yes", _l("The follow-up continues")),
            SelectChoice("no", _l("The follow-up has ended")),
        ],
        validators=[DataRequired(_l("Choose whether the follow-up continues."))],
    )


class NetworksForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    networks = TextAreaField(
        _l("Networks of the establishment (one per line)"), [Length(max=NETWORKS_MAX)]
    )
    restrict = BooleanField(_l("While detained here, people sign in only from these networks"))


class CloseVaultForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    understood = BooleanField(
        _l("I understand: my documents will be deleted for good. Nobody can bring them back."),
        [DataRequired(_l("Tick the box to confirm."))],
    )
    passphrase = PasswordField(_l("Your secret phrase"), [DataRequired(REQUIRED), Length(max=1024)])
