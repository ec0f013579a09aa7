"""What every `vault` command shares: one line on failure, new private files, the code block."""

from __future__ import annotations

import os
from pathlib import Path

import click

from vault.models import User


def fail(message: str) -> click.exceptions.Exit:
    """`message` on stderr; raise the result to end the command with status 1."""
    click.echo(message, err=True)
    return click.exceptions.Exit(1)


def first_line(error: BaseException) -> str:
    """An error's first line: a traceback's worth of text does not belong in one-line output."""
    return str(error).strip().splitlines()[0] if str(error).strip() else ""


def create_private(path: Path, data: bytes, what: str) -> None:
    """Write `data` to a new file of mode 0600; never overwrite (O_EXCL)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise fail(f"{what}: FAILED: {path} exists; refusing to overwrite it") from None
    except OSError as e:
        raise fail(f"{what}: FAILED: cannot create {path}: {e.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        path.unlink(missing_ok=True)
        raise fail(f"{what}: FAILED: cannot write {path}: {e.strerror}") from None


def print_activation(title: str, user: User, code: str) -> None:
    """The one-time code, on the operator's console only (never in a log)."""
    expires = user.activation_expires_at.date().isoformat() if user.activation_expires_at else ""
    rule = "=" * 64
    click.echo(rule)
    click.echo(f" {title}")
    click.echo(f"   Username:        {user.username}")
    click.echo(f"   Activation code: {code}")
    click.echo("   Activate at:     /activer  (e.g. http://127.0.0.1:5000/activer)")
    click.echo(f"   The code works once, until {expires}. It is not shown again.")
    click.echo(rule)
