"""The exit pack: the whole vault as one streamed ZIP, and the check of such a ZIP.

What the person takes with them (issue 6, docs/architecture.md §5): every document in a
folder of its category, then ``manifest.json`` (metadata and SHA-256 of every
file), ``journal.json`` (the hash chain, with the plain-words sentences) and
``resume.pdf`` (inventory, expiry dates, missing papers, counsellors, how to
sign in from outside, the retention rule, and where the recovery sheet stands:
the export never makes a new one, D-090).

The feature's public face; the work is done in:

- `vault.export.contents`: what goes in (`plan`, loaded before streaming);
- `vault.export.names`: safe and unique names inside the archive;
- `vault.export.prefetch`: documents read and decrypted ahead, in threads;
- `vault.export.writer`: the streamed ZIP, its manifest and journal (`archive`);
- `vault.export.verify`: the check of an archive, with no database or app,
  on any machine (``vault export verify``).
"""

from __future__ import annotations

from vault.export.contents import ExportFile, Renderers, Summary, plan
from vault.export.names import FILE_MAX_BYTES, UniquePaths, safe_filename, safe_folder
from vault.export.prefetch import ExportError
from vault.export.verify import Verdict, verify_archive
from vault.export.writer import RETENTION_YEARS_DEFAULT, archive, stream_to
from vault.journal.chain import GENESIS, chain_hash

__all__ = [
    "FILE_MAX_BYTES",
    "GENESIS",
    "RETENTION_YEARS_DEFAULT",
    "ExportError",
    "ExportFile",
    "Renderers",
    "Summary",
    "UniquePaths",
    "Verdict",
    "archive",
    "chain_hash",
    "plan",
    "safe_filename",
    "safe_folder",
    "stream_to",
    "verify_archive",
]
