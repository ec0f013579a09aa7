"""The app binds its collaborators from the settings."""

from __future__ import annotations

from flask import Flask

from crypto import KeyRing
from vault.core.extensions import get_keyring, get_settings, get_store


def test_key_ring_store_and_settings_are_bound(app: Flask) -> None:
    settings = get_settings(app)
    keyring = get_keyring(app)
    assert keyring.current_version == KeyRing.from_string(settings.server_keys).current_version
    blob = keyring.wrap(b"k" * 32, b"blobs|1|dek|1")
    assert KeyRing.from_string(settings.server_keys).unwrap(blob, b"blobs|1|dek|1") == b"k" * 32
    assert get_store(app).describe() == settings.storage_url
