"""`vault` commands for the export area (registered by vault/cli/__init__.py).

`vault export verify FILE.zip` checks an exit pack. It needs neither the
database nor any configuration: `vault/cli/__init__.py` registers the group on the
command line itself, so it runs before (and without) building the app, on any
machine where the person or an operator has the file.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click

from vault.export.verify import verify_archive


@click.group("export", help="Exit packs (the ZIP a person downloads).")
def export_group() -> None:
    pass


@export_group.command("verify", help="Check an exit pack: files, SHA-256, manifest, journal.")
@click.argument("archive", type=click.Path(dir_okay=True, path_type=Path))
def export_verify(archive: Path) -> None:
    verdict = verify_archive(str(archive))
    if not verdict.ok:
        line = f"export verify: FAILED: {verdict.entry}: {verdict.problem}"
        click.echo(_printable(line), err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"export verify: OK ({verdict.documents} documents)")


def _printable(text: str) -> str:
    """One line whatever an entry's name holds: control and invisible characters escaped.

    A hostile archive could name an entry with a newline, an ANSI escape or a
    right-to-left override to forge or hide what the terminal shows.
    """
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} else c
        for c in text
    )


commands: list[click.Command] = [export_group]
