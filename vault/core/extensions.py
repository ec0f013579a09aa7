"""Binds the app's collaborators onto `app.extensions`; nothing lives at module level.

`crypto/` and `storage/` never look at Flask: the app builds them from the
settings here and hands them to services as arguments.
"""

from __future__ import annotations

import base64

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import storage
from crypto import KeyRing, PublicKey, load_public_key
from vault.core import languages
from vault.core.config import ConfigError, Settings
from vault.core.db import KEYRING, THROTTLE_SECRET, Database
from vault.core.throttle import derive_throttle_secret

DEFAULT_LOCALE = languages.DEFAULT.code
TRANSLATIONS = "translations"  # relative to the app's root_path (vault/)


def init_app(app: Flask, settings: Settings) -> None:
    # Outer layer over every stored key blob (docs/architecture.md §2.2).
    keyring = KeyRing.from_string(settings.server_keys)
    throttle_secret = derive_throttle_secret(settings.secret_key)
    # Every session carries both (see vault.core.db.Database).
    Database(
        settings.database_url, info={KEYRING: keyring, THROTTLE_SECRET: throttle_secret}
    ).init_app(app)
    try:
        app.extensions["vault.store"] = storage.open_store(settings.storage_url)
    except storage.StorageConfigError as e:
        raise ConfigError("VAULT_STORAGE_URL", str(e)) from e

    app.extensions["vault.keyring"] = keyring
    app.extensions["vault.escrow"] = load_public_key(base64.b64decode(settings.escrow_public_key))
    app.extensions["vault.throttle_secret"] = throttle_secret

    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )

    # Over HTTPS a POST must also carry a Referer of this very origin (Flask-WTF's
    # strict check, its default, kept explicit): a stolen token alone is not
    # enough from another site. Pages send it (Referrer-Policy: same-origin).
    app.config["WTF_CSRF_SSL_STRICT"] = True
    CSRFProtect(app)
    app.config.update(
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        BABEL_TRANSLATION_DIRECTORIES=TRANSLATIONS,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=False,
    )
    app.extensions["vault.limiter"] = Limiter(get_remote_address, app=app)
    # Flask-Babel itself, with each request's language, is set up by
    # vault.core.locale.init_app (through vault.core.templating).


def get_settings(app: Flask | None = None) -> Settings:
    settings: Settings = (app or current_app).extensions["vault.settings"]
    return settings


def get_keyring(app: Flask | None = None) -> KeyRing:
    keyring: KeyRing = (app or current_app).extensions["vault.keyring"]
    return keyring


def get_throttle_secret(app: Flask | None = None) -> bytes:
    secret: bytes = (app or current_app).extensions["vault.throttle_secret"]
    return secret


def get_escrow_key(app: Flask | None = None) -> PublicKey:
    key: PublicKey = (app or current_app).extensions["vault.escrow"]
    return key


def get_store(app: Flask | None = None) -> storage.BlobStore:
    store: storage.BlobStore = (app or current_app).extensions["vault.store"]
    return store
