"""Services a fault test may break without harm: a private PostgreSQL cluster, a small disk.

The machine's shared PostgreSQL is used by other test runs and is never
stopped: a test that stops the database gets a throwaway cluster of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.services import free_port, service_missing

# --- a PostgreSQL cluster of the test's own ------------------------------------------------------

PG_BIN = Path(os.environ.get("VAULT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresError(RuntimeError):
    """The private cluster could not be created, started or stopped."""


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, which a test may stop.

    initdb and postgres refuse to run as root: as root (CI), every command
    runs as the `postgres` system user, which owns the cluster's folder.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="vault-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run(
            PG_BIN / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: object) -> None:
        try:
            result = subprocess.run(
                [*self.prefix, *(str(a) for a in args)],
                cwd=self.workdir,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PostgresError(str(e)) from e
        if result.returncode != 0:
            raise PostgresError(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session at once, as an operator's stop does."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(PostgresError):
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def private_postgresql() -> Iterator[PrivatePostgres]:
    """A started private cluster, removed at the end (skipped locally, failed in CI, if absent)."""
    if not (PG_BIN / "initdb").is_file():
        service_missing(f"no PostgreSQL server binaries in {PG_BIN}")
    try:
        cluster = PrivatePostgres()
    except PostgresError as e:
        service_missing(f"private PostgreSQL cluster: {e}")
    try:
        try:
            cluster.start()
        except PostgresError as e:
            service_missing(f"private PostgreSQL cluster: {e}")
        yield cluster
    finally:
        cluster.close()


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `path` (root only; elsewhere skipped, or failed in CI)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        service_missing("mounting a small file system needs root")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        service_missing(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
