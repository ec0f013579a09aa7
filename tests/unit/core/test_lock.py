"""The lock files hold together with pyproject.toml, and their audit never passes silently.

requirements/runtime.txt (the image) and requirements/dev.txt (make install,
hence CI) are pip-compile's output with hashes; `make lock` refreshes them.
A dependency added to pyproject.toml without `make lock` fails here (and
`make install`'s `pip check`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts import audit_lock

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\]+) \\$", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {canonicalize_name(n): v for n, v in PIN.findall(text)}


def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": data["dependencies"], "dev": data["optional-dependencies"]["dev"]}


def test_every_dependency_is_pinned_within_its_range() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    for lock, declared in ((runtime, project()["runtime"]), (dev, project()["dev"])):
        for line in declared:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is not in the lock: run make lock"
            assert requirement.specifier.contains(lock[name], prereleases=True), (
                f"{name}=={lock[name]} is outside {requirement.specifier}: run make lock"
            )


def test_the_dev_lock_installs_exactly_what_the_image_runs() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert runtime and len(dev) > len(runtime)
    for name, version in runtime.items():
        assert dev.get(name) == version, f"{name}: {version} in the image, {dev.get(name)} in CI"


@pytest.mark.parametrize("name", ["runtime.txt", "dev.txt"])
def test_every_pin_carries_its_hashes(name: str) -> None:
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    pinned = [i for i, line in enumerate(lines) if PIN.match(line + "\n")]
    assert len(pinned) == len(pins(name)) > 10
    for i in pinned:
        assert lines[i + 1].startswith("    --hash=sha256:"), lines[i]


def report(*dependencies: dict[str, object]) -> dict[str, object]:
    return {"dependencies": list(dependencies)}


def test_a_known_vulnerability_fails_the_audit() -> None:
    status, lines = audit_lock.verdict(
        report(
            {"name": "flask", "version": "3.1.0", "vulns": []},
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
            },
        ),
        "",
    )
    assert status == 1
    assert lines[0] == "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"
    assert lines[-1] == "pip-audit: FAILED: 1 known vulnerability(ies)"


def test_an_unreachable_service_is_one_skip_line_never_a_silent_pass() -> None:
    skipped = {"skip_reason": "Dependency not found on PyPI and could not be audited"}
    status, lines = audit_lock.verdict(
        report({"name": "flask", **skipped}, {"name": "jinja2", **skipped}), ""
    )
    assert status == 0 and len(lines) == 1 and lines[0].startswith("pip-audit: SKIPPED: ")
    assert "nothing was audited" in lines[0]
    status, lines = audit_lock.verdict(None, "requests.exceptions.ConnectionError: Max retries")
    assert status == 0 and lines[0].startswith("pip-audit: SKIPPED: ")


def test_a_partial_or_broken_audit_fails() -> None:
    status, lines = audit_lock.verdict(
        report({"name": "flask", "vulns": []}, {"name": "jinja2", "skip_reason": "not found"}),
        "",
    )
    assert status == 1 and "jinja2" in lines[0]
    status, lines = audit_lock.verdict(None, "Traceback...\nValueError: bad requirement")
    assert (status, lines) == (1, ["pip-audit: FAILED to run: ValueError: bad requirement"])


def test_a_clean_audit_says_how_much_it_checked() -> None:
    status, lines = audit_lock.verdict(report({"name": "flask", "vulns": []}), "")
    assert (status, lines) == (0, ["pip-audit: OK (1 packages, no known vulnerability)"])
