"""gunicorn's settings in production: the image runs `gunicorn -c docker/gunicorn.conf.py wsgi:app`.

One file rather than command-line flags so that the tests and benchmarks that
run the app "as in the image" read the very same settings (they override only
the bind address, and TLS where a test terminates it in gunicorn itself).
"""

import os
from typing import Any

# gthread: a sync worker is killed after --timeout even while it streams a long upload.
# Four processes of two threads on two cores: pages wait less for the GIL than
# with two processes of four (docs/benchmarks.md), and eight transfers can run.
bind = "0.0.0.0:8000"
workers = 4
worker_class = "gthread"
threads = 2
# The TLS proxy in front sets X-Forwarded-*; the app trusts VAULT_PROXY_HOPS of them.
forwarded_allow_ips = "*"
accesslog = "-"
# No log line may hold a link token (/lien/<token> opens a document), a query
# string (search text) or the Referer (which names both): the logger class
# redacts every access-log atom and error-log line; the format leaves the
# Referer out. tests/integration/core/test_log_privacy.py runs this file.
# With VAULT_LOG_FORMAT=json (the image's), each access line is one JSON object
# (method, path, status, bytes, duration_ms, request_id) and so is every error line.
logger_class = "vault.core.logs.GunicornLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(a)s"'


def on_starting(server: object) -> None:
    """The master keeps the secrets in its environment for the workers it forks: undumpable too.

    Each worker forgets them once read and makes itself undumpable
    (vault.create_app); the master must not be readable by a process of the
    same user either (docs/operations.md, "Preview sandbox"). The metrics'
    folder starts empty: files of a previous run's workers would be added up.
    """
    from vault import make_undumpable

    make_undumpable()
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        # Only prometheus-client's own files, whatever the folder is set to.
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server: object, worker: Any) -> None:
    """A worker gone: its live gauges no longer count (its counters still add up)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: object) -> None:
    """Each serving process says at start how previews are confined (a warning without Landlock)."""
    from vault.documents import previews

    previews.log_sandbox()
