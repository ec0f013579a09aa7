"""Prometheus metrics: what the service does, counted without a word about anyone.

Every metric is listed in docs/operations.md ("Metrics"). Labels take a few
fixed values only: a route is Flask's URL rule (`/documents/<uuid:document_id>`),
never the path; an outcome or a kind is a word of this module. No label ever
holds a username, an id, a title, a file name or an address: a scrape is read
by people who may not read the vault (tests/integration/core/test_canary_ops.py
proves it after a full journey).

Under gunicorn each worker is a process: with `PROMETHEUS_MULTIPROC_DIR` set
(the image sets it, docker/gunicorn.conf.py empties it at start), prometheus-
client writes each process's values to files there and a scrape adds them up
(`vault.core.monitoring`). This module imports nothing from Flask: services
count where things happen.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Histogram

# A command run beside gunicorn (`vault ...` in the app's container) counts into
# the same folder; it must exist before the first value is written.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)

# Page loads are tens of milliseconds; uploads and downloads stream for minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REQUESTS = Counter(
    "vault_http_requests",
    "Requests answered, by method, route (the URL rule, never the path) and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "vault_http_request_duration_seconds",
    "Time to answer a request (until the response starts; a streamed body is not counted).",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
UPLOADS = Counter(
    "vault_uploads",
    "Uploads through the one intake (documents/intake.py), by outcome: stored, refused "
    "(the person's input: size, type, quota, form) or failed (storage, database).",
    ["outcome"],
)
UPLOAD_BYTES = Counter("vault_upload_bytes", "Plaintext bytes of the uploads stored.")
DOWNLOADS = Counter(
    "vault_downloads",
    "Plaintexts sent by the one send path (documents/sending.py), by kind "
    "(document, preview, sheet) and outcome: sent, or failed (broken off mid-stream).",
    ["kind", "outcome"],
)
DOWNLOAD_BYTES = Counter(
    "vault_download_bytes", "Plaintext bytes sent by the one send path, by kind.", ["kind"]
)
SIGNIN_FAILURES = Counter(
    "vault_signin_failures",
    "Sign-ins refused (wrong name or secret), by what was typed: password, activation, recovery.",
    ["kind"],
)
SIGNIN_THROTTLED = Counter(
    "vault_signin_throttled",
    "Sign-ins held back by a limit: per name (growing delays) or per address (the limiter).",
    ["limit"],
)
PREVIEWS = Counter(
    "vault_previews",
    "Preview worker runs, by outcome: made, failed (the document: recorded, never retried), "
    "busy (no free worker), late (deadline) or error (the sandbox could not start).",
    ["outcome"],
)
JOB_RUNS = Counter(
    "vault_job_runs",
    "Scheduled jobs run by `vault jobs run`, by job and outcome (ok, failed, skipped).",
    ["job", "outcome"],
)
JOB_ITEMS = Counter("vault_job_items", "Items a scheduled job handled, by job.", ["job"])
JOB_DURATION = Histogram(
    "vault_job_duration_seconds",
    "How long each scheduled job took.",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
