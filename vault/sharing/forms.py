"""Forms of the person's sharing pages: shares, request answers, external links.

Choices that depend on the person (their counsellors) are set by the view, so
an id that is not one of theirs fails validation and nothing is changed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from vault.core.catalog import CATEGORIES
from vault.core.digits import ascii_digits
from vault.core.forms import REQUIRED
from vault.sharing.links import MAX_DAYS

UNTIL_RELEASE = "release"
DEFAULT_DURATION = "90"
# Values are days, or UNTIL_RELEASE; the view turns them into service arguments.
DURATIONS = (
    SelectChoice("30", _l("1 month (30 days)")),
    SelectChoice("90", _l("3 months (90 days)")),
    SelectChoice(UNTIL_RELEASE, _l("Until my release")),
)
RECIPIENT_CHOICES = (
    SelectChoice("employer", _l("An employer")),
    SelectChoice("lawyer", _l("A lawyer")),
    SelectChoice("landlord", _l("A landlord")),
    SelectChoice("administration", _l("An administration")),
    SelectChoice("other", _l("Someone else")),
)
DEFAULT_LINK_DAYS = 7
CHOOSE = _l("Please choose one.")


class ShareForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    counsellor = RadioField(_l("With which counsellor?"), [InputRequired(CHOOSE)])
    duration = RadioField(
        _l("For how long?"),
        [InputRequired(CHOOSE)],
        choices=list(DURATIONS),
        default=DEFAULT_DURATION,
    )

    def set_counsellors(self, choices: list[SelectChoice], *, released: bool) -> None:
        self.counsellor.choices = choices
        if len(choices) == 1 and not self.counsellor.data:
            self.counsellor.data = choices[0].value
        if released:
            # After release an "until release" share would end at once.
            self.duration.choices = [c for c in DURATIONS if c.value != UNTIL_RELEASE]

    def days(self) -> tuple[int | None, bool]:
        """(days, until_release) for the sharing service."""
        if self.duration.data == UNTIL_RELEASE:
            return None, True
        return int(self.duration.data), False


class CategoryShareForm(ShareForm):
    category = RadioField(
        _l("Which category?"),
        [InputRequired(CHOOSE)],
        choices=[SelectChoice(c.code, c.label) for c in CATEGORIES],
    )


class AnswerForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    # Checked against the person's own vault by the view (404 otherwise).
    document = HiddenField(validators=[DataRequired(CHOOSE), Length(max=64)])


class LinkForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    recipient = RadioField(
        _l("Who is it for?"),
        [InputRequired(CHOOSE)],
        choices=list(RECIPIENT_CHOICES),
        default="employer",
    )
    days = IntegerField(
        _l("Number of days the link works"),
        [
            InputRequired(REQUIRED),
            NumberRange(1, MAX_DAYS, _l("Choose between 1 and %(max)d days.", max=MAX_DAYS)),
        ],
        default=DEFAULT_LINK_DAYS,
    )
    pin = StringField(
        _l("Code to open the link (optional)"),
        [Optional(), Regexp(r"^[0-9]{4,12}$", message=_l("The code has 4 to 12 digits."))],
        filters=[ascii_digits],
    )
    max_downloads = IntegerField(
        _l("Maximum number of downloads (optional)"),
        [Optional(), NumberRange(1, 100, _l("Choose between 1 and 100."))],
    )
    understood = BooleanField(_l("I understand"))


class OpenLinkForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    pin = StringField(_l("Code"), [Optional(), Length(max=20)], filters=[ascii_digits])
