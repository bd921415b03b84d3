"""The main window shows what the live model holds, through the bridge, without the GUI thread
ever touching the network or the database; its plot shows the selected series' history from
the store, so it is not empty after a restart."""
from __future__ import annotations

import time
from pathlib import Path

from console.engine.coordinator import STALE_PERIODS, Batch, DeviceState, DeviceStatus
from console.history import HistoryService
from console.live import LiveSite, seed_from_store
from console.site import load_site
from console.store import Store
from console.ui.bridge import LiveBridge
from console.ui.context import ViewContext
from console.ui.devices_view import DevicesView
from console.ui.main_window import MainWindow
from protocols.base import Reading
from tests.support import REPO

SITE = REPO / "resources" / "sites" / "example.toml"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


DEVICES = [("devices", "console.ui.devices_view:DevicesView")]


def window(site, live: LiveSite, db_path: str, history: HistoryService | None = None) -> MainWindow:
    ctx = ViewContext(site=site, live=live, bridge=LiveBridge(live, interval_ms=20), history=history,
                      db_path=db_path)
    return MainWindow(ctx, pages=DEVICES)


def devices(w: MainWindow) -> DevicesView:
    page = w.pages["devices"]
    assert isinstance(page, DevicesView)
    return page


def values_of(w: MainWindow) -> dict[str, tuple[str, str]]:
    v = devices(w).values
    return {v.item(r, 0).text(): (v.item(r, 2).text(), v.item(r, 3).text()) for r in range(v.rowCount())}


def test_window_follows_the_live_model(qtbot, tmp_path: Path) -> None:
    site = load_site(SITE)
    clock = Clock()
    live = LiveSite(site, clock=clock)
    w = window(site, live, str(tmp_path / "x.db"))
    qtbot.addWidget(w)
    now = time.time()
    st = DeviceStatus("srv1", "10.20.0.11:443", DeviceState.OK, last_success=now, readings=2)
    bad = DeviceStatus("ups1", "10.20.0.2:161", DeviceState.UNREACHABLE, message="no SNMP response within 2.0 s")
    # Called as the engine thread would.
    live.on_batch(Batch("srv1", (Reading(now, "srv1", "inlet", "temperature", 23.5, "°C"),
                                 Reading(now, "srv1", "chassis", "power", 640.0, "W")), st))
    live.on_batch(Batch("ups1", (), bad))
    qtbot.waitUntil(lambda: devices(w).tree.state_of("ups1") == "unreachable", timeout=2000)
    assert devices(w).tree.state_of("srv1") == "ok"
    assert {k: v[0] for k, v in values_of(w).items()} == {"chassis": "640 W", "inlet": "23.5 °C"}
    assert not any(v[1].startswith("stale") for v in values_of(w).values())
    assert "1 of 6 devices reporting" in w.status.text()
    # No new batch, but time passes: the window asks the live model, which decides staleness
    # (it used to keep the staleness of the last batch until another batch came).
    clock.t += STALE_PERIODS * site.device("srv1").poll_interval + 1
    w.refresh()
    assert all(v[1].startswith("stale") for v in values_of(w).values())
    w.bridge.close()


def _history_db(path: Path, now: float) -> None:
    """What a previous run left: 2 h of srv1 inlet temperature every 10 s."""
    with Store(path) as store:
        store.add_readings([Reading(now - 7200 + 10 * i, "srv1", "inlet", "temperature", 20.0 + (i % 60) / 10,
                                    "°C") for i in range(720)])
        store.add_readings([Reading(now - 60, "srv1", "chassis", "power", 500.0, "W")])
        store.flush()


def test_window_shows_history_after_a_restart(qtbot, tmp_path: Path) -> None:
    site = load_site(SITE)
    db = tmp_path / "site.db"
    now = time.time()
    _history_db(db, now)
    history = HistoryService(db)
    live = LiveSite(site)
    with Store(db) as store:  # the restarted session's writer, before its first poll
        seed_from_store(live, store)
        w = window(site, live, str(db), history)
        qtbot.addWidget(w)
        # the last known values are listed, marked stale, and the headline series is plotted
        assert values_of(w)["inlet"][1].startswith("stale")
        devices(w).values.select_key("srv1/inlet/temperature")
        plot = devices(w).plot
        qtbot.waitUntil(lambda: plot.history_points > 0, timeout=5000)
        assert plot.history_points <= max(100, plot.plot.width())
        assert "srv1/inlet/temperature" in plot.title.text() and "720 samples" in plot.title.text()
        # a live value extends the plot
        st = DeviceStatus("srv1", "10.20.0.11:443", DeviceState.OK, last_success=now + 1, readings=1)
        live.on_batch(Batch("srv1", (Reading(now + 1, "srv1", "inlet", "temperature", 26.0, "°C"),), st))
        qtbot.waitUntil(lambda: plot.live_points >= 2, timeout=2000)
        assert "not updating" not in plot.title.text()
        live.on_batch(Batch("srv1", (), DeviceStatus("srv1", "10.20.0.11:443", DeviceState.UNREACHABLE,
                                                     message="timeout")))
        qtbot.waitUntil(lambda: "unreachable: not updating" in plot.title.text(), timeout=2000)
        w.close()
    history.close()


def test_window_plot_says_why_when_history_fails(qtbot, tmp_path: Path) -> None:
    site = load_site(SITE)
    live = LiveSite(site)
    live.seed([Reading(time.time() - 5, "srv1", "inlet", "temperature", 21.0, "°C")])
    history = HistoryService(tmp_path / "missing" / "none.db")
    w = window(site, live, "none.db", history)
    qtbot.addWidget(w)
    devices(w).values.select_key("srv1/inlet/temperature")
    plot = devices(w).plot
    qtbot.waitUntil(lambda: "history unavailable" in plot.title.text(), timeout=5000)
    assert "\n" not in plot.title.text()
    w.close()
    history.close()


def test_bridge_turns_a_storm_of_changes_into_one_signal(qtbot) -> None:
    from console.ui.bridge import LiveBridge

    site = load_site(SITE)
    live = LiveSite(site)
    bridge = LiveBridge(live, interval_ms=20)
    emitted: list[int] = []
    bridge.changed.connect(lambda: emitted.append(1))
    st = DeviceStatus("srv1", "a", DeviceState.OK, last_success=time.time())
    for i in range(1000):  # as the engine thread would, faster than any screen
        live.on_batch(Batch("srv1", (Reading(time.time(), "srv1", "inlet", "temperature", float(i), "°C"),), st))
    qtbot.waitUntil(lambda: bool(emitted), timeout=2000)
    bridge.drain()  # nothing changed since: nothing emitted
    assert emitted == [1]
    assert live.get("srv1/inlet/temperature").value == 999.0
    bridge.close()
    live.on_batch(Batch("srv1", (), st))
    bridge.drain()
    assert emitted == [1]  # closed: unsubscribed from the live model
