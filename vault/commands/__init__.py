"""Operator commands by area, each module exposing `commands: list[click.Command]`.

`vault/cli.py` holds the foundation's commands and registers these too, so an
area adds its commands in its own module without touching the others.
"""

from __future__ import annotations

import click

from vault.commands import export, keys, lifecycle, recovery

AREAS = (export, keys, lifecycle, recovery)


def all_commands() -> list[click.Command]:
    return [command for area in AREAS for command in area.commands]
