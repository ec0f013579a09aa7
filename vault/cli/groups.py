"""Every command group of the app, for `create_app` to register.

Apart from vault/cli/__init__.py (the console script, which builds the app):
the app imports this module and the console script imports the app, so the
two must not be one module.
"""

from __future__ import annotations

from flask import Flask

from vault.cli import (
    accounts,
    db,
    demo,
    escrow,
    export,
    intake,
    jobs,
    journal,
    keys,
    lifecycle,
    recovery,
    storage,
)

AREAS = (
    accounts,
    db,
    demo,
    escrow,
    export,
    intake,
    jobs,
    journal,
    keys,
    lifecycle,
    recovery,
    storage,
)


def register_commands(app: Flask) -> None:
    for area in AREAS:
        for command in area.commands:
            app.cli.add_command(command)
