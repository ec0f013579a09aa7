"""The Flask side of metrics and logs: a request id, request counts, and /metrics.

Each request gets an id of its own (never one a client sends: a client could
put anything in it), carried by every log line written while it runs
(vault.core.logs) and returned as `X-Request-Id`; gunicorn's JSON access line
carries it too. What the person typed in the request (form and query values,
the link token of the path) is masked in every log line of the request.

`/metrics` answers only to the networks of `VAULT_METRICS_ALLOW` (empty, the
default: to no one) and is a plain 404 to everyone else, so it says nothing
about itself. Under gunicorn it adds up every worker's values
(`PROMETHEUS_MULTIPROC_DIR`, vault.core.metrics). Web edge by design: Flask.
"""

from __future__ import annotations

import ipaddress
import os
import time
import uuid
from collections.abc import Iterable, Iterator

from flask import Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

import storage
from vault.core import logs, metrics
from vault.core.config import Settings
from vault.core.db import db_session
from vault.core.extensions import get_settings, get_store
from vault.models import JobOutcome, JobRun

HEALTH_PROBE_KEY = "health/probe"
REQUEST_ID_HEADER = "X-Request-Id"
# Requests no URL rule matched (404s): one label, never the path asked for.
UNMATCHED = "<unmatched>"


def init_app(app: Flask, settings: Settings) -> None:
    # First of all before_request functions: even a request that CSRF or the
    # limiter refuses has its id, its clock and its masks.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_end)
    app.add_url_rule("/metrics", "metrics", metrics_page)


def _start() -> None:
    g.request_id = uuid.uuid4().hex
    g.request_started = time.monotonic()
    logs.new_request(g.request_id)
    logs.mask(*request.args.values(), *_strings(request.view_args or {}))
    # Plain forms only: a multipart body is an upload, read as a stream by its
    # view (the intake masks its title and file name itself).
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        logs.mask(*(v for k, v in request.form.items() if k != "csrf_token"))


def _strings(values: dict[str, object]) -> Iterator[str]:
    return (v for v in values.values() if isinstance(v, str))


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    metrics.REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        metrics.LATENCY.labels(request.method, route).observe(time.monotonic() - started)
    return response


def _end(_error: BaseException | None) -> None:
    # Streamed bodies have finished by now; the thread's next request starts afresh.
    logs.new_request("-")


def allowed(address: str | None, networks: Iterable[str]) -> bool:
    """Whether `address` lies in one of `networks` (none given: nobody is)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in networks)


def metrics_page() -> Response:
    """The Prometheus text format, to the allowed networks only (a 404 to anyone else)."""
    if not allowed(request.remote_addr, get_settings().metrics_allow):
        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Health())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ThisProcess(Collector):
    """The process's own metrics (one process: `vault run`, tests)."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from REGISTRY.collect()


class _Health(Collector):
    """Measured at each scrape: do the database and the blob store answer; jobs' last success."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = db_session()
        database = GaugeMetricFamily("vault_database_up", "1 if the database answers, else 0.")
        last = GaugeMetricFamily(
            "vault_job_last_success_timestamp_seconds",
            "When each scheduled job last ended well (Unix time).",
            labels=["job"],
        )
        try:
            db.execute(text("SELECT 1"))
            rows = db.execute(
                select(JobRun.job, func.max(JobRun.finished_at))
                .where(JobRun.outcome == JobOutcome.OK)
                .group_by(JobRun.job)
            ).all()
            database.add_metric([], 1)
            for job, finished in rows:
                last.add_metric([job], finished.timestamp())
        except SQLAlchemyError:
            db.rollback()
            database.add_metric([], 0)
        yield database
        yield last
        store = GaugeMetricFamily("vault_storage_up", "1 if the blob store answers, else 0.")
        try:
            get_store().exists(HEALTH_PROBE_KEY)
            store.add_metric([], 1)
        except storage.StorageError:
            store.add_metric([], 0)
        yield store
