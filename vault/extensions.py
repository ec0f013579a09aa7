"""Binds the app's collaborators onto `app.extensions`; nothing lives at module level.

`crypto/` and `storage/` never look at Flask: the app builds them from the
settings here and hands them to services as arguments.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect

import storage
from crypto import KeyRing
from vault.config import ConfigError, Settings
from vault.db import Database

DEFAULT_LOCALE = "fr"
TRANSLATIONS = "translations"  # relative to the app's root_path (vault/)


def init_app(app: Flask, settings: Settings) -> None:
    Database(settings.database_url).init_app(app)
    try:
        app.extensions["vault.store"] = storage.open_store(settings.storage_url)
    except storage.StorageConfigError as e:
        raise ConfigError("VAULT_STORAGE_URL", str(e)) from e

    # Outer layer over every stored key blob (DESIGN.md §2.2).
    app.extensions["vault.keyring"] = KeyRing.from_string(settings.server_keys)

    CSRFProtect(app)
    app.config.update(
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        BABEL_TRANSLATION_DIRECTORIES=TRANSLATIONS,
    )
    # French is the interface language; other locales come with their catalogues.
    Babel(app, locale_selector=lambda: DEFAULT_LOCALE)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or DEFAULT_LOCALE)


def get_settings(app: Flask | None = None) -> Settings:
    settings: Settings = (app or current_app).extensions["vault.settings"]
    return settings


def get_keyring(app: Flask | None = None) -> KeyRing:
    keyring: KeyRing = (app or current_app).extensions["vault.keyring"]
    return keyring


def get_store(app: Flask | None = None) -> storage.BlobStore:
    store: storage.BlobStore = (app or current_app).extensions["vault.store"]
    return store
