"""The app as the production image runs it, for the browser tests.

- The image's own start: ``docker/entrypoint.sh`` (``vault db upgrade``, then
  ``vault accounts first-admin``, which prints the first administrator's
  one-time code), then ``gunicorn --config docker/gunicorn.conf.py wsgi:app``.
  The tests override only the bind address, the worker count (two shared
  cores) and, where gunicorn terminates TLS itself, ``--certfile/--keyfile``.
- ``VAULT_ENV=production`` with secrets generated here: a secret key, a key
  ring, and an escrow key pair made by ``vault escrow init`` (its secret stays
  in a file of the test, as it would stay offline).
- PostgreSQL in a fresh schema, SeaweedFS S3 in a fresh bucket.
- TLS with a certificate that trustme issues for 127.0.0.1 and localhost from
  a throwaway CA. Chromium trusts that one key, as a browser trusts a real
  certificate (``--ignore-certificate-errors-spki-list``), and nothing else.
- Behind a proxy: Debian's nginx terminates TLS with ``docker/nginx-proxy.conf``
  (the file the operations guide gives operators) in front of gunicorn on
  plain HTTP, and the app trusts one hop (``VAULT_PROXY_HOPS=1``).

Nothing here sets a header by hand: the browser sends what it sends, and the
proxy adds what it adds.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.services import free_port, service_missing

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO / "docker" / "gunicorn.conf.py"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
NGINX_PROXY_CONF = REPO / "docker" / "nginx-proxy.conf"
# Two shared cores: two workers of the image's gthread threads are enough.
WORKERS = 2
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Certificate:
    """A server certificate for 127.0.0.1 and localhost, and what a client needs to trust it."""

    chain: Path  # PEM: the certificate, then its CA
    key: Path  # PEM private key
    ca: Path  # PEM: the CA alone, for Python clients
    spki_sha256: str  # base64 SHA-256 of the certificate's SubjectPublicKeyInfo

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def make_certificate(directory: Path) -> Certificate:
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    chain, key, ca = directory / "chain.pem", directory / "key.pem", directory / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    with open(chain, "wb") as out:
        for blob in issued.cert_chain_pems:
            out.write(blob.bytes())
    authority.cert_pem.write_to_path(str(ca))
    leaf = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Certificate(chain, key, ca, base64.b64encode(hashlib.sha256(spki).digest()).decode())


def production_environment(database_url: str, storage_url: str, scratch: Path) -> dict[str, str]:
    """VAULT_* for production, with secrets generated the way the README says."""
    escrow = subprocess.run(
        [str(BIN / "vault"), "escrow", "init", "--secret-file", str(scratch / "escrow-secret")],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    public = re.search(r"^VAULT_ESCROW_PUBLIC_KEY=(\S+)$", escrow.stdout, re.MULTILINE)
    assert public, escrow.stdout
    return {
        "VAULT_ENV": "production",
        "VAULT_DATABASE_URL": database_url,
        "VAULT_STORAGE_URL": storage_url,
        "VAULT_SECRET_KEY": secrets.token_urlsafe(48),
        "VAULT_SERVER_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "VAULT_ESCROW_PUBLIC_KEY": public.group(1),
    }


def _clean_environ() -> dict[str, str]:
    """This process's environment without the tests' own VAULT_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}


def wait_until(ready: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready after {READY_TIMEOUT:.0f}s:\n{log()}")


def answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Process:
    """A server in its own process group, its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# Enough for every connection this suite's Chromium opens ahead of need.
TLS_THREADS = 16


class Gunicorn(Process):
    """The image's entrypoint and gunicorn command, on a loopback port."""

    def __init__(
        self,
        environment: dict[str, str],
        scratch: Path,
        certificate: Certificate | None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.certificate = certificate
        scheme = "https" if certificate else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        command = [
            "sh",
            str(ENTRYPOINT),
            "gunicorn",
            "--config",
            str(GUNICORN_CONF),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(WORKERS),
            # gunicorn 27's control socket lives in ~/.gunicorn, one path for
            # every server of the machine: parallel test runs would share it.
            "--no-control-socket",
        ]
        if certificate is not None:
            command += ["--certfile", str(certificate.chain), "--keyfile", str(certificate.key)]
            # With TLS in gunicorn (gthread), a thread takes each new connection
            # once its TLS handshake arrives and then waits for a request: the
            # connections a browser opens ahead of need hold a thread each
            # until the browser closes them (docs/operations.md). A proxy in
            # front, as in production, holds them instead.
            command += ["--threads", str(TLS_THREADS)]
        command.append("wsgi:app")
        env = {
            **_clean_environ(),
            **environment,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "PYTHONUNBUFFERED": "1",
        }
        super().__init__("gunicorn", command, env, scratch / "gunicorn.log")

    def wait_ready(self) -> None:
        context = self.certificate.client_context() if self.certificate else None

        def ready() -> bool:
            if not self.running():
                raise AssertionError(f"gunicorn exited at start-up:\n{self.log()}")
            return answers(self.url + "/health", context)

        wait_until(ready, "gunicorn", self.log)

    def first_admin(self) -> tuple[str, str]:
        """The username and activation code that `vault accounts first-admin` printed."""
        text = self.log()
        username = re.search(r"Username:\s+(\S+)", text)
        code = re.search(r"Activation code:\s+([\d ]+\d)", text)
        assert username and code, f"no first administrator in the start-up output:\n{text}"
        return username.group(1), code.group(1)


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        service_missing("Debian's nginx is not installed (apt-get install nginx)")
    return found


class Nginx(Process):
    """nginx terminating TLS in front of `upstream`, with the vault's proxy settings."""

    def __init__(
        self, upstream: str, scratch: Path, certificate: Certificate, port: int | None = None
    ) -> None:
        executable = find_nginx()
        self.port = port or free_port()
        self.certificate = certificate
        self.url = f"https://127.0.0.1:{self.port}"
        prefix = scratch / "nginx"
        prefix.mkdir()
        # When root runs nginx its workers become `nobody`, who cannot enter
        # pytest's private folders: keep them as the user who started it.
        user = "user root;" if os.geteuid() == 0 else ""
        config = prefix / "nginx.conf"
        config.write_text(
            f"""
{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    # The most an operator's nginx would log: the vault's proxy settings
    # (NGINX_PROXY_CONF) must keep tokens and search text out of both logs.
    access_log {prefix}/access.log combined;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name 127.0.0.1 localhost;
        ssl_certificate {certificate.chain};
        ssl_certificate_key {certificate.key};
        location / {{
            proxy_pass {upstream};
            include {NGINX_PROXY_CONF};
        }}
    }}
}}
"""
        )
        super().__init__(
            "nginx", [executable, "-p", str(prefix), "-c", str(config)], {}, scratch / "nginx.log"
        )
        self.error_log = prefix / "error.log"
        self.access_log = prefix / "access.log"

    def log(self) -> str:
        files = [self.error_log, self.access_log]
        return super().log() + "".join(f.read_text(errors="replace") for f in files if f.exists())

    def wait_ready(self) -> None:
        context = self.certificate.client_context()

        def ready() -> bool:
            if not self.running():
                raise AssertionError(f"nginx exited at start-up:\n{self.log()}")
            return answers(self.url + "/health", context)

        wait_until(ready, "nginx", self.log)


@dataclass
class ProductionSite:
    """One production-mode server, as the browser reaches it."""

    mode: str  # "tls": gunicorn terminates TLS; "proxy": nginx does
    url: str  # what the browser opens
    admin_username: str
    admin_code: str
    processes: list[Process] = field(default_factory=list)
    # Filled by the first test that activates the first administrator.
    admin_passphrase: str | None = None

    def logs(self, limit: int | None = 4000) -> str:
        """What the servers wrote (the last `limit` characters of each)."""
        return "\n".join(
            f"--- {p.name}\n{p.log()[-limit if limit else 0 :]}" for p in self.processes
        )


def start_site(
    mode: str, environment: dict[str, str], scratch: Path, certificate: Certificate
) -> ProductionSite:
    # The address the browser opens is the site's public address
    # (VAULT_PUBLIC_URL, required in production): links and sheets give it.
    public_port = free_port()
    environment = {**environment, "VAULT_PUBLIC_URL": f"https://127.0.0.1:{public_port}"}
    if mode == "tls":
        app = Gunicorn(environment, scratch, certificate, port=public_port)
        processes: list[Process] = [app]
    else:
        app = Gunicorn({**environment, "VAULT_PROXY_HOPS": "1"}, scratch, None)
        processes = [app]
    site = ProductionSite(mode, app.url, "", "", processes)
    try:
        app.wait_ready()
        site.admin_username, site.admin_code = app.first_admin()
        if mode == "proxy":
            proxy = Nginx(app.url, scratch, certificate, port=public_port)
            processes.append(proxy)
            proxy.wait_ready()
            site.url = proxy.url
    except BaseException:
        stop_site(site)
        raise
    return site


def stop_site(site: ProductionSite) -> None:
    for process in reversed(site.processes):
        process.stop()


class AttackerSite:
    """Another origin (another port) that serves pages a test gives it, over TLS.

    It plays the page of another site that a signed-in person happens to open:
    its form posts to the vault on its own, with whatever the browser adds.
    """

    def __init__(self, certificate: Certificate) -> None:
        pages: dict[str, bytes] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(certificate.chain), str(certificate.key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path: str, html: str) -> str:
        self.pages[path] = html.encode()
        return self.url + path

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
