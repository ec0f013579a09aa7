"""The server key ring: versions, the outer wrapping layer, rotation."""

from __future__ import annotations

import base64
import os

import pytest

from crypto import FormatError, IntegrityError, KeyRing, WrongKeyError

AAD = b"wrapped_dek|42|owner|1"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_generate_string_starts_and_extends_a_ring() -> None:
    first = KeyRing.generate_string()
    assert first.startswith("1:")
    ring = KeyRing.from_string(first)
    assert ring.versions == (1,)
    assert ring.current_version == 1
    second = KeyRing.generate_string(first)
    assert second.startswith(first + ",2:")
    rotated = KeyRing.from_string(second)
    assert rotated.versions == (1, 2)
    assert rotated.current_version == 2


def test_wrap_embeds_the_version_and_unwraps() -> None:
    ring = KeyRing({1: os.urandom(32), 7: os.urandom(32)})
    blob = ring.wrap(b"secret", AAD)
    assert blob[0] == 1
    assert ring.version_of(blob) == 7
    assert ring.unwrap(blob, AAD) == b"secret"
    assert not ring.needs_rewrap(blob)


def test_rotation_rewraps_old_rows_to_the_current_version() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    before = KeyRing({1: old_key})
    blob = before.wrap(b"wrapped dek", AAD)
    after = KeyRing.from_string(f"1:{b64(old_key)},2:{b64(new_key)}")
    assert after.needs_rewrap(blob)
    rewrapped = after.rewrap(blob, AAD)
    assert after.version_of(rewrapped) == 2
    assert after.unwrap(rewrapped, AAD) == b"wrapped dek"
    # Once every row is rewrapped, version 1 can leave the ring.
    assert KeyRing({2: new_key}).unwrap(rewrapped, AAD) == b"wrapped dek"
    # Running the rotation again changes nothing.
    assert after.rewrap(rewrapped, AAD) == rewrapped
    with pytest.raises(IntegrityError):
        after.rewrap(blob, b"another row")


def test_explicit_current_version() -> None:
    ring = KeyRing({1: os.urandom(32), 2: os.urandom(32)}, current_version=1)
    assert ring.version_of(ring.wrap(b"x", AAD)) == 1


def test_unknown_version_is_a_wrong_key() -> None:
    blob = KeyRing({3: os.urandom(32)}).wrap(b"x", AAD)
    with pytest.raises(WrongKeyError, match="no version 3"):
        KeyRing({1: os.urandom(32)}).unwrap(blob, AAD)


def test_tampering_is_rejected() -> None:
    ring = KeyRing({1: os.urandom(32), 2: os.urandom(32)}, current_version=1)
    blob = ring.wrap(b"x" * 40, AAD)
    with pytest.raises(IntegrityError):
        ring.unwrap(blob, AAD + b"!")
    with pytest.raises(IntegrityError):
        KeyRing({1: os.urandom(32)}).unwrap(blob, AAD)
    for position in range(1, len(blob)):
        altered = bytearray(blob)
        altered[position] ^= 1
        # A flipped version bit names version 0, 3, 5, ... (unknown) or 2 (wrong key).
        with pytest.raises(IntegrityError):
            ring.unwrap(bytes(altered), AAD)
    with pytest.raises(FormatError):
        ring.unwrap(b"\x02" + blob[1:], AAD)
    with pytest.raises(FormatError):
        ring.unwrap(blob[: 5 + 12 + 15], AAD)
    with pytest.raises(FormatError):
        ring.needs_rewrap(b"")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1:",
        "x:" + b64(bytes(32)),
        "0:" + b64(bytes(32)),
        "4294967296:" + b64(bytes(32)),
        "1:" + b64(bytes(31)),
        "1:" + b64(bytes(32)) + ",1:" + b64(bytes(32)),
        "1:" + b64(bytes(32)) + ",",
        "1:not*base64",
        "1:abcde",
    ],
)
def test_from_string_rejects_bad_settings(text: str) -> None:
    with pytest.raises(FormatError):
        KeyRing.from_string(text)


def test_from_string_is_lenient_on_spacing_and_base64_flavour() -> None:
    key = bytes(range(200, 232))
    urlsafe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    ring = KeyRing.from_string(f" 2 : {urlsafe} , 1:{b64(os.urandom(32))}\n")
    assert ring.current_version == 2
    assert KeyRing({2: key}).unwrap(ring.wrap(b"x", AAD), AAD) == b"x"


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        KeyRing({})
    with pytest.raises(ValueError):
        KeyRing({0: bytes(32)})
    with pytest.raises(ValueError):
        KeyRing({1: bytes(16)})
    with pytest.raises(ValueError):
        KeyRing({1: bytes(32)}, current_version=2)
    with pytest.raises(FormatError):
        KeyRing.generate_string("garbage")


def test_repr_shows_no_key() -> None:
    key = os.urandom(32)
    text = repr(KeyRing({1: key}))
    assert text == "KeyRing(versions=[1], current=1)"
    assert b64(key) not in text
