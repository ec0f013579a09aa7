"""The interface languages: one registry, so that adding one is one line here
and one catalogue under vault/translations/ (docs/translations.md).

French comes first: it is the default, the staff's language, and the second
language of every printed sheet. Each language is named in its own script, as
the switcher shows it to someone who may read no other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # a Babel locale identifier, also the catalogue's folder name
    name: str  # the language's own name, in its own script
    rtl: bool = False

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES: tuple[Language, ...] = (
    Language("fr", "Français"),
    Language("ar", "العربية", rtl=True),
    Language("en", "English"),
    Language("es", "Español"),
    Language("ro", "Română"),
    Language("pt", "Português"),
    Language("ru", "Русский"),
)

DEFAULT = LANGUAGES[0]
BY_CODE: dict[str, Language] = {language.code: language for language in LANGUAGES}
CODES: tuple[str, ...] = tuple(BY_CODE)


def language(code: str | None) -> Language:
    """The registered language for `code`, or French for anything else."""
    return BY_CODE.get(code or "", DEFAULT)
