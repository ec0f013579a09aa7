"""docker/nginx-proxy.conf, the proxy settings docs/operations.md gives operators.

The production browser tests run nginx with this very file (so the Host and
X-Forwarded-* it passes are proven there, by forms that work over HTTPS);
here, what a browser cannot see: bodies are never buffered to the proxy's disk.
"""

from __future__ import annotations

import re
from pathlib import Path

CONF = Path(__file__).resolve().parents[3] / "docker" / "nginx-proxy.conf"


def directives() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in CONF.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert line.endswith(";"), line
            name, _, value = line[:-1].partition(" ")
            key = name if name != "proxy_set_header" else f"{name} {value.split()[0]}"
            found[key] = value.strip()
    return found


def test_the_browser_host_and_one_forwarded_hop_are_passed() -> None:
    found = directives()
    assert found["proxy_set_header Host"] == "Host $http_host"
    assert found["proxy_set_header X-Forwarded-Proto"] == "X-Forwarded-Proto $scheme"
    assert re.fullmatch(r"X-Forwarded-For \$\w+", found["proxy_set_header X-Forwarded-For"])


def test_plaintext_bodies_are_never_buffered_to_disk() -> None:
    found = directives()
    assert found["proxy_request_buffering"] == "off"
    assert found["proxy_buffering"] == "off"
    assert found["client_max_body_size"] == "0"  # the app checks the size while streaming
