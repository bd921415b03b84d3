"""A wheel (not only the editable install the two commands use) carries every resource file,
so profiles and the example site exist wherever heatrack is installed."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO


@pytest.mark.slow
def test_wheel_ships_every_resource(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=240)
    [wheel] = tmp_path.glob("heatrack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {n.split("/data/share/heatrack/", 1)[1] for n in names if "/data/share/heatrack/" in n}
    expected = {str(p.relative_to(REPO / "resources")) for p in (REPO / "resources").rglob("*.toml")}
    assert expected and expected <= data, f"missing from the wheel: {sorted(expected - data)}"
    assert "protocols/resources.py" in names and "console/cli.py" in names
