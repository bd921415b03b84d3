from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from tests.support import PEERS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pinned certificates and default databases go to a temporary folder, never $HOME."""
    monkeypatch.setenv("HEATRACK_DATA_DIR", str(tmp_path_factory.mktemp("heatrack-data")))


@pytest.fixture(autouse=True)
def _qt_garbage_on_the_gui_thread(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Collect a Qt test's cyclic garbage here, on the GUI thread. Left alone, Python's collector
    runs on whichever thread allocates next: a later test's worker thread then destroys old
    widgets ("QBasicTimer::start: Timers cannot be started from another thread", failing an
    unrelated test under qt_log_level_fail). The window does the same on a GUI timer while it runs
    (``console.ui.app.exec_collecting``)."""
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()


@pytest.fixture(scope="session")
def peers_dir() -> Path:
    """../shared/peers (or $HEATRACK_PEERS). Tests that need it skip when it is absent."""
    if not PEERS.is_dir():
        pytest.skip(f"peer test data not found at {PEERS} (set HEATRACK_PEERS)")
    return PEERS
