"""House rules of the layout: protocols/ knows nothing of Qt or SQLite; console/ core knows
nothing of Qt; servers we start bind loopback."""
from __future__ import annotations

import ast
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
