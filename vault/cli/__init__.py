"""Operator commands: `vault db upgrade`, `vault storage check|gc`,
`vault accounts first-admin|create-admin|disable|enable`, `vault demo`,
`vault escrow init|recover|check`, `vault journal verify`, `vault keys ...`,
`vault retention run`, `vault recovery ...`, `vault export verify`.

Also reachable as `flask --app wsgi ...`. Each command commits its own work and
reports failure as one line on stderr with a non-zero exit status, never a
traceback: operators run these from scripts and health checks. One module per
command group; each exposes `commands`, the click objects it adds, which
`vault.cli.groups.register_commands` gives the app. This module is the
console script.
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
