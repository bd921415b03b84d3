"""``heatrack demo --screenshot DIR`` renders every page of the running demo, offscreen, to PNGs
that are not blank, and exits 0; bad combinations are one line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from console.cli import main
from console.ui.pages import PAGES, load
from tests.support import REPO


def distinct_colours(img: QImage, step: int = 16) -> int:
    return len({img.pixel(x, y) for x in range(0, img.width(), step) for y in range(0, img.height(), step)})


@pytest.mark.slow
def test_screenshot_command_renders_every_page_offscreen(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HEATRACK_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run([sys.executable, "-m", "console.cli", "demo", "--screenshot", str(out), "--duration", "3h",
                           "--theme", "both", "--db", str(tmp_path / "demo.db")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = []
    for name, spec in PAGES:
        try:
            load(spec)
        except ImportError:
            continue  # not written yet: the window skips it too
        pages.append(name)
    expected = {f"{n}.png" for n in pages} | {f"{n}-dark.png" for n in pages}
    assert {p.name for p in out.iterdir()} == expected
    printed = [line for line in proc.stdout.splitlines() if line.endswith(".png")]
    assert sorted(Path(p).name for p in printed) == sorted(expected)
    for path in out.iterdir():
        img = QImage(str(path))
        assert (img.width(), img.height()) == (1280, 800), path.name
        assert path.stat().st_size > 15_000, path.name  # a blank window compresses to a few KB
        assert distinct_colours(img) >= 8, f"{path.name} is (nearly) one colour"
    light, dark = QImage(str(out / "home.png")), QImage(str(out / "home-dark.png"))
    assert light.pixelColor(640, 780).lightness() > 150 > dark.pixelColor(640, 780).lightness()


def test_screenshot_excludes_headless(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["demo", "--screenshot", str(tmp_path), "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--screenshot" in err


def test_screenshot_into_a_folder_that_cannot_be_made_is_one_line(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--screenshot", str(blocker / "shots")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write to" in err and "Traceback" not in err
