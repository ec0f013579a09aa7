"""What the tests do when a real service they need is missing.

Locally a missing service skips the tests that need it, with the reason. In CI
(``CI=true``) it fails them: a green CI run must mean every real component was
exercised, never that half of the suite quietly skipped.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when running under CI, where missing services are failures."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(reason: str) -> NoReturn:
    """Skip locally, fail in CI, because a service the test needs is absent."""
    if in_ci():
        pytest.fail(f"required service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nothing listens on (for servers to start, or to be refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
