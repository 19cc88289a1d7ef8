"""The core never imports an integration (or its framework)."""

from __future__ import annotations

import subprocess
import sys


def test_the_core_imports_no_integration() -> None:
    code = ("import sys, cacheback, cacheback.openai, cacheback.anthropic, cacheback.proxy, cacheback.cli; "
            "bad = [m for m in sys.modules "
            "if m.startswith(('cacheback.integrations', 'langchain', 'litellm'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
