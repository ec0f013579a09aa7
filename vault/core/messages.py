"""French messages for service error codes, in one place."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext


def passphrase_problems(codes: list[str]) -> list[str]:
    texts = {
        "too_short": _("Your secret phrase needs at least 8 characters."),
        "too_long": _("Your secret phrase is too long."),
        "common": _("This secret phrase is too common: anyone could guess it. Choose another."),
        "username": _("Your secret phrase must not contain your username."),
        "personal": _(
            "This secret phrase is made of your name, your date of birth or your prison "
            "number: people who know you could guess it. Add words that have nothing to do "
            "with you, or take the idea shown on this page."
        ),
        "weak": _(
            "This secret phrase is too easy to guess. Use three or four words that have "
            "nothing to do with each other, or take the idea shown on this page."
        ),
    }
    return [texts.get(code, _("Choose another secret phrase.")) for code in codes]


def too_many_attempts(retry_after: int) -> str:
    """For a Throttled error: the wait in whole minutes, never "0 minutes"."""
    minutes = max(1, (retry_after + 59) // 60)
    return str(
        ngettext(
            "Too many attempts. Please wait %(num)d minute and try again.",
            "Too many attempts. Please wait %(num)d minutes and try again.",
            minutes,
        )
    )
