"""Fixtures of the fault tests: a deployment on each stack, served by gunicorn as in the image.

Every test here carries the `faults` marker (pyproject.toml) and runs in the
default `make test`; a service it needs that is missing fails it in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import SMALL, sqlite_deployment
from tests.integration.served_app import Deployment, fresh_postgresql, new_deployment
from tests.s3server import S3Target, fresh_bucket


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


# The two stacks: the embedded default, and the production one.
STACKS = ["sqlite-local", "postgresql-s3"]


@pytest.fixture(params=STACKS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A migrated deployment on SQLite with a local blob folder, or PostgreSQL with SeaweedFS."""
    if request.param == "sqlite-local":
        yield sqlite_deployment(tmp_path)
        return
    target: S3Target = request.getfixturevalue("s3_server")
    with fresh_postgresql() as database_url:
        yield new_deployment(database_url, target.server.url(fresh_bucket()), tmp_path / "instance")


@pytest.fixture
def big_size() -> int:
    """The size of the person's big document; a test that cuts a download asks for more.

    (`@pytest.mark.parametrize("big_size", [...])` on a test overrides this fixture.)
    """
    return SMALL
