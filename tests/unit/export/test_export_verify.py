"""`vault export verify` on good, damaged and foreign files; safe names inside the archive.

The archives here are built with `zipfile` following docs/export.md, so the
check is tested against the format, not only against our own writer (the
integration tests verify real exports).
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vault.cli.export import export_group
from vault.export import service as export

FILES = {
    "Identite/Carte d'identité.pdf": b"%PDF-1.4 identity " * 200,
    "Sante/Carte Vitale.png": b"\x89PNG\r\n\x1a\n vitale" * 300,
}


def journal_events(count: int = 3) -> list[dict[str, Any]]:
    events, prev = [], export.GENESIS
    for seq in range(1, count + 1):
        event: dict[str, Any] = {
            "seq": seq,
            "time": f"2026-03-0{seq}T10:00:00+00:00",
            "vault": "2fed6fe1-7697-4486-ade8-29f9e244b82a",
            "actor": None,
            "role": "system",
            "action": "document.added",
            "document": None,
            "outcome": "ok",
            "details": {"category": "identity"},
        }
        event["prev_hash"], event["hash"] = prev, export.chain_hash(prev, event)
        event["text"] = "Vous avez ajouté « Carte »."
        prev = event["hash"]
        events.append(event)
    return events


def manifest_for(files: dict[str, bytes], events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": "vault-export",
        "format_version": 1,
        "files": [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in files.items()
        ],
        "journal": {
            "path": "journal.json",
            "events": len(events),
            "last_hash": events[-1]["hash"] if events else export.GENESIS,
        },
    }


def build(
    path: Path,
    files: dict[str, bytes] | None = None,
    *,
    manifest: Any = None,
    events: list[dict[str, Any]] | None = None,
    extra: dict[str, bytes] | None = None,
    skip: tuple[str, ...] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    files = dict(FILES if files is None else files)
    events = journal_events() if events is None else events
    manifest = manifest_for(files, events) if manifest is None else manifest
    members = dict(files)
    members["manifest.json"] = json.dumps(manifest).encode()
    members["journal.json"] = json.dumps({"format": "vault-journal", "events": events}).encode()
    members["resume.pdf"] = b"%PDF-1.7 summary"
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            if name not in skip:
                archive.writestr(name, data)
    return path


def run(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(export_group, ["verify", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def failed(path: Path) -> str:
    code, output = run(path)
    assert code == 1, output
    assert output.count("\n") == 1 and output.startswith("export verify: FAILED: "), output
    assert "Traceback" not in output
    return output.removeprefix("export verify: FAILED: ").rstrip("\n")


def test_a_good_archive_verifies(tmp_path: Path) -> None:
    code, output = run(build(tmp_path / "good.zip"))
    assert code == 0 and output == "export verify: OK (2 documents)\n"


def test_folder_entries_added_by_a_zip_tool_are_accepted(tmp_path: Path) -> None:
    path = build(tmp_path / "folders.zip", extra={"Identite/": b""})
    assert run(path)[0] == 0


def flip_byte_in_member(path: Path, member: str) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    # Local header: 30 bytes, then the name and the extra field, then the data.
    name_length = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x20
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_flipped_byte_in_a_document_names_it(tmp_path: Path, compression: int) -> None:
    path = build(tmp_path / "flipped.zip", compression=compression)
    flip_byte_in_member(path, "Sante/Carte Vitale.png")
    message = failed(path)
    assert message.startswith("Sante/Carte Vitale.png: ")


def test_a_document_changed_consistently_is_caught_by_its_sha256(tmp_path: Path) -> None:
    # Rewritten with a correct CRC: only the manifest's digest can tell.
    changed = dict(FILES)
    manifest = manifest_for(changed, journal_events())
    changed["Sante/Carte Vitale.png"] = changed["Sante/Carte Vitale.png"].replace(
        b"vitale", b"VITALE"
    )
    path = build(tmp_path / "changed.zip", changed, manifest=manifest)
    assert failed(path) == "Sante/Carte Vitale.png: SHA-256 differs from the manifest"


def test_a_missing_file(tmp_path: Path) -> None:
    path = build(tmp_path / "missing.zip", skip=("Identite/Carte d'identité.pdf",))
    assert failed(path) == (
        "Identite/Carte d'identité.pdf: listed in the manifest but missing from the archive"
    )


def test_an_extra_file(tmp_path: Path) -> None:
    path = build(tmp_path / "extra.zip", extra={"Autre/intrus.exe": b"MZ"})
    assert failed(path) == "Autre/intrus.exe: not listed in the manifest"


def test_a_wrong_size(tmp_path: Path) -> None:
    events = journal_events()
    manifest = manifest_for(FILES, events)
    manifest["files"][0]["size"] += 1
    path = build(tmp_path / "size.zip", manifest=manifest)
    assert "size" in failed(path)


def test_a_foreign_zip(tmp_path: Path) -> None:
    path = tmp_path / "foreign.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photos/vacances.jpg", b"\xff\xd8\xff")
    assert failed(path) == "manifest.json: missing: not an export of the vault"


def test_a_foreign_manifest(tmp_path: Path) -> None:
    path = build(tmp_path / "npm.zip", manifest={"name": "left-pad", "version": "1.0.0"})
    assert failed(path) == "manifest.json: not the manifest of a vault export"


def test_a_manifest_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "notjson.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", b"{not json")
    assert failed(path) == "manifest.json: not valid JSON"


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, not a zip\n", b"%PDF-1.4\n" + bytes(range(256)) * 10],
    ids=["empty", "text", "pdf"],
)
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "coffre.zip"
    path.write_bytes(content)
    assert failed(path) == f"{path}: not a ZIP archive, or its end is missing"


def test_a_truncated_archive(tmp_path: Path) -> None:
    path = build(tmp_path / "cut.zip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "not a ZIP archive, or its end is missing" in failed(path)


def test_a_missing_path_and_a_directory(tmp_path: Path) -> None:
    assert failed(tmp_path / "absent.zip").endswith(": no such file")
    assert "not a ZIP archive" in failed(tmp_path)


@pytest.mark.parametrize(
    "unsafe",
    ["../evil.pdf", "/etc/passwd", "Autre\\..\\x.pdf", "C:/x.pdf", "a/./b.pdf", "a\x1b[2Jb"],
)
def test_unsafe_paths_in_the_manifest(tmp_path: Path, unsafe: str) -> None:
    files = {unsafe: b"data"}
    path = build(tmp_path / "unsafe.zip", files)
    message = failed(path)
    assert "unsafe path" in message
    assert "\x1b" not in message  # escaped, never sent to the terminal


def test_a_tampered_journal_event(tmp_path: Path) -> None:
    events = journal_events()
    events[1]["action"] = "document.deleted"
    path = build(tmp_path / "journal.zip", events=events)
    assert failed(path) == "journal.json event 2: its hash does not match its content (altered)"


def test_a_journal_event_removed(tmp_path: Path) -> None:
    events = journal_events(4)
    manifest = manifest_for(FILES, events)
    del events[1]
    path = build(tmp_path / "gap.zip", manifest=manifest, events=events)
    assert failed(path).startswith("journal.json event 2: numbered 3")


def test_the_newest_journal_events_removed(tmp_path: Path) -> None:
    events = journal_events(4)
    manifest = manifest_for(FILES, events)
    path = build(tmp_path / "short.zip", manifest=manifest, events=events[:3])
    assert failed(path) == "journal.json: does not end where the manifest says (events missing)"


def test_the_summary_is_required(tmp_path: Path) -> None:
    path = build(tmp_path / "nosummary.zip", skip=("resume.pdf",))
    assert failed(path) == "resume.pdf: missing"


def test_an_entry_twice(tmp_path: Path) -> None:
    path = build(tmp_path / "twice.zip")
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(path, "a") as archive,
    ):
        archive.writestr("Sante/Carte Vitale.png", b"other")
    assert failed(path) == "Sante/Carte Vitale.png: appears twice in the archive"


def test_verify_reads_a_file_object_too() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x", b"y")
    buffer.seek(0)
    verdict = export.verify_archive(buffer)
    assert not verdict.ok and verdict.entry == "manifest.json"


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Identité", "Identite"),
        ("Éducation et formation", "Education et formation"),
        ("../..", "fallback"),
        ("a/b\\c", "a_b_c"),
        ("\u202eevil\x00", "evil"),
        ("x" * 200, "x" * 60),
        ("CON", "CON_"),
        ("Прочее", "fallback"),
    ],
)
def test_safe_folder(label: str, expected: str) -> None:
    assert export.safe_folder(label, "fallback") == expected


@pytest.mark.parametrize(
    ("title", "mime", "expected"),
    [
        ("Carte d'identité", "application/pdf", "Carte d'identité.pdf"),
        ("../x", "application/pdf", "-x.pdf"),
        ("a\x00b", "image/png", "ab.png"),
        ("\u202egnp.exe", "image/jpeg", "gnp.exe.jpg"),
        ("", "application/pdf", "document.pdf"),
        ("..", "application/pdf", "document.pdf"),
        ("aux", "application/pdf", "aux_.pdf"),
        ('a<b>c:d"e|f?g*h', "application/pdf", "a_b_c_d_e_f_g_h.pdf"),
        ("scan.pdf", "application/pdf", "scan.pdf"),
    ],
)
def test_safe_filename(title: str, mime: str, expected: str) -> None:
    assert export.safe_filename(title, mime) == expected


def test_long_names_are_capped_in_bytes() -> None:
    name = export.safe_filename("日本" * 200, "application/pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= export.FILE_MAX_BYTES


def test_duplicate_names_are_numbered_whatever_their_case() -> None:
    names = export.UniquePaths()
    added = [names.add("Autre", n, "application/pdf") for n in ("A.pdf", "a.pdf", "A.pdf")]
    assert added == ["Autre/A.pdf", "Autre/a (2).pdf", "Autre/A (3).pdf"]
    # The archive's own files keep their names.
    assert names.add("x", "y.pdf", "application/pdf") == "x/y.pdf"
    long = names.add("Autre", "é" * 98 + ".pdf", "application/pdf")
    again = names.add("Autre", "é" * 98 + ".pdf", "application/pdf")
    assert again.endswith(" (2).pdf") and len(again.split("/")[1].encode()) <= 200
    assert long != again


# --- the verifier needs no app ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[3]
VERIFIER = ("vault/export/verify.py", "vault/journal/chain.py")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("source", VERIFIER)
def test_the_verifier_imports_only_the_standard_library_and_the_chain(source: str) -> None:
    # `import vault.export.verify` runs vault/__init__.py, which imports Flask
    # for create_app: the check is on the verifier's own imports instead.
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    imported = imported_modules(ROOT / source)
    foreign = {m for m in imported if m.split(".")[0] not in allowed}
    assert foreign <= {"vault.journal.chain"}, foreign


def test_the_verifier_runs_without_flask_or_sqlalchemy() -> None:
    # The packages above it replaced by empty ones, no site-packages (-S): whatever
    # verify.py needs beyond the standard library would fail to import or show here.
    code = f"""
import sys, types
for name in ("vault", "vault.export", "vault.journal"):
    package = types.ModuleType(name)
    package.__path__ = [{str(ROOT)!r} + "/" + name.replace(".", "/")]
    sys.modules[name] = package
import vault.export.verify
known = sys.stdlib_module_names | {{"__main__"}}
print(sorted(m for m in sys.modules if m.split(".")[0] not in known))
"""
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == str(
        sorted(
            ["vault", "vault.export", "vault.export.verify", "vault.journal", "vault.journal.chain"]
        )
    )
