"""`vault` commands for the keys area (see vault/commands/__init__.py)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
