"""Metrics and JSON logs as the image serves them: gunicorn with docker/gunicorn.conf.py.

Four worker processes add their counts up through PROMETHEUS_MULTIPROC_DIR;
every line on stdout and stderr is one JSON object; each request's id is the
`X-Request-Id` it answered with and the `request_id` of its access line;
/metrics answers only to the allowed network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.factories import make_account
from tests.integration.served_app import Client, fresh_postgresql, gunicorn, new_deployment

SEARCH = "Quincaillerie Martel"


def test_gunicorn_counts_every_worker_and_logs_one_json_object_a_line(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    with fresh_postgresql() as database_url:
        deployment = new_deployment(database_url, blobs.as_uri(), tmp_path / "instance")
        with deployment.app() as app:
            person = make_account(app, first="Nadia", last="Ferhat")
        folder = tmp_path / "metrics"
        folder.mkdir()
        # A previous run's worker file: gunicorn empties the folder at start.
        (folder / "counter_999999.db").write_bytes(b"stale")
        server = gunicorn(
            deployment.environment(
                VAULT_LOG_FORMAT="json",
                PROMETHEUS_MULTIPROC_DIR=str(folder),
                VAULT_METRICS_ALLOW="127.0.0.1/32",
            ),
            tmp_path,
        )
        ids = []
        try:
            client = Client(server.base)
            client.sign_in(person.username, person.passphrase)
            for _ in range(12):
                # New connections: the requests spread over the workers.
                probe = Client(server.base)
                answer = probe.get("/health")
                assert answer.status == 200
                ids.append(answer.headers["X-Request-Id"])
                probe.close()
            searched = client.get("/documents/?q=" + SEARCH.replace(" ", "+"))
            assert searched.status == 200
            ids.append(searched.headers["X-Request-Id"])
            missing = client.get("/documents/00000000-0000-0000-0000-000000000000")
            assert missing.status == 404
            scraped = client.get("/metrics")
            assert scraped.status == 200
            metrics = scraped.data.decode()
            client.close()
        finally:
            server.stop()
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    health = re.search(
        r'vault_http_requests_total\{method="GET",route="/health",status="200"\} (\d+)', metrics
    )
    assert health and float(health.group(1)) >= 12, "every worker's requests add up"
    assert 'route="/documents/<uuid:document_id>",status="404"' in metrics
    assert "vault_http_request_duration_seconds_bucket" in metrics
    assert "vault_database_up 1.0" in metrics and "vault_storage_up 1.0" in metrics
    assert len(list(folder.glob("*.db"))) >= 1
    assert not (folder / "counter_999999.db").exists()
    assert "Quincaillerie" not in metrics and person.username not in metrics

    logs = server.logs()
    lines = [line for line in logs.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r.get("message") == "request"]
    assert {r["request_id"] for r in access} >= set(ids)
    by_id = {r["request_id"]: r for r in access}
    assert by_id[ids[0]]["path"] == "/health" and by_id[ids[0]]["status"] == "200"
    assert by_id[ids[-1]]["path"] == "/documents/"
    assert "Quincaillerie" not in logs and "q=" not in logs
    assert any(r.get("logger") == "gunicorn.error" for r in records)
