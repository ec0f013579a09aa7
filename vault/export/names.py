"""Names inside the archive: what every unzip tool on every system accepts.

Folders come from category labels, files from decrypted titles; both are
made safe on Windows, macOS and Linux, capped in length, and unique without
regard to case.
"""

from __future__ import annotations

import re
import unicodedata

from vault.core.catalog import CATEGORIES
from vault.documents.uploads import ALLOWED_TYPES, download_name
from vault.export.verify import OWN_FILES

FOLDER_MAX_CHARS = 60
FILE_MAX_BYTES = 200  # UTF-8; most file systems allow 255 bytes per name
_FOLDER_SAFE = re.compile(r"[^A-Za-z0-9 ,'()&+\-_.]+")
# Forbidden in Windows file names (and "/" everywhere); download_name already
# removed control and invisible format characters.
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in "123456789"
}


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def safe_folder(label: str, fallback: str) -> str:
    """A folder name from a category label: ASCII, no separator, no dot-only name, capped."""
    name = _FOLDER_SAFE.sub("_", ascii_fold(label))
    name = " ".join(name.split()).strip(" ._")[:FOLDER_MAX_CHARS].rstrip(" ._")
    return _not_reserved(name) or fallback


def safe_filename(title: str, mime: str) -> str:
    """A file name from a decrypted title: the download's name, safe on every system."""
    name = download_name(title, mime)  # no control, bidi or path characters; no leading dot
    stem, ext = _split_extension(name, mime)
    stem = _WINDOWS_FORBIDDEN.sub("_", stem).strip(" .") or "document"
    return _capped(_not_reserved(stem), ext)


def category_order() -> list[str]:
    """Category codes in the catalogue's order: the archive's folders follow it."""
    return [c.code for c in CATEGORIES]


def _split_extension(name: str, mime: str) -> tuple[str, str]:
    ext = ALLOWED_TYPES.get(mime, "")
    if ext and name.endswith(ext):
        return name[: -len(ext)], ext
    return name, ""


def _not_reserved(stem: str) -> str:
    # "CON.pdf" cannot be created on Windows, whatever the extension.
    return stem + "_" if stem.split(".")[0].upper() in _WINDOWS_RESERVED else stem


def _capped(stem: str, ext: str, suffix: str = "") -> str:
    room = FILE_MAX_BYTES - len((suffix + ext).encode())
    encoded = stem.encode()
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", "ignore").rstrip(" .") or "document"
    return stem + suffix + ext


class UniquePaths:
    """Unique paths: "Titre.pdf", "Titre (2).pdf"..., compared without case.

    Windows and macOS file systems ignore case, so two names differing only by
    it would overwrite each other when unzipped.
    """

    def __init__(self) -> None:
        self._taken: set[str] = {name.casefold() for name in OWN_FILES}

    def add(self, folder: str, filename: str, mime: str) -> str:
        stem, ext = _split_extension(filename, mime)
        n = 1
        path = f"{folder}/{filename}"
        while path.casefold() in self._taken:
            n += 1
            path = f"{folder}/{_capped(stem, ext, f' ({n})')}"
        self._taken.add(path.casefold())
        return path
