"""The ring rotation re-wraps each kind of row with the associated data it was written with.

Each expected value is the expression the code wrote before the labels moved
to vault/core/envelope.py (sharing's deposit, documents' ring label, the
journal head, the link and slot labels): a re-wrap under other bytes would
leave every row of that kind unreadable.
"""

from __future__ import annotations

import uuid

from vault.core import rotation
from vault.models import SlotKind

USER = uuid.UUID("0b9c1f2e-3d4a-4b5c-8d6e-7f8091a2b3c4")
ROW = uuid.UUID("5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d")
DOCUMENT = uuid.UUID("c0ffee00-1234-4567-89ab-cdef01234567")
DIGEST = "ab" * 32


def kind(name: str) -> rotation.Kind:
    return next(k for k in rotation.KINDS if k.name == name)


def test_every_kind_keeps_the_associated_data_its_rows_were_written_with() -> None:
    expected = {
        "key slots": (
            (USER, SlotKind.PASSWORD),
            b"vault/slot|" + USER.bytes + b"|" + b"password",
        ),
        "document keys": ((ROW,), b"vault/version-dek|" + ROW.bytes),
        "deposit keys": ((DOCUMENT,), b"vault/deposit-dek|" + DOCUMENT.bytes),
        "journal heads": (
            (USER, 42, DIGEST),
            b"vault/journal-head|" + USER.bytes + (42).to_bytes(8, "big") + DIGEST.encode(),
        ),
        "link keys": ((ROW,), b"vault/link|" + ROW.bytes),
    }
    assert {k.name for k in rotation.KINDS} == set(expected)
    for name, (arguments, aad) in expected.items():
        assert kind(name).aad(*arguments) == aad, name


def test_a_slot_kind_read_as_its_enum_gives_the_same_bytes_as_the_string() -> None:
    # KeySlot.kind is read back as a SlotKind member since the StrEnum columns.
    slots = kind("key slots")
    for member in SlotKind:
        assert slots.aad(USER, member) == slots.aad(USER, member.value)
