"""The app on a real S3 server (SeaweedFS started by the tests)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.s3server import S3Target, SeaweedFS, fresh_bucket


def test_health_and_storage_check_on_s3(
    make_app: Callable[..., Flask], database_url: str, s3_server: S3Target
) -> None:
    app = make_app(database_url=database_url, storage_url=s3_server.url)
    assert app.test_client().get("/health").status_code == 200
    result = app.test_cli_runner().invoke(args=["storage", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("storage check: OK (s3://127.0.0.1:")
    assert s3_server.url.split("@")[0].split(":")[-1] not in result.output  # no secret


def test_s3_server_stopped_gives_503_and_a_failed_check(
    make_app: Callable[..., Flask],
    database_url: str,
    seaweedfs_factory: Callable[[], SeaweedFS],
) -> None:
    server = seaweedfs_factory()
    app = make_app(database_url=database_url, storage_url=server.url(fresh_bucket()))
    assert app.test_client().get("/health").status_code == 200
    server.stop()
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert "Service momentanément indisponible" in response.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["storage", "check"])
    assert result.exit_code == 1
    assert result.output.startswith("storage check: FAILED: ")


def test_refused_s3_credentials_answer_503(
    make_app: Callable[..., Flask], database_url: str, s3_server: S3Target
) -> None:
    user, _, host = s3_server.url.removeprefix("s3://").partition("@")
    url = f"s3://{user.split(':')[0]}:wrong-secret@{host}"
    response = make_app(database_url=database_url, storage_url=url).test_client().get("/health")
    assert response.status_code == 503
    assert "wrong-secret" not in response.get_data(as_text=True)
