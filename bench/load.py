"""Load: fifty people and counsellors using the app at once, on the production-like stack.

Everything runs on this machine and is removed at the end, also on failure or
Ctrl-C: a PostgreSQL database of its own (``vault_load_<random>`` on the
tests' server, 127.0.0.1:5432, or ``--server``), created and migrated here;
a SeaweedFS (``tests/s3server.py``: every S3 request signed); and the app as
the image runs it, ``gunicorn -c docker/gunicorn.conf.py wsgi:app`` (4
workers of 2 threads), in production mode with secrets generated for the run,
``VAULT_LOG_FORMAT=json`` and a metrics folder as in the image. Only the bind
address differs, and the control socket is off. No TLS: the app sits behind a
TLS proxy in production; the client keeps the ``Secure`` cookies by hand.

Set-up, not timed: the accounts (``--users``: four people for each
counsellor) opened and activated through the app's services, at production
Argon2id cost; each person given to a counsellor, with 20 documents and an
open request from their counsellor. Then ``VACUUM ANALYZE``.

Timed: each user is an asyncio task with its own ``httpx.AsyncClient``
(its own connection and cookies), starting at a random moment of the first
minute, thinking 1 to 4 seconds between requests, and running until
``--seconds`` are over:

- a person signs in, then repeatedly: the list, a search, a document's page,
  the journal, an upload (a JPEG photo or a PDF of 1 to 5 MiB, through the
  add form, as a browser sends it), the download of a document uploaded in
  this run (its SHA-256 compared with what was sent), a share of a document
  with their counsellor, an answer to an open request; signs out and in
  again every tenth round;
- a counsellor signs in, then repeatedly: their home, a person's page, a
  shared document's page and its download (SHA-256 compared when the bench
  uploaded it), a deposit of a file into the person's vault, a request.

Every answer is checked (status, and the page's content where it matters):
a wrong one is an error. ``page_p95_ms`` is over the GET pages (HTML), apart
from the sign-ins (``POST /connexion``) and the transfers (uploads, deposits
and downloads). ``server_peak_rss_mib`` is the largest peak RSS (``VmHWM``)
of gunicorn's workers. The client's own CPU is printed: it must stay small
beside the server's on two cores (docs/benchmarks.md).

The last line is exactly (one line)::

    load_bench users=50 seconds=300 requests=N errors=E mismatches=M page_p95_ms=P
        signin_p95_ms=S transfer_p95_ms=T server_peak_rss_mib=R
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from tests.cookies import cookie_header, keep_cookies  # noqa: E402 (needs the path above)

MiB = 1024 * 1024
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DOC_RE = re.compile(r'href="/documents/([0-9a-f-]{36})"')
REQUEST_RE = re.compile(r'href="/demandes/([0-9a-f-]{36})"')
FOLLOWED_RE = re.compile(r'href="/suivi/([0-9a-f-]{36})/"')
SHARED_RE = re.compile(r'href="/suivi/([0-9a-f-]{36})/documents/([0-9a-f-]{36})"')
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SEARCHES = ("attestation", "facture", "bulletin", "courrier", "diplome", "releve")
KINDS = (
    ("Attestation CAF", "benefits", "benefits_certificate"),
    ("Facture", "housing", "housing_other"),
    ("Relevé de compte", "benefits", "bank_details"),
    ("Bulletin de salaire", "work", "payslip"),
    ("Courrier", "other", "other"),
    ("Diplôme", "education", "diploma"),
)
PREFILLED = 20
# Users arrive within the first minute: fifty sign-ins in twenty seconds
# (Argon2id at 64 MiB each) saturated the two cores (docs/benchmarks.md).
RAMP = 60.0
COUNSELLOR_EVERY = 5  # one user in five is a counsellor


def log(message: str) -> None:
    print(message, flush=True)


# --- files ---------------------------------------------------------------------------------------


def make_image(size: int, seed: int, kind: str) -> bytes:
    """A photo of about `size` bytes as a JPEG, or as a one-page PDF holding it (a scan).

    Noise compresses little, so the size is a phone's photo's; both are real
    files (the document's page counts its pages, the preview decodes it).
    """
    from PIL import Image

    rng = random.Random(seed)
    side = 256
    while True:
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        out = io.BytesIO()
        image.save(out, kind, quality=92)
        if out.tell() >= size * 0.9 or side > 4000:
            return out.getvalue()
        side = int(side * (size / out.tell()) ** 0.5 * 1.02) + 8


@dataclass
class Files:
    """A few photos and PDFs of 1 to 5 MiB; each upload adds a random trailer (a distinct file)."""

    items: list[tuple[str, str, bytes]] = field(default_factory=list)

    @classmethod
    def make(cls) -> Files:
        files = cls()
        for k, mib in enumerate((1, 2, 3, 4, 5)):
            files.items.append(("image/jpeg", f"photo-{k}.jpg", make_image(mib * MiB, k, "JPEG")))
            files.items.append(
                ("application/pdf", f"scan-{k}.pdf", make_image(mib * MiB, 100 + k, "PDF"))
            )
        return files

    def pick(self, rng: random.Random) -> tuple[str, str, bytes]:
        mime, name, data = rng.choice(self.items)
        return mime, name, data + b"\n" + secrets.token_hex(16).encode() + b"\n"


# --- statistics ----------------------------------------------------------------------------------


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    kinds: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    mismatches: int = 0
    requests: int = 0

    def add(self, endpoint: str, kind: str, ms: float) -> None:
        self.times[endpoint].append(ms)
        self.kinds[endpoint] = kind
        self.requests += 1

    def of_kind(self, kind: str) -> list[float]:
        return [t for e, ts in self.times.items() if self.kinds[e] == kind for t in ts]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


class Refused(Exception):
    """An answer the user did not expect: counted as an error."""


# --- one user ------------------------------------------------------------------------------------


class Browser:
    """One user's browser: its own connection, and cookies kept by hand (Secure ones too)."""

    def __init__(self, base: str, stats: Stats) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=httpx.Timeout(120.0),
            # Idle connections dropped after 1.5 s, before gunicorn closes
            # them (keepalive 2 s): a request sent on a connection the server
            # is closing fails, where a browser would quietly retry it.
            limits=httpx.Limits(max_connections=1, keepalive_expiry=1.5),
            follow_redirects=False,
        )
        self.cookies: dict[str, str] = {}
        self.stats = stats

    async def send(
        self,
        method: str,
        path: str,
        endpoint: str,
        kind: str,
        *,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> Any:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = cookie_header(self.cookies)
        start = time.perf_counter()
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)
            body = await response.aread()
        except Exception as e:
            raise Refused(f"{method} {endpoint}: {type(e).__name__}: {e}") from None
        ms = (time.perf_counter() - start) * 1000
        keep_cookies(self.cookies, response.headers.get_list("set-cookie"))
        if response.status_code not in expect:
            raise Refused(f"{method} {endpoint}: status {response.status_code}")
        self.stats.add(f"{method} {endpoint}", kind, ms)
        return response, body

    async def page(self, path: str, endpoint: str) -> str:
        _, body = await self.send("GET", path, endpoint, "page")
        return str(body.decode())

    @staticmethod
    def csrf(html: str) -> str:
        match = CSRF_RE.search(html)
        if not match:
            raise Refused("no CSRF token on the form")
        return match.group(1)

    async def post_form(
        self, path: str, endpoint: str, fields: dict[str, str], kind: str = "action"
    ) -> Any:
        response, _ = await self.send("POST", path, endpoint, kind, expect=(302, 303), data=fields)
        return response

    async def upload(
        self, path: str, endpoint: str, fields: dict[str, str], file: tuple[str, str, bytes]
    ) -> str:
        """A multipart form, fields first, file last (as a browser sends it): its Location."""
        mime, name, data = file
        response, _ = await self.send(
            "POST",
            path,
            endpoint,
            "transfer",
            expect=(302, 303),
            data=fields,
            files={"file": (name, data, mime)},
        )
        return str(response.headers.get("location", ""))

    async def sign_in(self, username: str, passphrase: str) -> None:
        html = await self.page("/connexion", "/connexion")
        fields = {"csrf_token": self.csrf(html), "username": username, "passphrase": passphrase}
        await self.post_form("/connexion", "/connexion", fields, kind="signin")

    async def sign_out(self, html: str) -> None:
        await self.post_form("/deconnexion", "/deconnexion", {"csrf_token": self.csrf(html)})
        self.cookies.clear()

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class Shared:
    """What every user's task can see: file hashes by document id."""

    sha256: dict[str, str] = field(default_factory=dict)


async def think(rng: random.Random, deadline: float) -> bool:
    await asyncio.sleep(rng.uniform(1.0, 4.0))
    return time.monotonic() < deadline


PERSON_STEPS = ("list", "search", "open", "journal", "upload", "download", "share", "answer")


async def visit(
    browser: Browser,
    account: dict[str, Any],
    home: str,
    one_round: Callable[[], Awaitable[bool]],
    stats: Stats,
    rng: random.Random,
    deadline: float,
) -> None:
    """A user's whole visit: arrive, sign in, rounds until the deadline (or until
    `one_round` says the time is up), and every tenth round sign out from `home`
    and in again. A refusal outside a round ends the visit and counts as an error."""
    try:
        await asyncio.sleep(rng.uniform(0, RAMP))
        await browser.sign_in(account["username"], account["passphrase"])
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            if not await one_round():
                return
            if rounds % 10 == 0:
                html = await browser.page(home, home)
                await browser.sign_out(html)
                await browser.sign_in(account["username"], account["passphrase"])
    except Refused as e:
        stats.errors.append(str(e))
    finally:
        await browser.close()


async def person_user(
    base: str,
    account: dict[str, Any],
    files: Files,
    shared: Shared,
    stats: Stats,
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    browser = Browser(base, stats)
    mine: list[str] = []  # documents this user uploaded in the run

    async def one_round() -> bool:
        for step in PERSON_STEPS:
            try:
                await person_step(browser, step, account, files, shared, mine, rng)
            except Refused as e:
                stats.errors.append(str(e))
            if not await think(rng, deadline):
                return False
        return True

    await visit(browser, account, "/documents/", one_round, stats, rng, deadline)


async def person_step(
    browser: Browser,
    step: str,
    account: dict[str, Any],
    files: Files,
    shared: Shared,
    mine: list[str],
    rng: random.Random,
) -> None:
    if step == "list":
        html = await browser.page("/documents/", "/documents/")
        if not DOC_RE.search(html):
            raise Refused("GET /documents/: no document listed")
    elif step == "search":
        term = rng.choice(SEARCHES)
        html = await browser.page(f"/documents/?q={term}", "/documents/?q=")
        if term == "attestation" and not DOC_RE.search(html):
            raise Refused("GET /documents/?q=: the search found nothing")
    elif step == "open":
        document = rng.choice(mine or account["documents"])
        await browser.page(f"/documents/{document}", "/documents/<id>")
    elif step == "journal":
        await browser.page("/journal/", "/journal/")
    elif step == "upload":
        html = await browser.page("/documents/ajouter", "/documents/ajouter")
        file = files.pick(rng)
        stem, category, doc_type = rng.choice(KINDS)
        location = await browser.upload(
            "/documents/ajouter",
            "/documents/ajouter",
            {
                "csrf_token": browser.csrf(html),
                "title": f"{stem} {rng.randrange(10000):04d}",
                "category": category,
                "doc_type": doc_type,
                "expiry_date": "",
            },
            file,
        )
        found = UUID_RE.search(location)
        if not found or not location.startswith("/documents/"):
            raise Refused(f"POST /documents/ajouter: redirected to {location!r}")
        shared.sha256[found.group(0)] = hashlib.sha256(file[2]).hexdigest()
        mine.append(found.group(0))
    elif step == "download":
        document = rng.choice(mine or account["documents"])
        _, body = await browser.send(
            "GET", f"/documents/{document}/telecharger", "/documents/<id>/telecharger", "transfer"
        )
        expected = shared.sha256.get(document)
        if expected is None or hashlib.sha256(body).hexdigest() != expected:
            browser.stats.mismatches += 1
    elif step == "share":
        document = rng.choice(mine or account["documents"])
        html = await browser.page(f"/partages/document/{document}", "/partages/document/<id>")
        await browser.post_form(
            f"/partages/document/{document}",
            "/partages/document/<id>",
            {
                "csrf_token": browser.csrf(html),
                "counsellor": account["counsellor_id"],
                "duration": "30",
            },
        )
    elif step == "answer":
        html = await browser.page("/demandes/", "/demandes/")
        found = REQUEST_RE.findall(html)
        if found:
            request_id = rng.choice(found)
            form = await browser.page(f"/demandes/{request_id}", "/demandes/<id>")
            if "csrf_token" in form:
                await browser.post_form(
                    f"/demandes/{request_id}",
                    "/demandes/<id>",
                    {
                        "csrf_token": browser.csrf(form),
                        "document": rng.choice(mine or account["documents"]),
                    },
                )


async def counsellor_user(
    base: str,
    account: dict[str, Any],
    files: Files,
    shared: Shared,
    stats: Stats,
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    browser = Browser(base, stats)

    async def one_round() -> bool:
        try:
            await counsellor_round(browser, files, shared, rng, deadline)
        except Refused as e:
            stats.errors.append(str(e))
        return await think(rng, deadline)

    await visit(browser, account, "/suivi/", one_round, stats, rng, deadline)


async def counsellor_round(
    browser: Browser, files: Files, shared: Shared, rng: random.Random, deadline: float
) -> None:
    home = await browser.page("/suivi/", "/suivi/")
    people = FOLLOWED_RE.findall(home)
    if not people:
        raise Refused("GET /suivi/: nobody followed")
    person = rng.choice(people)
    if not await think(rng, deadline):
        return
    page = await browser.page(f"/suivi/{person}/", "/suivi/<person>/")
    documents = SHARED_RE.findall(page)
    if documents:
        if not await think(rng, deadline):
            return
        _, document = rng.choice(documents)
        await browser.page(
            f"/suivi/{person}/documents/{document}", "/suivi/<person>/documents/<id>"
        )
        _, body = await browser.send(
            "GET",
            f"/suivi/{person}/documents/{document}/telecharger",
            "/suivi/<person>/documents/<id>/telecharger",
            "transfer",
        )
        expected = shared.sha256.get(document)
        if expected is not None and hashlib.sha256(body).hexdigest() != expected:
            browser.stats.mismatches += 1
    if not await think(rng, deadline):
        return
    if rng.random() < 0.5:
        form = await browser.page(f"/depots/{person}", "/depots/<person>")
        stem, category, doc_type = rng.choice(KINDS)
        location = await browser.upload(
            f"/depots/{person}",
            "/depots/<person>",
            {
                "csrf_token": browser.csrf(form),
                "title": f"{stem} (dépôt)",
                "category": category,
                "doc_type": doc_type,
                "expiry_date": "",
            },
            files.pick(rng),
        )
        if not location.startswith("/suivi/"):
            raise Refused(f"POST /depots/<person>: redirected to {location!r}")
    else:
        form = await browser.page(f"/suivi/{person}/demander", "/suivi/<person>/demander")
        await browser.post_form(
            f"/suivi/{person}/demander",
            "/suivi/<person>/demander",
            {
                "csrf_token": browser.csrf(form),
                "doc_type": rng.choice(KINDS)[2],
                "message": "Pour le rendez-vous de jeudi.",
            },
        )


# --- the services --------------------------------------------------------------------------------


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Stack:
    """Database, SeaweedFS and gunicorn, each removed by close() whatever happened."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.database = f"vault_load_{uuid.uuid4().hex[:10]}"
        self.scratch = Path(tempfile.mkdtemp(prefix="vault-load-"))
        self.weed: Any = None
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.created = False

    @property
    def database_url(self) -> str:
        return f"{self.server}/{self.database}"

    def start_services(self) -> None:
        import psycopg

        from tests.s3server import fresh_bucket, start_seaweedfs

        with psycopg.connect(psycopg_url(self.server) + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.created = True
        # Room for every upload of the run (volumes are sparse files).
        self.weed = start_seaweedfs(volume_max=64, volume_size_mb=1024)
        self.storage_url = self.weed.url(fresh_bucket())

    def environment(self) -> dict[str, str]:
        from crypto import KeyRing
        from vault.core.config import dev_escrow_pair

        if not hasattr(self, "_environment"):
            self._environment = {
                "VAULT_ENV": "production",
                "VAULT_INSTANCE_PATH": str(self.scratch / "instance"),
                "VAULT_DATABASE_URL": self.database_url,
                "VAULT_STORAGE_URL": self.storage_url,
                "VAULT_SECRET_KEY": secrets.token_urlsafe(48),
                "VAULT_SERVER_KEYS": KeyRing.generate_string(),
                "VAULT_ESCROW_PUBLIC_KEY": dev_escrow_pair()["escrow_public_key"],
                "VAULT_PUBLIC_URL": "https://coffre.example.fr",
                # As in the image (docker/Dockerfile).
                "VAULT_LOG_FORMAT": "json",
                "PROMETHEUS_MULTIPROC_DIR": str(self.scratch / "metrics"),
            }
        return self._environment

    def start_gunicorn(self) -> None:
        from tests.services import free_port

        self.port = free_port()
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "docker/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",
            "wsgi:app",
        ]
        env = dict(os.environ, **self.environment())
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        )
        with open(self.scratch / "gunicorn.log", "ab") as out:
            self.gunicorn = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.gunicorn is not None
            if self.gunicorn.poll() is not None:
                raise SystemExit(f"load bench: gunicorn exited at start-up:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (
                    httpx.get(self.base + "/health", timeout=5).status_code == 200
                    and len(self.worker_pids()) == 4
                ):
                    return
            time.sleep(0.3)
        raise SystemExit(
            f"load bench: gunicorn not ready after {timeout:.0f} s:\n{self.log_tail()}"
        )

    def worker_pids(self) -> list[int]:
        assert self.gunicorn is not None
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rpartition(")")[2].split()[1]) == self.gunicorn.pid:
                        pids.append(int(entry.name))
        return sorted(pids)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.scratch / "gunicorn.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.gunicorn.pid, signal.SIGTERM)
            try:
                self.gunicorn.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.gunicorn.pid, signal.SIGKILL)
                self.gunicorn.wait()
        if self.weed is not None:
            self.weed.close()
        if self.created:
            import psycopg

            with psycopg.connect(psycopg_url(self.server) + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.scratch, ignore_errors=True)


def vm_kib(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        parts = f.read().rpartition(")")[2].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


# --- set-up --------------------------------------------------------------------------------------


def populate(stack: Stack, users: int, files: Files) -> list[dict[str, Any]]:
    """Open and activate the accounts, assign, fill each vault: the users' descriptions."""
    from tests.factories import make_account, pdf_bytes
    from vault import create_app
    from vault.core import migrate
    from vault.core.config import Settings
    from vault.core.db import db_session, get_database
    from vault.core.extensions import get_keyring, get_store
    from vault.documents import service as documents
    from vault.models import User
    from vault.sharing import service as sharing
    from vault.sharing.requests import request_document

    app = create_app(Settings.from_env(stack.environment()))
    try:
        migrate.upgrade(get_database(app).engine)
        counsellors = max(1, users // COUNSELLOR_EVERY)
        persons = users - counsellors
        out: list[dict[str, Any]] = []
        start = time.perf_counter()
        staff = []
        for c in range(counsellors):
            passphrase = f"conseil {secrets.token_urlsafe(9)} banc essai"
            account = make_account(
                app,
                role=_role("counsellor"),
                first="Claire",
                last=f"Conseil{c}",
                passphrase=passphrase,
            )
            staff.append(account)
            out.append(
                {"role": "counsellor", "username": account.username, "passphrase": passphrase}
            )
        for p in range(persons):
            passphrase = f"coffre {secrets.token_urlsafe(9)} lumière nuit"
            account = make_account(app, first="Camille", last=f"Charge{p}", passphrase=passphrase)
            counsellor = staff[p % counsellors]
            ids = []
            with app.app_context():
                db = db_session()
                user = db.get(User, account.user.id)
                mentor = db.get(User, counsellor.user.id)
                sharing.assign(db, user, mentor, by=None)
                owner = documents.Unlocked(user, account.key)
                for i in range(PREFILLED):
                    stem, category, doc_type = KINDS[i % len(KINDS)]
                    # Two photos or scans of 1 MiB, then letters of a page.
                    mime, name, data = (
                        files.items[i]
                        if i < 2
                        else ("application/pdf", f"lettre-{i}.pdf", pdf_bytes(f"{stem} {i:04d}"))
                    )
                    document = documents.add_document(
                        db,
                        get_store(app),
                        get_keyring(app),
                        owner,
                        [data],
                        mime=mime,
                        title=f"{stem} {i:04d}",
                        filename=name,
                        category=category,
                        doc_type=doc_type,
                        expiry_date=None,
                        actor=user,
                    )
                    ids.append(str(document.id))
                request_document(db, mentor, user, "id_card", "Pour le dossier de sortie.")
                db.commit()
            out.append(
                {
                    "role": "person",
                    "username": account.username,
                    "passphrase": passphrase,
                    "counsellor_id": str(counsellor.user.id),
                    "documents": ids,
                }
            )
        log(
            f"set-up: {counsellors} counsellors and {persons} people with {PREFILLED} documents "
            f"each, in {time.perf_counter() - start:.0f} s"
        )
        with (
            get_database(app)
            .engine.connect()
            .execution_options(isolation_level="AUTOCOMMIT") as connection
        ):
            connection.exec_driver_sql("VACUUM ANALYZE")
        return out
    finally:
        get_database(app).dispose()
        get_store(app).close()


def _role(name: str) -> Any:
    from vault.models import Role

    return Role(name)


# --- main ----------------------------------------------------------------------------------------


async def run_users(
    base: str,
    accounts: list[dict[str, Any]],
    files: Files,
    shared: Shared,
    stats: Stats,
    seconds: int,
) -> None:
    deadline = time.monotonic() + seconds
    tasks = []
    for k, account in enumerate(accounts):
        user = person_user if account["role"] == "person" else counsellor_user
        tasks.append(
            asyncio.create_task(user(base, account, files, shared, stats, deadline, 1000 + k))
        )
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--server", default=os.environ.get("VAULT_LOAD_SERVER", DEFAULT_SERVER))
    args = parser.parse_args()
    import logging

    # The app's logging set-up (in this process, for the set-up) would print every request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log(
        f"load bench: {args.users} users for {args.seconds} s; load average before "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    stack = Stack(args.server)
    # A SIGTERM (a CI timeout) cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        files = Files.make()
        shared = Shared()
        stack.start_services()
        accounts = populate(stack, args.users, files)
        # The prefilled documents' hashes: the first two of each vault are known files.
        for account in accounts:
            for i, document in enumerate(account.get("documents", [])[:2]):
                shared.sha256[document] = hashlib.sha256(files.items[i][2]).hexdigest()
        logging.getLogger("httpx").setLevel(logging.WARNING)
        stack.start_gunicorn()
        workers = stack.worker_pids()
        log(f"gunicorn: master {stack.gunicorn.pid if stack.gunicorn else '?'}, workers {workers}")
        stats = Stats()
        server_cpu = {pid: cpu_seconds(pid) for pid in workers}
        own_cpu = time.process_time()
        started = time.monotonic()
        load_before = os.getloadavg()
        asyncio.run(run_users(stack.base, accounts, files, shared, stats, args.seconds))
        elapsed = time.monotonic() - started
        own_cpu = time.process_time() - own_cpu
        load_after = os.getloadavg()
        if sorted(stack.worker_pids()) != workers:
            stats.errors.append("a gunicorn worker was replaced during the run")
        server_cpu_used = sum(
            cpu_seconds(pid) - t for pid, t in server_cpu.items() if Path(f"/proc/{pid}").exists()
        )
        peaks = {pid: vm_kib(pid, "VmHWM") / 1024 for pid in stack.worker_pids()}
        master_peak = vm_kib(stack.gunicorn.pid, "VmHWM") / 1024 if stack.gunicorn else 0.0
        if stats.errors:
            server_errors = [
                line
                for line in stack.log_tail(2000).splitlines()
                if '"level": "ERROR"' in line or '"level": "WARNING"' in line or "Traceback" in line
            ]
            for line in server_errors[-15:]:
                log(f"server: {line[:300]}")
    finally:
        stack.close()
        log("cleaned up: gunicorn and SeaweedFS stopped, database dropped, scratch removed")

    log("")
    log(f"{'endpoint':52s} {'n':>5s} {'p50':>8s} {'p95':>8s} {'p99':>8s}  (ms)")
    for endpoint in sorted(stats.times, key=lambda e: (stats.kinds[e], e)):
        values = stats.times[endpoint]
        log(
            f"{stats.kinds[endpoint]:8s} {endpoint:43s} {len(values):5d} "
            f"{percentile(values, 50):8.0f} "
            f"{percentile(values, 95):8.0f} {percentile(values, 99):8.0f}"
        )
    for error in stats.errors[:20]:
        log(f"error: {error}")
    log(
        f"run: {elapsed:.0f} s, {stats.requests} requests ({stats.requests / elapsed:.1f}/s), "
        f"{len(shared.sha256)} hashes known"
    )
    log(
        f"cpu: gunicorn workers {server_cpu_used:.0f} s ({server_cpu_used / elapsed:.2f} cores), "
        f"this client {own_cpu:.0f} s ({own_cpu / elapsed:.2f} cores)"
    )
    log(
        f"memory: workers' peak RSS {', '.join(f'{v:.0f}' for v in peaks.values())} MiB; "
        f"master {master_peak:.0f} MiB"
    )
    log(
        f"load average: before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}"
    )
    log(
        f"load_bench users={args.users} seconds={args.seconds} requests={stats.requests} "
        f"errors={len(stats.errors)} mismatches={stats.mismatches} "
        f"page_p95_ms={percentile(stats.of_kind('page'), 95):.0f} "
        f"signin_p95_ms={percentile(stats.of_kind('signin'), 95):.0f} "
        f"transfer_p95_ms={percentile(stats.of_kind('transfer'), 95):.0f} "
        f"server_peak_rss_mib={max(peaks.values(), default=0):.0f}"
    )


if __name__ == "__main__":
    main()
