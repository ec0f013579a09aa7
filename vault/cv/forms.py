"""The builders' forms, one per step (Flask-WTF: a CSRF token on every one).

Every check says what to change, in French, next to the field. Contact
details and the places of work or training must not name the establishment
(vault.cv.content.names_establishment): a CV goes to employers, and the step
explains why and proposes neutral wording (D-133).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from vault.core.forms import REQUIRED
from vault.cv.content import (
    LABEL_LANGUAGES,
    LANGUAGE_LEVELS,
    LICENCES,
    MAX_ITEMS,
    SKILL_LABELS,
    TEMPLATES,
    names_establishment,
    valid_email,
    valid_phone,
)

NO_ESTABLISHMENT = _l(
    "Do not name the prison or say “detention”: write for example “Production workshop”."
)
TOO_LONG = _l("This is too long: at most %(max)d characters.")


def _choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in pairs]


NOT_IN_LIST = _l("Choose from the list.")


def in_list(_form: Any, field: Field) -> None:
    """Every value chosen is one of the field's choices (in French, unlike WTForms' own)."""
    allowed = {choice.value for choice in field.choices}
    chosen = field.data if isinstance(field.data, list) else [field.data]
    if any(value not in allowed for value in chosen):
        raise ValidationError(NOT_IN_LIST)


def _length(most: int) -> Length:
    return Length(max=most, message=TOO_LONG)


def neutral(_form: Any, field: Field) -> None:
    if field.data and names_establishment(str(field.data)):
        raise ValidationError(NO_ESTABLISHMENT)


class IdentityForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    first_name = StringField(_l("First name"), [DataRequired(REQUIRED), _length(80), neutral])
    last_name = StringField(_l("Last name"), [DataRequired(REQUIRED), _length(80), neutral])
    phone = StringField(_l("Phone (optional)"), [Optional(), _length(30), neutral])
    email = StringField(_l("E-mail (optional)"), [Optional(), _length(120), neutral])
    town = StringField(_l("Town after release (optional)"), [Optional(), _length(80), neutral])

    def validate_phone(self, field: StringField) -> None:
        if field.data and not valid_phone(field.data):
            raise ValidationError(_l("Write a phone number, for example 06 12 34 56 78."))

    def validate_email(self, field: StringField) -> None:
        if field.data and not valid_email(field.data):
            raise ValidationError(_l("Write an e-mail address, for example nom@exemple.fr."))


class JobForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    title = StringField(_l("Job you are looking for"), [DataRequired(REQUIRED), _length(120)])
    summary = TextAreaField(
        _l("Who you are at work, in one or two sentences (optional)"),
        [Optional(), _length(400), neutral],
    )


class ExperienceItem(Form):  # type: ignore[misc]  # WTForms is untyped
    title = StringField(_l("Job or task"), [_length(120), neutral])
    place = StringField(_l("Where (without naming the establishment)"), [_length(120), neutral])
    dates = StringField(_l("When"), [_length(40)])
    details = TextAreaField(_l("What you did (optional)"), [_length(600), neutral])

    def validate_title(self, field: StringField) -> None:
        if not (field.data or "").strip() and any(
            (f.data or "").strip() for f in (self.place, self.dates, self.details)
        ):
            raise ValidationError(_l("Write the job or the task."))


class TrainingItem(Form):  # type: ignore[misc]  # WTForms is untyped
    title = StringField(_l("Diploma or training"), [_length(120), neutral])
    place = StringField(_l("Where (without naming the establishment)"), [_length(120), neutral])
    year = StringField(_l("Year"), [_length(20)])

    def validate_title(self, field: StringField) -> None:
        if not (field.data or "").strip() and any(
            (f.data or "").strip() for f in (self.place, self.year)
        ):
            raise ValidationError(_l("Write the diploma or the training."))


class LanguageItem(Form):  # type: ignore[misc]  # WTForms is untyped
    language = StringField(_l("Language"), [_length(60)])
    level = SelectField(
        _l("Level"),
        [in_list],
        choices=_choices([("", _l("Choose a level")), *LANGUAGE_LEVELS]),
        validate_choice=False,
    )

    def validate_language(self, field: StringField) -> None:
        if not (field.data or "").strip() and self.level.data:
            raise ValidationError(_l("Write the language."))


class ExperienceForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    items = FieldList(FormField(ExperienceItem), min_entries=1, max_entries=MAX_ITEMS)


class TrainingForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    items = FieldList(FormField(TrainingItem), min_entries=1, max_entries=MAX_ITEMS)


class LanguagesForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    items = FieldList(FormField(LanguageItem), min_entries=1, max_entries=MAX_ITEMS)


class SkillsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    picked = SelectMultipleField(
        _l("Skills"), [in_list], choices=_choices(SKILL_LABELS.items()), validate_choice=False
    )
    other = TextAreaField(
        _l("Other skills, one per line (optional)"), [Optional(), _length(400), neutral]
    )


class LicenceForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    kinds = SelectMultipleField(
        _l("Driving licence"), [in_list], choices=_choices(LICENCES), validate_choice=False
    )


class InterestsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    interests = TextAreaField(_l("Your interests (optional)"), [Optional(), _length(300), neutral])


class FinishForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    template = RadioField(
        _l("Model"), [in_list], choices=_choices(TEMPLATES), default="sober", validate_choice=False
    )
    labels = RadioField(
        _l("Language of the titles"),
        [in_list],
        choices=_choices(LABEL_LANGUAGES),
        default="fr",
        validate_choice=False,
    )


class LetterJobForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    title = StringField(_l("Job"), [DataRequired(REQUIRED), _length(120)])
    employer = StringField(_l("Employer"), [DataRequired(REQUIRED), _length(120)])
    town = StringField(_l("Employer's town (optional)"), [Optional(), _length(80)])
    name = StringField(_l("Your first and last name"), [DataRequired(REQUIRED), _length(120)])


class ParagraphForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    paragraph = TextAreaField(
        _l("Your paragraph"), [DataRequired(REQUIRED), _length(1200), neutral]
    )


class LetterFinishForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    """Only the CSRF token: the letter is already written."""
