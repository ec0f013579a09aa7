"""Forms of the recovery pages: the recovery kit, the officers' identity check."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from vault.core.digits import DateField, ascii_digits
from vault.core.forms import REQUIRED
from vault.recovery.identity import ID_DOCUMENTS

ID_DOCUMENT_LABELS: dict[str, LazyString] = {
    "id_card": _l("Identity card"),
    "passport": _l("Passport"),
    "residence_permit": _l("Residence permit"),
    "driving_licence": _l("Driving licence"),
    "other": _l("Other official document with a photo"),
}
assert set(ID_DOCUMENT_LABELS) == set(ID_DOCUMENTS)

# The check is recorded on the day or shortly after, never for a future date.
CHECK_MAX_AGE = timedelta(days=30)


class RecoveryForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    username = StringField(_l("Username"), [DataRequired(REQUIRED), Length(max=64)])
    # Generous: spaces, dashes and full-width digits are normalised by the service.
    code = StringField(
        _l("Recovery code"), [DataRequired(REQUIRED), Length(max=200)], filters=[ascii_digits]
    )


class RenewKitForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    """A new recovery sheet on the person's request: their current phrase first (D-090)."""

    passphrase = PasswordField(_l("Your secret phrase"), [DataRequired(REQUIRED), Length(max=1024)])


class OfficerSearchForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    class Meta:
        csrf = False

    q = StringField(_l("Name, username or prison number"), [Optional(), Length(max=100)])


class IdentityCheckForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    document = SelectField(
        _l("Identity document seen"),
        [DataRequired(REQUIRED)],
        choices=[SelectChoice(code, label) for code, label in ID_DOCUMENT_LABELS.items()],
    )
    last4 = StringField(
        _l("Last 4 characters of its number"),
        [
            DataRequired(REQUIRED),
            Regexp(r"^\s*[A-Za-z0-9]{4}\s*$", message=_l("Type 4 letters or digits.")),
        ],
    )
    seen_on = DateField(_l("Date of the check"), [DataRequired(REQUIRED)])
    present = BooleanField(
        _l("The person was in front of me and the photo matches."),
        [DataRequired(_l("Check the person's identity in person first."))],
    )

    def validate_seen_on(self, field: DateField) -> None:
        today = date.today()
        if field.data and not today - CHECK_MAX_AGE <= field.data <= today:
            raise ValidationError(_l("The check must be from the last 30 days."))
