"""docs/kiosk.md: the browser settings it gives are a valid policy file, with the
three settings issue 13 asks for, and every test it names exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "kiosk.md").read_text(encoding="utf-8")


def test_the_policy_block_is_valid_json_with_the_three_settings() -> None:
    block = re.search(r"```json\n(.*?)```", DOC, re.S)
    assert block, "no policy block"
    policy = json.loads(block.group(1))
    assert policy["BrowserGuestModeEnforced"] is True
    assert policy["PasswordManagerEnabled"] is False
    assert policy["DownloadRestrictions"] == 3  # block all downloads


def test_every_test_the_page_names_exists() -> None:
    named = set(re.findall(r"`(test_[a-z_]+)`", DOC))
    assert len(named) >= 10
    sources = "".join(
        path.read_text(encoding="utf-8")
        for path in (
            ROOT / "tests" / "integration" / "core" / "test_kiosk.py",
            ROOT / "tests" / "browser" / "test_kiosk.py",
        )
    )
    missing = sorted(name for name in named if f"def {name}(" not in sources)
    assert missing == []
