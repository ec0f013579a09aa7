"""Benchmark of the exit pack against a raw read of the same objects, in the same run.

Everything runs on this machine, started here and removed at the end: a
SeaweedFS from ``tests.s3server`` holds the blobs, a SQLite file the rows (the
export reads the database only to list the documents and, at the end, the
journal). The app is built from the environment in production mode with
generated secrets; one person's vault is filled through the real services
(account with Argon2id at its production cost, then ``documents.add_document``)
with 500 documents totalling 1 GiB (about 2 MiB each: a PDF header, then
random bytes, which no compression shrinks, as with scanned papers).

Measured, each time in a fresh process (``--worker``), so that each side's
peak RSS (``VmHWM``) is its own:

- ours: ``vault.export.views.exit_pack``, the generator the ``POST /export/``
  route streams, drained to ``/dev/null`` inside a request context: the
  listing, every document decrypted and checked (VSF1 tags, size, SHA-256),
  the ZIP (stream-zip, deflate level 0, ZIP64 where needed), the manifest,
  the journal with its sentences, the PDF summary (WeasyPrint) and the new
  recovery kit committed to the database. The passphrase check in front of
  it (one Argon2id run, 64 MiB) is not part of it: it happens before the
  first byte, in every sign-in alike.
- baseline: the ``minio`` SDK's ``get_object`` of the very same 500 blobs,
  in the same order, each response streamed to ``/dev/null``.

Timing starts once each process is ready (imports and app built) and covers
the whole transfer. One untimed warm-up round, in which ours writes a real
file that ``verify_archive`` must pass (SeaweedFS serves a freshly written
object's first read much more slowly; nobody is billed for that), then N
rounds (default 4), the order swapped in alternate rounds; ``os.sync()``
before each run. The ratio is the median of ours over the median of the
baseline; ``peak_rss_mib`` is the largest ``VmHWM`` of our export processes.

The last line is exactly::

    export_bench ratio=X peak_rss_mib=Y
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path: put the
# repository first (as bench/storage.py does), so `storage` is the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

MiB = 1024 * 1024
GiB = 1024 * MiB
KINDS = (
    ("Carte d'identité", "identity", "id_card"),
    ("Attestation de droits", "health", "social_security_certificate"),
    ("Relevé d'identité bancaire", "benefits", "bank_details"),
    ("Bulletin de salaire", "work", "payslip"),
    ("Jugement", "justice", "judgment"),
    ("Diplôme", "education", "diploma"),
    ("Quittance de loyer", "housing", "proof_of_address"),
    ("Courrier", "other", "other"),
)


def log(message: str) -> None:
    print(message, flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident set size (``VmHWM``), in MiB.

    Not ``ru_maxrss``: Linux carries it across ``execve``, so a child of a big
    parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process, all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the vault ---------------------------------------------------------------------


def app_environment(database_url: str, storage_url: str, instance: Path) -> dict[str, str]:
    """The app's variables: production, every secret generated for this run."""
    from crypto import KeyRing
    from vault.core.config import dev_escrow_pair

    return {
        "VAULT_ENV": "production",
        "VAULT_INSTANCE_PATH": str(instance),
        "VAULT_DATABASE_URL": database_url,
        "VAULT_STORAGE_URL": storage_url,
        "VAULT_SECRET_KEY": secrets.token_urlsafe(48),
        "VAULT_SERVER_KEYS": KeyRing.generate_string(),
        "VAULT_ESCROW_PUBLIC_KEY": dev_escrow_pair()["escrow_public_key"],
        "VAULT_PUBLIC_URL": "https://coffre.example.fr",
        "VAULT_MAX_UPLOAD_MB": "100",
        "VAULT_QUOTA_MB": "100000",
        "VAULT_LOG_LEVEL": "WARNING",
    }


def _content(size: int) -> list[bytes]:
    head = b"%PDF-1.4\n"
    body = os.urandom(size - len(head))
    return [head, body]


def populate(environment: dict[str, str], count: int, total: int) -> dict[str, Any]:
    """Migrate, then one person with `count` documents of `total` bytes in all."""
    from sqlalchemy import select

    from tests.factories import make_account
    from vault import create_app
    from vault.core import migrate
    from vault.core.config import Settings
    from vault.core.db import db_session, get_database
    from vault.core.extensions import get_keyring, get_store
    from vault.documents import service as documents
    from vault.models import Blob, Document, DocumentVersion, User

    app = create_app(Settings.from_env(environment))
    try:
        migrate.upgrade(get_database(app).engine)
        account = make_account(app, first="Camille", last="Départ")
        store, ring = get_store(app), get_keyring(app)
        started = time.perf_counter()
        with app.app_context():
            db = db_session()
            user = db.get(User, account.user.id)
            assert user is not None
            owner = documents.Unlocked(user, account.key)
            each = total // count
            for i in range(count):
                size = each if i < count - 1 else total - each * (count - 1)
                stem, category, doc_type = KINDS[i % len(KINDS)]
                documents.add_document(
                    db,
                    store,
                    ring,
                    owner,
                    _content(size),
                    mime="application/pdf",
                    title=f"{stem} {i:03d}",
                    filename=f"document-{i:03d}.pdf",
                    category=category,
                    doc_type=doc_type,
                    expiry_date=None,
                    actor=user,
                )
                if (i + 1) % 50 == 0 or i + 1 == count:
                    db.commit()
            keys = list(
                db.execute(
                    select(Blob.key)
                    .join(DocumentVersion, DocumentVersion.blob_id == Blob.id)
                    .join(Document, Document.id == DocumentVersion.document_id)
                    .where(
                        Document.vault_id == user.id,
                        DocumentVersion.version == Document.current_version,
                    )
                ).scalars()
            )
        elapsed = time.perf_counter() - started
        log(f"{count} documents, {total / MiB:.0f} MiB, added ({elapsed:.1f}s)")
        return {
            "user_id": str(account.user.id),
            "key": base64.b64encode(account.key).decode(),
            "blob_keys": keys,
        }
    finally:
        get_database(app).dispose()
        get_store(app).close()


# -- the two sides, each run in a fresh process ------------------------------------


def run_ours(config: dict[str, Any]) -> dict[str, Any]:
    """The route's generator, drained to `config["out"]` (default /dev/null)."""
    import uuid

    from vault import create_app
    from vault.core.config import Settings
    from vault.core.db import db_session, get_database
    from vault.core.extensions import get_store
    from vault.documents.service import Unlocked
    from vault.export import service as export
    from vault.export.views import exit_pack
    from vault.models import User

    app = create_app(Settings.from_env(config["environment"]))
    key = base64.b64decode(config["key"])
    out_path = config.get("out") or os.devnull
    try:
        with (
            app.test_request_context(
                "/export/", method="POST", base_url="https://coffre.example.org"
            ),
            open(out_path, "wb") as out,
        ):
            user = db_session().get(User, uuid.UUID(config["user_id"]))
            assert user is not None
            owner = Unlocked(user, key)
            # A serving worker has WeasyPrint loaded after its first sheet; its
            # import (about half a second) is start-up, not export, time. The
            # peak RSS below includes it all the same.
            import weasyprint  # noqa: F401

            started, cpu = time.perf_counter(), cpu_seconds()
            written = export.stream_to(exit_pack(owner), out)
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    finally:
        get_database(app).dispose()
        get_store(app).close()
    return {"seconds": seconds, "cpu": cpu, "bytes": written, "peak_rss_mib": peak_rss_mib()}


def run_baseline(config: dict[str, Any]) -> dict[str, Any]:
    """The same blobs through the minio SDK, each response streamed to /dev/null."""
    from minio import Minio

    s3 = config["s3"]
    client = Minio(
        s3["endpoint"], access_key=s3["access_key"], secret_key=s3["secret_key"], secure=False
    )
    written = 0
    started, cpu = time.perf_counter(), cpu_seconds()
    with open(os.devnull, "wb") as out:
        for key in config["blob_keys"]:
            response = client.get_object(s3["bucket"], key)
            try:
                for chunk in response.stream(MiB):
                    out.write(chunk)
                    written += len(chunk)
            finally:
                response.close()
                response.release_conn()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    client._http.clear()
    return {"seconds": seconds, "cpu": cpu, "bytes": written, "peak_rss_mib": peak_rss_mib()}


def worker(side: str) -> None:
    config = json.loads(sys.stdin.readline())
    result = run_ours(config) if side == "ours" else run_baseline(config)
    print(json.dumps(result), flush=True)


def spawn(side: str, config: dict[str, Any]) -> dict[str, Any]:
    os.sync()  # no dirty page of an earlier step billed to whoever comes next
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", side],
        input=json.dumps(config) + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=REPO,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"bench: the {side} worker failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def s3_settings(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "endpoint": parts.netloc.rpartition("@")[2],
        "access_key": unquote(parts.username or ""),
        "secret_key": unquote(parts.password or ""),
        "bucket": parts.path.strip("/"),
    }


# -- main --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--size-mib", type=int, default=1024, help="total size of the documents")
    parser.add_argument("--rounds", type=int, default=4, help="timed rounds")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    parser.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return

    from tests.s3server import SeaweedFS, fresh_bucket

    scratch = Path(tempfile.mkdtemp(prefix="vault-bench-export-", dir=args.dir))
    weed: SeaweedFS | None = None
    try:
        # Room for the vault and its copy in flight: deleted space is
        # reclaimed only by SeaweedFS's periodic vacuum.
        weed = SeaweedFS(volume_max=64, volume_size_mb=256)
        weed.start()
        storage_url = weed.url(fresh_bucket())
        instance = scratch / "instance"
        instance.mkdir()
        environment = app_environment(
            f"sqlite:///{scratch / 'vault.sqlite3'}", storage_url, instance
        )
        vault = populate(environment, args.documents, args.size_mib * MiB)
        config = dict(vault, environment=environment, s3=s3_settings(storage_url))

        # Warm-up: both sides read everything once; ours writes a file that must verify.
        from vault.export.service import verify_archive

        archive = scratch / "coffre.zip"
        warm = spawn("ours", dict(config, out=str(archive)))
        verdict = verify_archive(str(archive))
        if not verdict.ok or verdict.documents != args.documents:
            raise SystemExit(f"bench: the export does not verify: {verdict}")
        log(
            f"warm-up: export of {warm['bytes'] / MiB:.0f} MiB in {warm['seconds']:.2f}s, "
            f"verified ({verdict.documents} documents)"
        )
        archive.unlink()
        base = spawn("baseline", config)
        log(f"warm-up: minio get of {base['bytes'] / MiB:.0f} MiB in {base['seconds']:.2f}s")

        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        cpus: dict[str, list[float]] = {"ours": [], "baseline": []}
        peaks: dict[str, list[float]] = {"ours": [warm["peak_rss_mib"]], "baseline": []}
        for run in range(1, args.rounds + 1):
            order = ("ours", "baseline") if run % 2 else ("baseline", "ours")
            for side in order:
                result = spawn(side, config)
                times[side].append(result["seconds"])
                cpus[side].append(result["cpu"])
                peaks[side].append(result["peak_rss_mib"])
            log(
                f"round {run}: export {times['ours'][-1]:.2f}s "
                f"(peak RSS {peaks['ours'][-1]:.0f} MiB), minio get "
                f"{times['baseline'][-1]:.2f}s (peak RSS {peaks['baseline'][-1]:.0f} MiB)"
            )
        ours, raw = statistics.median(times["ours"]), statistics.median(times["baseline"])
        size = args.size_mib
        log(
            f"export median {ours:.2f}s ({size / ours:.0f} MiB/s), minio get median "
            f"{raw:.2f}s ({size / raw:.0f} MiB/s); export peak RSS "
            f"{max(peaks['ours']):.0f} MiB, minio peak RSS {max(peaks['baseline']):.0f} MiB"
        )
        # For reading a run on a busy machine: the CPU each side's process used
        # (SeaweedFS's own work, the same for both, is not in it).
        log(
            f"for information: CPU time of the process, medians: export "
            f"{statistics.median(cpus['ours']):.2f}s, minio get "
            f"{statistics.median(cpus['baseline']):.2f}s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"export_bench ratio={ours / raw:.3f} peak_rss_mib={max(peaks['ours']):.0f}",
            flush=True,
        )
    finally:
        if weed is not None:
            weed.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
