"""The `vault` console script: the app's commands, and two that need no app.

Apart from the package's __init__ (the app factory imports vault.cli.groups,
so vault/cli/__init__.py imports nothing and builds no cycle through it).
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from vault.cli import escrow, export


def _create_app() -> Flask:
    from vault import create_app

    return create_app()


def main() -> None:
    """Entry point of the `vault` console script."""
    group = FlaskGroup(create_app=_create_app, add_default_commands=True)
    # Reachable before the app can be built (no escrow key configured yet).
    group.add_command(escrow.escrow_group)
    # `export verify` checks a file on any machine, without configuration or database.
    group.add_command(export.export_group)
    group(prog_name="vault")
