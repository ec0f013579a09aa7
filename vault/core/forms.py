"""Forms (Flask-WTF: CSRF token on every one). Messages are translated lazily."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import PasswordInput

from vault.core.catalog import CATEGORIES, CATEGORY_BY_CODE, DOCUMENT_TYPES
from vault.core.digits import DateField, ascii_digits
from vault.core.languages import DEFAULT as DEFAULT_LANGUAGE
from vault.core.languages import LANGUAGES
from vault.models import LinkPolicy, Role

REQUIRED = _l("Please fill in this field.")
# The expiry dates a paper may have.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2200, 1, 1)


class SignInForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    username = StringField(_l("Username"), [DataRequired(REQUIRED), Length(max=64)])
    passphrase = PasswordField(_l("Secret phrase"), [DataRequired(REQUIRED), Length(max=1024)])


class ActivationForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    username = StringField(_l("Username"), [DataRequired(REQUIRED), Length(max=64)])
    code = StringField(
        _l("Activation code"), [DataRequired(REQUIRED), Length(max=64)], filters=[ascii_digits]
    )


# A new phrase comes back in its fields after a mismatch or a refused phrase
# (issue 13, finding 8): typing four words again on a touch screen is where
# people give up. Only on the pages that choose a new phrase, answered no-store;
# a phrase that opens something (sign-in, current phrase) is never sent back.
KEPT_PASSPHRASE = PasswordInput(hide_value=False)


class ChoosePassphraseForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    passphrase = PasswordField(
        _l("Your secret phrase"), [DataRequired(REQUIRED)], widget=KEPT_PASSPHRASE
    )
    confirm = PasswordField(_l("Type it again"), [DataRequired(REQUIRED)], widget=KEPT_PASSPHRASE)

    def validate_confirm(self, field: PasswordField) -> None:
        if field.data != self.passphrase.data:
            raise ValidationError(_l("The two secret phrases are different."))


class ChangePassphraseForm(ChoosePassphraseForm):
    current = PasswordField(
        _l("Your current secret phrase"), [DataRequired(REQUIRED), Length(max=1024)]
    )


class EmptyForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    """Buttons that only need the CSRF token (sign out, confirm)."""


def _category_choices() -> list[SelectChoice]:
    return [SelectChoice(c.code, str(c.label)) for c in CATEGORIES]


def _type_choices() -> list[SelectChoice]:
    return [
        SelectChoice(code, str(label)) for types in DOCUMENT_TYPES.values() for code, label in types
    ]


class DocumentDetailsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    title = StringField(_l("Title"), [Optional(), Length(max=200)])
    category = SelectField(_l("Category"), [DataRequired(REQUIRED)])
    doc_type = SelectField(_l("Type of document"), [DataRequired(REQUIRED)])
    expiry_date = DateField(_l("Expiry date (if any)"), [Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices()
        self.doc_type.choices = _type_choices()

    def validate_expiry_date(self, field: DateField) -> None:
        if field.data and not EARLIEST_DATE <= field.data <= LATEST_DATE:
            raise ValidationError(_l("This date is not possible."))


class NewAccountForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    role = SelectField(
        _l("Kind of account"),
        choices=[
            SelectChoice(Role.PERSON.value, _l("Person (vault holder)")),
            SelectChoice(Role.COUNSELLOR.value, _l("Counsellor")),
            SelectChoice(Role.ADMINISTRATOR.value, _l("Administrator")),
            # No recovery officer: only the operator opens them (vault recovery
            # create-officer), so that one administrator cannot be two officers.
        ],
    )
    first_name = StringField(_l("First name"), [DataRequired(REQUIRED), Length(max=100)])
    last_name = StringField(_l("Last name"), [DataRequired(REQUIRED), Length(max=100)])
    birth_date = DateField(_l("Date of birth"), [Optional()])
    prison_number = StringField(_l("Prison number"), [Optional(), Length(max=32)])
    establishment = SelectField(_l("Establishment"), [Optional()])
    # Each language in its own name: the administrator may ask the person to
    # point at theirs. Their sheets are printed in it and in French (D-173).
    locale = SelectField(
        _l("Language of the person"),
        choices=[SelectChoice(language.code, language.name) for language in LANGUAGES],
        default=DEFAULT_LANGUAGE.code,
    )


class EstablishmentForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    name = StringField(_l("Name of the establishment"), [DataRequired(REQUIRED), Length(max=200)])


class SearchForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    class Meta:
        csrf = False

    q = StringField(_l("Search"), [Optional(), Length(max=200)])
    category = HiddenField()


# --- counsellors and administrators (issue 5) ---------------------------------------------

REQUEST_MESSAGE_MAX = 500


def _grouped_type_choices() -> list[SelectChoice]:
    """Document types under their category, as <optgroup>s: easier to scan than 35 lines."""
    return [
        SelectChoice(code, str(label), optgroup=str(CATEGORY_BY_CODE[category].label))
        for category, types in DOCUMENT_TYPES.items()
        for code, label in types
    ]


class DocumentRequestForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    doc_type = SelectField(_l("Document you need"), [DataRequired(REQUIRED)])
    message = TextAreaField(
        _l("Message for the person (optional)"),
        [
            Optional(),
            Length(
                max=REQUEST_MESSAGE_MAX,
                message=_l("The message is too long (500 characters at most)."),
            ),
        ],
        render_kw={"maxlength": REQUEST_MESSAGE_MAX, "rows": 4},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.doc_type.choices = _grouped_type_choices()
        # Checked by the view, with a clearer message than WTForms' own.
        self.doc_type.validate_choice = False


class AssignCounsellorsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    # Choices are the counsellor accounts, set by the view; it checks them itself.
    counsellors = SelectMultipleField(_l("Counsellors to assign"), validate_choice=False)


EXTERNAL_LINK_POLICIES = tuple(LinkPolicy)


class LinkPolicyForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    external_links = RadioField(
        _l("External links while a person is detained here"),
        choices=[
            SelectChoice(LinkPolicy.OFF, _l("Not allowed")),
            SelectChoice(LinkPolicy.APPROVAL, _l("With the approval of a counsellor")),
            SelectChoice(LinkPolicy.ON, _l("Allowed")),
        ],
        validate_choice=False,
    )
