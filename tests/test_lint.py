"""ruff and mypy as configured in pyproject.toml, so `make test` holds the code to them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    assert exe.exists(), f"{name} is missing: install the test extra (pip install -e '.[test]')"
    return str(exe)


def test_ruff_is_clean() -> None:
    done = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_mypy_is_clean(tmp_path: Path) -> None:
    done = subprocess.run([_tool("mypy"), "--cache-dir", str(tmp_path / "mypy-cache")],
                          cwd=REPO, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
