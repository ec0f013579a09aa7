"""Benchmark of the app over HTTP, under gunicorn, with PostgreSQL and SeaweedFS.

Everything runs on this machine, started here and removed at the end: a fresh
PostgreSQL schema (``VAULT_BENCH_DATABASE_URL``, default the tests' server
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), a SeaweedFS from
``tests.s3server``, and the app (``wsgi:app``) under gunicorn, built from the
environment in production mode with generated secrets and the upload limit
raised to 300 MiB (``VAULT_MAX_UPLOAD_MB``). Default server: 4 workers of 2
threads (``-k gthread -w 4 --threads 2``), as in the image; see
docs/benchmarks.md.

Before gunicorn starts, this process migrates the schema and fills one
person's vault through the real services: the account (Argon2id at its
production cost) and 2,000 small PDF documents with varied titles; then
``VACUUM ANALYZE``, as a production server's autovacuum would after such a load
(the test server runs without autovacuum).

Measured, in this order:

- latency: 10 clients, each with its own signed-in session and HTTP
  connection, run concurrently (after a few untimed requests each) 30 requests
  of the list page as the person first sees it (``GET /documents/``), then 30
  title searches (``GET /documents/?q=attestation 01``, 10 matches: a search
  decrypts all 2,000 titles). p95 over the 300 requests of each kind.
- transfers: upload of a 256 MiB file (a PDF header then random bytes) with the
  app's form (``POST /documents/ajouter``, multipart, the file part last,
  streamed from disk with a Content-Length) against the ``minio`` SDK's own
  ``fput_object`` of the same file to another bucket of the same SeaweedFS;
  download (``GET /documents/<id>/telecharger``, streamed to a file) against
  ``fget_object`` of the very blob the app stored (the app decrypts it, the
  baseline copies it). One untimed warm-up round (which, like every round,
  checks the SHA-256 of every download of ours), then N rounds (default 4);
  in each round each operation runs four times, ABBA, the roles swapped in
  alternate rounds; each side keeps the median of its two; a ratio is the
  median over rounds of ours over the baseline's. Before the downloads the
  blob is read once, untimed (SeaweedFS serves a freshly written object's
  first read much more slowly). ``os.sync()`` runs before every timed
  operation, outside the timing.
- memory: ``VmHWM`` (peak RSS) of every gunicorn process, read at the end of
  each phase. ``server_peak_rss_mib`` is the largest single process's peak
  over the whole run, sign-ins included; the sum over processes, and the
  transfers' own peaks (``VmHWM`` reset through ``/proc/PID/clear_refs``
  before the uploads and before the downloads), are printed for information.
- CPU, for information: per request, what gunicorn, PostgreSQL and SeaweedFS,
  this process and anything else used. When other work (another test run)
  took more than 0.15 of a core during the latency runs, a WARNING line says
  the figures are disturbed.

The sessions' cookies are kept by hand, whatever their Secure flag: in
production mode the cookie is ``__Host-vault`` (Secure) and there is no TLS
here, as behind a TLS-terminating proxy.

The last line is exactly::

    http_bench upload_ratio=X download_ratio=Y server_peak_rss_mib=Z list_p95_ms=W search_p95_ms=V
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.s3server import SeaweedFS

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path: put the
# repository first (as bench/storage.py does), so `storage` is the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from tests.cookies import cookie_header, keep_cookies  # noqa: E402 (needs the path above)

MiB = 1024 * 1024
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# (title stem, category, document type): titles are "<stem> 0000".."<stem> 1999".
KINDS = (
    ("Attestation", "benefits", "benefits_certificate"),
    ("Facture", "housing", "housing_other"),
    ("Relevé de compte", "benefits", "bank_details"),
    ("Bulletin de salaire", "work", "payslip"),
    ("Courrier", "other", "other"),
    ("Certificat médical", "health", "medical"),
    ("Avis d'imposition", "benefits", "tax_notice"),
    ("Contrat de travail", "work", "work_other"),
    ("Diplôme", "education", "diploma"),
    ("Quittance de loyer", "housing", "proof_of_address"),
)
SEARCH = "attestation 01"  # Attestation 0100, 0110, ... 0190: 10 matches
SEARCH_HIT = "Attestation 0150"
# Cores' worth of CPU used by other work above which a run is flagged as disturbed.
BUSY_WARNING = 0.15
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def log(message: str) -> None:
    print(message, flush=True)


# -- the HTTP client ---------------------------------------------------------------


class Client:
    """One browser: its own connection and cookie jar.

    Cookies are kept by hand, whatever their Secure flag: the app runs in
    production mode (``__Host-vault``, Secure) behind no TLS here, as it would
    behind a TLS-terminating proxy.
    """

    def __init__(self, base: str) -> None:
        from urllib3 import PoolManager
        from urllib3.util import Timeout

        self.base = base
        self.http = PoolManager(maxsize=1, timeout=Timeout(connect=5, read=300))
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        preload: bool = True,
    ) -> Any:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = cookie_header(self.cookies)
        response = self.http.request(
            method,
            self.base + path,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=preload,
        )
        keep_cookies(self.cookies, response.headers.getlist("Set-Cookie"))
        return response

    def get(self, path: str, expect: int = 200) -> str:
        response = self.request("GET", path)
        if response.status != expect:
            raise SystemExit(f"bench: GET {path} answered {response.status}")
        return str(response.data.decode())

    def csrf(self, path: str) -> str:
        match = CSRF_RE.search(self.get(path))
        if not match:
            raise SystemExit(f"bench: no CSRF token on {path}")
        return match.group(1)

    def sign_in(self, username: str, passphrase: str) -> None:
        token = self.csrf("/connexion")
        response = self.request(
            "POST",
            "/connexion",
            body=urlencode({"csrf_token": token, "username": username, "passphrase": passphrase}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if response.status != 302:
            raise SystemExit(f"bench: sign-in answered {response.status}")

    def close(self) -> None:
        self.http.clear()


# -- the services ------------------------------------------------------------------


def create_schema(base: str) -> tuple[str, str]:
    """A fresh schema on `base`'s server: (its name, the URL that uses it)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from vault.core.db import make_engine

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import text

    from vault.core.db import make_engine

    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


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
        "VAULT_MAX_UPLOAD_MB": "300",
        "VAULT_QUOTA_MB": "100000",
        "VAULT_LOG_LEVEL": "WARNING",
    }


def populate(environment: dict[str, str], count: int) -> tuple[str, str, str]:
    """Migrate, then one person with `count` documents: (username, passphrase, newest title)."""
    from tests.factories import make_account, pdf_bytes
    from vault import create_app
    from vault.core import migrate
    from vault.core.config import Settings
    from vault.core.db import db_session, get_database
    from vault.core.extensions import get_keyring, get_store
    from vault.documents import service as documents
    from vault.models import User

    settings = Settings.from_env(environment)
    app = create_app(settings)
    try:
        migrate.upgrade(get_database(app).engine)
        passphrase = "banc " + secrets.token_urlsafe(12) + " essai lumière"
        started = time.perf_counter()
        account = make_account(app, first="Camille", last="Banc", passphrase=passphrase)
        log(f"account {account.username} opened ({time.perf_counter() - started:.1f}s)")
        started = time.perf_counter()
        store, ring = get_store(app), get_keyring(app)
        title = ""
        with app.app_context():
            db = db_session()
            user = db.get(User, account.user.id)
            assert user is not None
            owner = documents.Unlocked(user, account.key)
            for i in range(count):
                stem, category, doc_type = KINDS[i % len(KINDS)]
                title = f"{stem} {i:04d}"
                documents.add_document(
                    db,
                    store,
                    ring,
                    owner,
                    [pdf_bytes(title)],
                    mime="application/pdf",
                    title=title,
                    filename=f"document-{i:04d}.pdf",
                    category=category,
                    doc_type=doc_type,
                    expiry_date=None,
                    actor=user,
                )
                if (i + 1) % 100 == 0 or i + 1 == count:
                    db.commit()
        log(f"{count} documents added ({time.perf_counter() - started:.1f}s)")
        analyze(get_database(app).engine)
        return account.username, passphrase, title
    finally:
        get_database(app).dispose()
        get_store(app).close()


def analyze(engine: Engine) -> None:
    """Planner statistics and visibility map for the freshly loaded schema.

    A production server's autovacuum does this after a bulk of writes; the
    test server runs with autovacuum off, so without it PostgreSQL would plan
    the list page for an empty table (a sort of the whole vault instead of
    reading twenty rows of an index).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def blob_key(environment: dict[str, str], document_id: uuid.UUID) -> str:
    """The blob key of `document_id`'s current version (what the baseline reads)."""
    from sqlalchemy import select

    from vault.core.db import make_engine
    from vault.models import Blob, Document, DocumentVersion

    engine = make_engine(environment["VAULT_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    select(Blob.key)
                    .join(DocumentVersion, DocumentVersion.blob_id == Blob.id)
                    .join(Document, Document.id == DocumentVersion.document_id)
                    .where(
                        Document.id == document_id,
                        DocumentVersion.version == Document.current_version,
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


class Gunicorn:
    """``gunicorn wsgi:app`` on a free loopback port, in its own process group."""

    def __init__(
        self,
        environment: dict[str, str],
        scratch: Path,
        workers: int,
        threads: int,
        wsgi_app: str = "wsgi:app",
    ) -> None:
        from tests.services import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = scratch / "gunicorn.log"
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            wsgi_app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--no-control-socket",
            "--error-logfile",
            str(self.log_path),
        ]
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=dict(
                    os.environ,
                    **environment,
                    PYTHONPATH=os.pathsep.join(
                        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
                    ),
                ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers = workers

    def wait_ready(self, timeout: float = 60.0) -> None:
        from urllib3 import PoolManager
        from urllib3.exceptions import HTTPError

        http = PoolManager()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(f"bench: gunicorn exited at start-up:\n{self.log_tail()}")
                try:
                    response = http.request("GET", self.base + "/health", retries=False)
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
                except (HTTPError, OSError):
                    pass
                time.sleep(0.2)
        finally:
            http.clear()
        raise SystemExit(f"bench: gunicorn not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The master's children (no /proc/PID/task/PID/children everywhere)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, split after ")".
            if int(stat.rpartition(")")[2].split()[1]) == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def pids(self) -> list[int]:
        return [self.process.pid, *self.worker_pids()]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# -- memory ------------------------------------------------------------------------


def vm_mib(pid: int) -> dict[str, float]:
    """``VmHWM`` (peak RSS) and ``VmRSS`` of `pid`, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                values[name] = int(rest.split()[0]) / 1024
    if len(values) != 2:
        raise SystemExit(f"bench: no VmHWM/VmRSS for process {pid}")
    return values


def reset_hwm(pid: int) -> bool:
    """Reset `pid`'s VmHWM to its current RSS (Linux >= 4.0); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Memory:
    """The peak RSS of each server process, read at the end of every phase."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.initial = server.pids()
        #: pid -> the largest VmHWM read (kept across resets)
        self.peak: dict[int, float] = {}
        #: pid -> VmRSS at the last read
        self.rss: dict[int, float] = {}

    def read(self, phase: str) -> dict[int, float]:
        pids = self.server.pids()
        if pids != self.initial:
            raise SystemExit(
                f"bench: gunicorn's processes changed ({self.initial} -> {pids}): "
                f"a worker died\n{self.server.log_tail()}"
            )
        read = {pid: vm_mib(pid) for pid in pids}
        now = {pid: values["VmHWM"] for pid, values in read.items()}
        self.rss = {pid: values["VmRSS"] for pid, values in read.items()}
        for pid, value in now.items():
            self.peak[pid] = max(self.peak.get(pid, 0.0), value)
        log(
            f"memory {phase}: peak (VmHWM) / now (VmRSS): "
            + ", ".join(
                f"{'master' if pid == pids[0] else 'worker'} "
                f"{values['VmHWM']:.0f}/{values['VmRSS']:.0f} MiB"
                for pid, values in read.items()
            )
        )
        return now

    def reset(self) -> bool:
        return all(reset_hwm(pid) for pid in self.server.pids())

    def checkpoint(self) -> tuple[float, float]:
        """Quietly: the largest worker VmHWM (peak kept), and the largest VmRSS."""
        read = {pid: vm_mib(pid) for pid in self.server.worker_pids()}
        for pid, values in read.items():
            self.peak[pid] = max(self.peak.get(pid, 0.0), values["VmHWM"])
        return (
            max(values["VmHWM"] for values in read.values()),
            max(values["VmRSS"] for values in read.values()),
        )


# -- latency -----------------------------------------------------------------------


def process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of `pids` still running."""
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def pids_named(name: str) -> list[int]:
    """Processes whose command is `name` (PostgreSQL's backends: not ours, readable)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def machine_cpu() -> float:
    """CPU seconds that the whole machine spent busy so far (all cores)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time used during a phase: gunicorn, services, this process, anything else.

    "Services" are every PostgreSQL backend and our SeaweedFS; a backend that
    ends during the phase is missed (the app's connections are pooled). What
    the machine spent beyond all of these ("anything else") is other work
    sharing the machine with the measurement: another test run, say.
    """

    def __init__(self, server: Gunicorn, weed: SeaweedFS) -> None:
        self.server, self.weed = server, weed
        self.started = 0.0
        self.before = self._sample()

    def _sample(self) -> tuple[dict[int, float], dict[int, float], float, float]:
        services = pids_named("postgres")
        if self.weed._process is not None:
            services.append(self.weed._process.pid)
        return (
            process_cpu(self.server.pids()),
            process_cpu(services),
            time.process_time(),
            machine_cpu(),
        )

    def start(self) -> None:
        self.before = self._sample()
        self.started = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """CPU seconds of each part since `start`, and the phase's wall time."""
        after = self._sample()

        def grown(now: dict[int, float], then: dict[int, float]) -> float:
            return sum(value - then.get(pid, 0.0) for pid, value in now.items())

        used = {
            "wall": time.perf_counter() - self.started,
            "gunicorn": grown(after[0], self.before[0]),
            "services": grown(after[1], self.before[1]),
            "client": after[2] - self.before[2],
            "machine": after[3] - self.before[3],
        }
        used["other"] = used["machine"] - used["gunicorn"] - used["services"] - used["client"]
        return used


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def concurrent_gets(
    clients: list[Client], path: str, must_contain: str, requests: int, warmup: int
) -> list[float]:
    """Every client GETs `path` `requests` times, all at once; the latencies (s)."""
    from markupsafe import escape

    barrier = threading.Barrier(len(clients))
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(client: Client) -> None:
        try:
            for _ in range(warmup):
                client.get(path)
            barrier.wait()
            mine = []
            for _ in range(requests):
                started = time.perf_counter()
                html = client.get(path)
                mine.append(time.perf_counter() - started)
                if str(escape(must_contain)) not in html:
                    raise SystemExit(f"bench: {path} does not show {must_contain!r}")
            with lock:
                times.extend(mine)
        except BaseException as e:
            barrier.abort()
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return times


# -- transfers ---------------------------------------------------------------------


def make_source(path: Path, size: int) -> str:
    """A file the app accepts as a PDF: a PDF header, then random bytes."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        left = size - len(head)
        f.write(head)
        digest.update(head)
        while left:
            chunk = os.urandom(min(MiB, left))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def multipart(
    fields: dict[str, str], source: Path
) -> tuple[Callable[[], Iterator[bytes]], dict[str, str]]:
    """A form body as a browser sends it (fields, then the file), streamed from disk."""
    boundary = "----vaultbench" + secrets.token_hex(12)
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{source.name}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + source.stat().st_size + len(tail)

    def body() -> Iterator[bytes]:
        yield head
        with source.open("rb") as f:
            while chunk := f.read(MiB):
                yield chunk
        yield tail

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    return body, headers


class Transfers:
    """The timed operations of both sides, and what they leave behind."""

    def __init__(
        self,
        client: Client,
        s3: dict[str, Any],
        source: Path,
        out: Path,
        environment: dict[str, str],
    ) -> None:
        from minio import Minio

        self.client = client
        self.source = source
        self.out = out
        self.environment = environment
        # The SDK with its own defaults: its own HTTP pool, part size, threads.
        self.minio = Minio(
            s3["endpoint"], access_key=s3["access_key"], secret_key=s3["secret_key"], secure=False
        )
        self.app_bucket = s3["bucket"]
        self.bucket = "vault-bench-baseline-" + uuid.uuid4().hex[:12]
        self.minio.make_bucket(self.bucket)
        self.uploaded: list[uuid.UUID] = []  # by the app, this round
        self.read_id: uuid.UUID | None = None
        self.read_key = ""

    # the app
    def ours_upload(self) -> None:
        body, headers = multipart(
            {
                "csrf_token": self.token,
                "title": "Grand fichier",
                "category": "other",
                "doc_type": "other",
                "expiry_date": "",
            },
            self.source,
        )
        response = self.client.request("POST", "/documents/ajouter", body=body(), headers=headers)
        location = response.headers.get("Location", "")
        if response.status != 302 or "/documents/" not in location:
            raise SystemExit(f"bench: the upload answered {response.status}")
        self.uploaded.append(uuid.UUID(urlsplit(location).path.rstrip("/").rsplit("/", 1)[1]))

    def ours_download(self) -> None:
        response = self.client.request(
            "GET", f"/documents/{self.read_id}/telecharger", preload=False
        )
        if response.status != 200:
            raise SystemExit(f"bench: the download answered {response.status}")
        with (self.out / f"ours-{uuid.uuid4().hex}").open("wb") as f:
            for chunk in response.stream(MiB):
                f.write(chunk)
        response.release_conn()

    # the SDK
    def baseline_upload(self) -> None:
        self.minio.fput_object(self.bucket, f"bench/{uuid.uuid4().hex}", str(self.source))

    def baseline_download(self) -> None:
        self.minio.fget_object(
            self.app_bucket, self.read_key, str(self.out / f"baseline-{uuid.uuid4().hex}")
        )

    def prepare_round(self) -> None:
        """Untimed: a fresh CSRF token (a browser loads the form first)."""
        self.token = self.client.csrf("/documents/ajouter")
        self.uploaded = []

    def prepare_downloads(self) -> None:
        """Untimed: both sides read the blob of this round's first upload of ours."""
        self.read_id = self.uploaded[0]
        self.read_key = blob_key(self.environment, self.read_id)
        # Its first read is much slower on SeaweedFS: nobody is billed for it.
        response = self.minio.get_object(self.app_bucket, self.read_key)
        try:
            for _ in response.stream(MiB):
                pass
        finally:
            response.close()
            response.release_conn()

    def check_outputs(self, digest: str, blob_size: int) -> None:
        for path in self.out.iterdir():
            if path.name.endswith(".part.minio"):
                continue
            if path.name.startswith("ours-"):
                if _sha256(path) != digest:
                    raise SystemExit("bench: the app's download returned wrong bytes")
            elif path.stat().st_size != blob_size:
                raise SystemExit("bench: the baseline's download has the wrong size")
            path.unlink()

    def blob_size(self) -> int:
        return int(self.minio.stat_object(self.app_bucket, self.read_key).size or 0)

    def clean_baseline(self) -> None:
        for item in self.minio.list_objects(self.bucket, prefix="bench/", recursive=True):
            self.minio.remove_object(self.bucket, str(item.object_name))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.clean_baseline()
            self.minio.remove_bucket(self.bucket)
        self.minio._http.clear()


def timed(operation: Callable[[], None]) -> float:
    # No dirty page of an earlier step may be billed to whoever comes next.
    os.sync()
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def s3_settings(url: str) -> dict[str, Any]:
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
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4, help="timed transfer rounds")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per client")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per client")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    # For comparing a patched app (module:variable on PYTHONPATH) with wsgi:app.
    parser.add_argument("--wsgi", default="wsgi:app", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    parser.add_argument(
        "--database-url", default=os.environ.get("VAULT_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    args = parser.parse_args()

    from tests.s3server import SeaweedFS, fresh_bucket

    scratch = Path(tempfile.mkdtemp(prefix="vault-bench-http-", dir=args.dir))
    schema: str | None = None
    weed: SeaweedFS | None = None
    server: Gunicorn | None = None
    clients: list[Client] = []
    transfers: Transfers | None = None
    try:
        schema, database_url = create_schema(args.database_url)
        # Room for every round's objects: deleted space is reclaimed only by
        # SeaweedFS's periodic vacuum.
        weed = SeaweedFS(volume_max=256, volume_size_mb=256)
        weed.start()
        storage_url = weed.url(fresh_bucket())
        instance = scratch / "instance"
        instance.mkdir()
        environment = app_environment(database_url, storage_url, instance)
        username, passphrase, newest = populate(environment, args.documents)

        server = Gunicorn(environment, scratch, args.workers, args.threads, args.wsgi)
        server.wait_ready()
        memory = Memory(server)
        memory.read("at start-up")
        log(f"gunicorn on {server.base}: gthread, {args.workers} workers x {args.threads} threads")

        # Signed in one after the other: each sign-in is one Argon2id (64 MiB).
        started = time.perf_counter()
        for _ in range(args.clients + 1):
            client = Client(server.base)
            clients.append(client)
            client.sign_in(username, passphrase)
        log(f"{len(clients)} sessions signed in ({time.perf_counter() - started:.1f}s)")
        memory.read("after the sign-ins")

        latency_clients, transfer_client = clients[:-1], clients[-1]
        # Cores' worth of CPU that other work took during each latency run.
        busy: list[float] = []
        meter = CpuMeter(server, weed)
        results: dict[str, list[float]] = {}
        search_hit = SEARCH_HIT if args.documents > int(SEARCH_HIT[-4:]) else ""
        for name, path, hit in (
            ("list", "/documents/", newest),
            ("search", "/documents/?" + urlencode({"q": SEARCH}), search_hit),
        ):
            meter.start()
            results[name] = concurrent_gets(latency_clients, path, hit, args.requests, args.warmup)
            cpu = meter.stop()
            wall = cpu["wall"]
            ms = [t * 1000 for t in results[name]]
            # The warm-up requests are in the CPU figures: per request of either kind.
            done = len(latency_clients) * (args.requests + args.warmup)
            used = {k: v / done * 1000 for k, v in cpu.items()}
            busy.append(cpu["other"] / wall)
            log(
                f"{name}: {len(ms)} requests by {len(latency_clients)} clients in {wall:.1f}s: "
                f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
                f"max {max(ms):.0f} ms; CPU per request: gunicorn {used['gunicorn']:.1f} ms, "
                f"PostgreSQL+SeaweedFS {used['services']:.1f} ms, this client "
                f"{used['client']:.1f} ms, anything else {used['other']:.1f} ms"
            )
        memory.read("after the latency runs")

        source = scratch / "source.pdf"
        digest = make_source(source, args.size_mib * MiB)
        out = scratch / "out"
        out.mkdir()
        transfers = Transfers(transfer_client, s3_settings(storage_url), source, out, environment)
        memory.read("before the transfers")
        rss_before = max(memory.rss.values())
        reset = memory.reset()
        meter.start()
        sides = {
            "upload": {"ours": transfers.ours_upload, "baseline": transfers.baseline_upload},
            "download": {"ours": transfers.ours_download, "baseline": transfers.baseline_download},
        }
        times: dict[str, dict[str, list[float]]] = {
            op: {"ours": [], "baseline": []} for op in sides
        }
        #: per operation: the largest worker's peak, and the RSS it started from
        growth = {op: (0.0, 0.0) for op in sides}
        for run in range(args.rounds + 1):  # run 0 is the warm-up
            first, second = ("ours", "baseline") if run % 2 else ("baseline", "ours")
            transfers.prepare_round()
            line = []
            for op in ("upload", "download"):
                if op == "download":
                    transfers.prepare_downloads()
                if reset:
                    # Which operation the server's memory grows for, for information.
                    resting = memory.checkpoint()[1]
                    memory.reset()
                pair: dict[str, list[float]] = {"ours": [], "baseline": []}
                for name in (first, second, second, first):
                    pair[name].append(timed(sides[op][name]))
                    if op == "download":
                        transfers.check_outputs(digest, transfers.blob_size())
                if reset:
                    op_peak = memory.checkpoint()[0]
                    if op_peak > growth[op][0]:
                        growth[op] = (op_peak, resting)
                if run:
                    for name, values in pair.items():
                        times[op][name].append(statistics.median(values))
                    line.append(
                        f"{op} {times[op]['ours'][-1]:.2f}s vs {times[op]['baseline'][-1]:.2f}s"
                    )
            transfers.clean_baseline()
            log(f"transfer round {run}: " + (", ".join(line) if run else "warm-up, checked"))
        memory.read("after the transfers (peaks since the last reset)")
        used = meter.stop()
        log(
            f"transfers: {used['wall']:.0f}s; CPU: gunicorn {used['gunicorn']:.0f}s, "
            f"PostgreSQL+SeaweedFS {used['services']:.0f}s, this process (the baseline's "
            f"SDK too) {used['client']:.0f}s, anything else {used['other']:.0f}s (the kernel's "
            "loopback and writeback work for the transfers included)"
        )

        size_mib = args.size_mib
        ratios = {}
        for op in ("upload", "download"):
            ours = statistics.median(times[op]["ours"])
            raw = statistics.median(times[op]["baseline"])
            ratios[op] = ours / raw
            log(
                f"{op}: app median {ours:.2f}s ({size_mib / ours:.0f} MiB/s), minio median "
                f"{raw:.2f}s ({size_mib / raw:.0f} MiB/s), ratio {ratios[op]:.3f}"
            )
        peak = max(memory.peak.values())
        log(
            f"server peak RSS: largest process {peak:.0f} MiB, sum over the "
            f"{len(memory.peak)} processes {sum(memory.peak.values()):.0f} MiB; "
            + (
                f"during the transfers alone: largest {max(g[0] for g in growth.values()):.0f} MiB "
                f"(VmHWM reset before them, when the largest RSS was {rss_before:.0f} MiB); "
                + ", ".join(
                    f"{op}s: up to {peak_:.0f} MiB (from {rest:.0f} MiB at rest)"
                    for op, (peak_, rest) in growth.items()
                )
                if reset
                else "(VmHWM could not be reset: no transfers-only figure)"
            )
        )
        if max(busy) > BUSY_WARNING:
            log(
                f"WARNING: other work used up to {max(busy):.2f} cores of the machine during "
                "the latency runs: the figures are disturbed, run again on a quiet machine"
            )
        list_p95 = percentile([t * 1000 for t in results["list"]], 95)
        search_p95 = percentile([t * 1000 for t in results["search"]], 95)
        print(
            f"http_bench upload_ratio={ratios['upload']:.3f} "
            f"download_ratio={ratios['download']:.3f} "
            f"server_peak_rss_mib={peak:.0f} "
            f"list_p95_ms={list_p95:.0f} search_p95_ms={search_p95:.0f}",
            flush=True,
        )
    finally:
        if transfers is not None:
            transfers.close()
        for client in clients:
            client.close()
        if server is not None:
            server.stop()
        if weed is not None:
            weed.close()
        if schema is not None:
            drop_schema(args.database_url, schema)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
