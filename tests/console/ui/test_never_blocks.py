"""Issue 9 item 1: the window never blocks. One device's poll hangs for 10 s while the real
window (every registered page, the real session, engine thread, bridge and history service) runs;
a 10 ms heartbeat timer on the GUI thread shows the event loop never stalls for more than
100 ms (less the time the thread waited for a CPU the machine gave to other processes: a loaded
CI machine is not the window's doing), and the hung device is shown as what it is: its values stale with their age, then
unreachable, never as a fresh last value."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from console.site import parse_site
from console.store import Store
from console.ui.app import ConsoleSession
from console.ui.devices_view import DevicesView
from protocols.base import Credentials, DeviceSpec, Reading
from tests.fakes.sites import site_toml

HANG_S = 10.0
WATCH_S = 3.2  # heartbeat watched over this much of the hang
MAX_GAP_S = 0.100


def _site():
    return parse_site(site_toml([
        '[[devices]]\nid = "srv1"\nkind = "server"\nprotocol = "redfish"\naddress = "127.0.0.1:1"\n'
        'poll_interval = "200ms"\ntimeout = "150ms"\n',
        '[[devices]]\nid = "heat1"\nkind = "heat_controller"\nprotocol = "modbus"\naddress = "127.0.0.1:2"\n'
        'profile = "heatrack-default"\npoll_interval = "200ms"\ntimeout = "150ms"\n',
        # the hung one: the engine gives up on a poll after its period (6 s), the source would hang 10 s
        '[[devices]]\nid = "ups1"\nkind = "ups"\nprotocol = "snmp"\naddress = "127.0.0.1:3"\n'
        'poll_interval = "6s"\ntimeout = "5.5s"\n',
    ]), "<never-blocks>")


class Answering:
    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self.n = 0

    async def poll(self) -> list[Reading]:
        self.n += 1
        now = time.time()
        return [Reading(now, self.spec.id, "chassis" if self.spec.kind == "server" else "loop",
                        "power" if self.spec.kind == "server" else "thermal_power", 500.0 + self.n, "W"),
                Reading(now, self.spec.id, "inlet", "temperature", 22.0, "°C")]

    async def close(self) -> None:
        pass


class Hanging(Answering):
    """Accepts the request and says nothing for 10 s (a BMC or agent that is wedged)."""

    started = threading.Event()
    started_at = 0.0

    async def poll(self) -> list[Reading]:
        Hanging.started_at = time.monotonic()
        Hanging.started.set()
        await asyncio.wait_for(asyncio.Event().wait(), HANG_S)
        return []


def run_queue_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat): time the
    machine gave to other processes. A GUI thread blocked in our code (busy, sleeping, waiting
    on a lock, a socket or the disk) is not waiting for a CPU, so such a stall always counts."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0  # not Linux: raw gaps


def factory(spec: DeviceSpec):
    return Hanging(spec) if spec.id == "ups1" else Answering(spec)


@pytest.mark.slow
def test_a_hung_device_never_stalls_the_window_and_is_shown_as_not_fresh(qtbot, tmp_path: Path) -> None:
    site = _site()
    db = tmp_path / "site.db"
    before = time.time() - 120
    with Store(db) as store:  # what the last run knew: ups1 answered two minutes ago
        store.add_readings([Reading(before, "ups1", "output", "power", 1800.0, "W"),
                            Reading(before, "ups1", "battery", "charge", 100.0, "%")])
        store.flush()
    Hanging.started.clear()
    cs = ConsoleSession(site, db, source_factory=factory, credential_resolver=lambda ref: Credentials())
    w = cs.window
    qtbot.addWidget(w)
    try:
        beats: list[float] = []
        waits: list[float] = []  # the GUI thread's time spent runnable but not running (the machine's)

        def beat() -> None:
            beats.append(time.monotonic())
            waits.append(run_queue_wait())

        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.timeout.connect(beat)
        heartbeat.start(10)

        assert Hanging.started.wait(5)
        pages = list(range(w.tabs.count()))
        for i in pages:  # each page laid out and painted once (first paints are not the point here)
            w.tabs.setCurrentIndex(i)
            qtbot.wait(20)
        hang_began = time.monotonic()
        assert hang_began - Hanging.started_at < 2.0  # well inside the 6 s the engine waits
        # meanwhile the user goes through every page (each refreshes as it is shown)
        end = hang_began + WATCH_S
        i = 0
        while time.monotonic() < end:
            w.tabs.setCurrentIndex(pages[i % len(pages)])
            i += 1
            qtbot.wait(450)
        heartbeat.stop()
        first = next(i for i, b in enumerate(beats) if b >= hang_began)
        t, queued = beats[first:], waits[first:]
        assert t[-1] - t[0] >= 3.0
        gaps = [t[i + 1] - t[i] for i in range(len(t) - 1)]
        ours = [gaps[i] - (queued[i + 1] - queued[i]) for i in range(len(gaps))]  # less the time the CPU was elsewhere
        print(f"heartbeat: {len(t)} beats over {t[-1] - t[0]:.2f} s, longest gap {max(gaps) * 1000:.1f} ms, "
              f"{max(ours) * 1000:.1f} ms of it the process's own")
        assert max(ours) <= MAX_GAP_S, f"the GUI thread stalled {max(ours) * 1000:.0f} ms"

        # during the hang: the others report, ups1's old values are stale with their age
        w.navigate("devices", "ups1")
        devices = w.pages["devices"]
        assert isinstance(devices, DevicesView)
        qtbot.waitUntil(lambda: devices.tree.state_of("srv1") == "ok", timeout=2000)
        assert devices.tree.state_of("ups1") in ("waiting", "stale")
        assert devices.tree.age_of("ups1") == "2 min ago"  # its newest data, from the store
        cells = {devices.values.item(r, 0).text(): devices.values.item(r, 3).text()
                 for r in range(devices.values.rowCount())}
        assert set(cells) == {"output", "battery"}
        assert all(t.startswith("stale — ") and t.endswith("min ago") for t in cells.values()), cells
        assert "1 of 3 devices reporting" in w.status.text() or "2 of 3 devices reporting" in w.status.text()

        # the engine gives up on the poll: unreachable, still with the age of what is shown
        qtbot.waitUntil(lambda: devices.tree.state_of("ups1") == "unreachable", timeout=8000)
        w.refresh()
        cells = {devices.values.item(r, 0).text(): devices.values.item(r, 3).text()
                 for r in range(devices.values.rowCount())}
        assert all(t.startswith("unreachable — ") and t.endswith("min ago") for t in cells.values()), cells
        assert "no complete answer" in devices.header.text()
    finally:
        cs.close()
