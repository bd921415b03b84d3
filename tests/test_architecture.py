"""House rules of the layout: protocols/ knows nothing of Qt or SQLite; console/ core knows
nothing of Qt; servers we start bind loopback."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

QT = ("PySide6", "pyqtgraph", "shiboken6")
SQL = ("sqlite3", "sqlite_utils")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _py(folder: str) -> list[Path]:
    files = sorted((REPO / folder).rglob("*.py"))
    assert files, folder
    return files


def test_protocols_import_neither_qt_nor_sqlite_nor_console() -> None:
    bad = {str(p.relative_to(REPO)): sorted(_imports(p) & {*QT, *SQL, "console", "widgets"})
           for p in _py("protocols")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_console_core_is_qt_free() -> None:
    bad = {str(p.relative_to(REPO)): sorted(_imports(p) & set(QT))
           for p in _py("console") if "ui" not in p.relative_to(REPO / "console").parts}
    assert {k: v for k, v in bad.items() if v} == {}


def test_widgets_open_no_sockets_or_databases() -> None:
    bad = {str(p.relative_to(REPO)): sorted(_imports(p) & {*SQL, "socket", "protocols", "requests", "redfish",
                                                           "pysnmp", "pymodbus", "pynvml"})
           for p in _py("widgets")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_nothing_binds_all_interfaces() -> None:
    offenders = [f"{p.relative_to(REPO)}:{i}" for folder in ("protocols", "console", "benchmarks")
                 for p in _py(folder) for i, line in enumerate(p.read_text().splitlines(), 1)
                 if "0.0.0.0" in line and not line.lstrip().startswith("#")]
    assert offenders == []


# ---------------------------------------------------------------- import contracts (pyproject.toml)
CONTRACTS = ("protocols-below-everything", "clients-not-demo-servers", "core-not-ui",
             "qt-only-in-ui-and-widgets", "widgets-plain-data", "secrets-not-demo")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), "lint-imports is missing: install the test extra (pip install -e '.[test]')"
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(cwd)})


def test_import_contracts_hold() -> None:
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout


def test_each_import_contract_catches_its_violation(tmp_path: Path) -> None:
    for folder in ("protocols", "console", "widgets"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    widget = sorted((tmp_path / "widgets").glob("[!_]*.py"))[0]
    for path, line in [(tmp_path / "protocols/plausibility.py", "import sqlite3"),
                       (tmp_path / "protocols/nvml/client.py", "import protocols.nvml.sim"),
                       (tmp_path / "console/control.py", "import console.ui"),
                       (tmp_path / "console/durations.py", "import PySide6"),
                       (widget, "import socket"),
                       (tmp_path / "console/secrets.py", "import console.demo.credentials")]:
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # injected\n", encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert f"Contracts: 0 kept, {len(CONTRACTS)} broken." in done.stdout, done.stdout[-4000:]


def test_test_modules_share_fakes_not_each_other() -> None:
    """Fakes used by several test modules live in tests/fakes/, tests/support.py or a conftest:
    a test module importing another drags its fixtures and tests along and hides the fake."""
    offenders = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.relative_to(REPO)}: imports {n}" for n in names
                          if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")]
    assert not offenders, "\n".join(offenders)
