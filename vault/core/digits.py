"""Digits as people type them: one normaliser for every code and date a form takes in.

A phone set to Arabic types Arabic-Indic digits (U+0660-0669, ٠١٢٣…) or
Eastern Arabic-Indic ones (U+06F0-06F9, ۰۱۲۳…, Persian and Urdu keyboards);
other scripts have their own decimal digits too. Codes are compared and
dates parsed as ASCII, so each intake (activation code, recovery code, link
code, typed dates; vault/core/forms.py and the feature forms) turns every
Unicode decimal digit into its ASCII digit first, nothing else changed. The
recovery code's own parser (crypto/recovery.py) does the same, and more.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from wtforms import DateField as _DateField


def ascii_digits(value: Any) -> Any:
    """`value` with every decimal digit in ASCII ("٢٠٢٦" becomes "2026"); non-text as is."""
    if not isinstance(value, str) or value.isascii():
        return value
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in value)


class DateField(_DateField):  # type: ignore[misc]  # WTForms is untyped
    """WTForms' DateField, reading a date typed with any script's digits.

    A `filters=` entry cannot do it: filters run after the text is parsed.
    """

    def process_formdata(self, valuelist: Sequence[str]) -> None:
        super().process_formdata([ascii_digits(value) for value in valuelist])
