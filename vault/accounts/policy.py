"""What a chosen passphrase must respect, beyond its strength alone (accounts/passphrases.py)."""

from __future__ import annotations

from vault.accounts.passphrases import check_passphrase
from vault.core.errors import PolicyError
from vault.models import User


def clean_passphrase(passphrase: str) -> str:
    """Spaces around a passphrase are ignored, when it is chosen and when it is typed.

    A paste often brings a trailing space or newline; inner spaces count.
    """
    return passphrase.strip()


def personal_words(user: User) -> list[str]:
    """What someone who knows the person would try first, as context for a passphrase's strength.

    Names, username, date of birth (as people write it), prison number.
    """
    words = [user.username, user.display_name]
    profile = user.profile
    if profile is not None:
        words += [profile.first_name, profile.last_name, profile.prison_number or ""]
        born = profile.birth_date
        if born is not None:
            words += [str(born.year), born.isoformat()]
            words += [born.strftime(f) for f in ("%d%m%Y", "%d%m%y", "%d/%m/%Y", "%Y%m%d")]
    return [word for word in words if word]


def check_policy(passphrase: str, user: User) -> None:
    """Raise PolicyError with the problem codes if `user` may not choose `passphrase`."""
    problems = check_passphrase(passphrase, username=user.username, personal=personal_words(user))
    if problems:
        raise PolicyError(problems)
