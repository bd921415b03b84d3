"""The main window shows what the engine reports, through the bridge, without the GUI thread
ever touching the network or the database."""
from __future__ import annotations

import time
from pathlib import Path

from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.site import load_site
from console.ui.bridge import EngineBridge
from console.ui.main_window import MainWindow
from protocols.base import Reading
from tests.support import REPO


def test_window_follows_engine_batches(qtbot, tmp_path: Path) -> None:
    site = load_site(REPO / "resources" / "sites" / "example.toml")
    listeners = []

    def subscribe(cb):
        listeners.append(cb)
        return lambda: listeners.remove(cb)

    w = MainWindow(site, db_path=str(tmp_path / "x.db"))
    qtbot.addWidget(w)
    bridge = EngineBridge(subscribe, interval_ms=20, parent=w)
    bridge.updated.connect(w.on_update)
    now = time.time()
    st = DeviceStatus("srv1", "10.20.0.11:443", DeviceState.OK, last_success=now, readings=2)
    bad = DeviceStatus("ups1", "10.20.0.2:161", DeviceState.UNREACHABLE, message="no SNMP response within 2.0 s")
    # Called as the engine thread would.
    listeners[0](Batch("srv1", (Reading(now, "srv1", "inlet", "temperature", 23.5, "°C"),
                                Reading(now, "srv1", "chassis", "power", 640.0, "W")), st))
    listeners[0](Batch("ups1", (), bad))
    qtbot.waitUntil(lambda: w.devices.state_of("ups1") == "unreachable", timeout=2000)
    assert w.devices.state_of("srv1") == "ok"
    values = {w.values.item(r, 0).text(): w.values.item(r, 2).text() for r in range(w.values.rowCount())}
    assert values == {"chassis": "640 W", "inlet": "23.5 °C"}
    assert "1 of 6 devices reporting" in w.statusBar().currentMessage()
    bridge.close()
    assert listeners == []
