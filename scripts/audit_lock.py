"""`make lint`'s audit of the lock file: known vulnerabilities in what is installed.

Runs pip-audit on requirements/dev.txt (every pinned package, the runtime
ones included) with its hashes, without building an environment. Three
outcomes, each one line or more, never a silent pass:

- `pip-audit: OK (N packages, no known vulnerability)`: exit 0;
- a vulnerability: one line per advisory, then `pip-audit: FAILED`: exit 1;
- the advisory service could not be reached (no network, or a mirror that
  serves packages but not PyPI's JSON API, as on this project's machines):
  `pip-audit: SKIPPED: ...`: exit 0, saying that nothing was audited.

A service that answers for some packages and not others is a failure: a
partial audit is no audit. Usage: python scripts/audit_lock.py [LOCKFILE]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "dev.txt"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
# What requests and urllib3 say when the service is out of reach.
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def verdict(report: dict[str, Any] | None, stderr: str) -> tuple[int, list[str]]:
    """Exit status and lines to print for pip-audit's JSON `report` (None: it wrote none)."""
    if report is None:
        if any(sign in stderr for sign in UNREACHABLE):
            return 0, [
                "pip-audit: SKIPPED: the advisory service could not be reached; nothing was audited"
            ]
        tail = stderr.strip().splitlines()[-1:] or ["no output"]
        return 1, [f"pip-audit: FAILED to run: {tail[0]}"]
    dependencies = report.get("dependencies", [])
    lines = []
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            lines.append(f"{dep['name']} {dep.get('version', '')}: {vuln['id']} (fixed in {fixed})")
    if lines:
        return 1, [*lines, f"pip-audit: FAILED: {len(lines)} known vulnerability(ies)"]
    skipped = [dep["name"] for dep in dependencies if "skip_reason" in dep]
    if dependencies and len(skipped) == len(dependencies):
        return 0, [
            f"pip-audit: SKIPPED: the advisory service could not be reached "
            f"(none of {len(skipped)} packages found); nothing was audited"
        ]
    if skipped:
        return 1, [
            f"pip-audit: FAILED: {len(skipped)} package(s) could not be audited: "
            + ", ".join(sorted(skipped))
        ]
    return 0, [f"pip-audit: OK ({len(dependencies)} packages, no known vulnerability)"]


def main(argv: list[str]) -> int:
    lock = Path(argv[0]) if argv else LOCK
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "report.json"
        done = subprocess.run(  # noqa: S603  (our own fixed command line)
            [
                str(PIP_AUDIT),
                "--requirement",
                str(lock),
                "--require-hashes",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--timeout",
                "20",
                "--format",
                "json",
                "--output",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    status, lines = verdict(report, done.stderr)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
