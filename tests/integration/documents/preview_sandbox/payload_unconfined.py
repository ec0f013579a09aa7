"""payload.py without the sandbox: the control that shows each attack works otherwise."""

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("payload", Path(__file__).with_name("payload.py"))
assert spec is not None and spec.loader is not None
payload = importlib.util.module_from_spec(spec)
spec.loader.exec_module(payload)
sys.exit(payload.run("unconfined"))
