"""Blueprints; each module is thin and delegates to services."""

from __future__ import annotations

from flask import Flask

from vault.views import main


def init_app(app: Flask) -> None:
    app.register_blueprint(main.bp)
