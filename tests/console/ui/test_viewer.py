"""A second heatrack on a database with a writer: the store refuses a second writer, the window
offers "View read-only", and the read-only live model shows the writer's values with their true
ages (going stale when the writer stops) and its unacknowledged events."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from console.recorder import RecordedEvent
from console.store import Store, StoreError
from console.ui.home_view import HomeView
from console.ui.open_flow import ask_read_only, is_in_use, offer_read_only
from console.viewer import ReadOnlyLive
from protocols.base import Reading
from tests.fakes.views import demo_site_model

SITE = demo_site_model()


def test_second_writer_refused_viewer_shows_values_ages_and_events(qtbot: Any, tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    now = time.time()
    writer = Store(db)
    try:
        writer.add_readings([Reading(now - 2, "heat1", "tank_top", "temperature", 52.0, "°C"),
                             Reading(now - 600, "srv1", "chassis", "power", 300.0, "W")])
        writer.add_event(now - 1, "alarm", "heat1", "pump_fault", "pump stopped").result(10)
        writer.flush()
        with pytest.raises(StoreError) as refused:
            Store(db)
        assert is_in_use(refused.value)
        asked: list[str] = []
        setup = offer_read_only(refused.value, SITE, db, ask=lambda e, p: asked.append(str(e)) or True,
                                refresh_s=0.1)
        assert setup is not None and asked and "already open for writing" in asked[0]
        try:
            ctx, live = setup.ctx, setup.live
            assert ctx.read_only and ctx.control is None and ctx.ack is None
            qtbot.waitUntil(lambda: live.get("heat1/tank_top/temperature") is not None, timeout=10_000)
            tank = live.get("heat1/tank_top/temperature")
            srv = live.get("srv1/chassis/power")
            assert tank is not None and srv is not None
            assert tank.value == 52.0 and tank.state == "ok" and 1.5 <= tank.age < 10
            assert srv.state == "stale" and srv.age >= 600  # its true age, not when the viewer read it
            assert live.device("heat1").state == "ok" and live.device("srv1").state == "stale"
            assert [e.kind for e in live.active_events()] == ["pump_fault"]
            # the writer goes on: the viewer follows; an acknowledgement there clears it here
            reads = live.reads
            writer.add_readings([Reading(time.time(), "heat1", "tank_top", "temperature", 53.5, "°C")])
            [ev] = writer.events(unacked_only=True)
            writer.ack_event(ev.id, "jo").result(10)
            writer.flush()
            qtbot.waitUntil(lambda: live.reads > reads + 1 and live.get("heat1/tank_top/temperature").value == 53.5,
                            timeout=10_000)
            assert live.active_events() == []
            home = HomeView(ctx)
            qtbot.addWidget(home)
            home.refresh()
            assert home.panel.tiles["tank"].value.text() == f"{53.5:.0f}"
            assert "viewing only" in home.panel.subline.text()
        finally:
            setup.close()
    finally:
        writer.close()


def test_cancel_or_another_error_opens_nothing(qtbot: Any, tmp_path: Path) -> None:
    in_use = StoreError(f"{tmp_path}/x.db is already open for writing by pid 1 on h since t (heatrack log)")
    assert offer_read_only(in_use, SITE, tmp_path / "x.db", ask=lambda e, p: False) is None
    asked: list[object] = []
    broken = StoreError("x.db: file is not a database")
    assert offer_read_only(broken, SITE, tmp_path / "x.db", ask=lambda e, p: asked.append(e) or True) is None
    assert asked == []  # a broken database is not offered read-only


@pytest.mark.parametrize(("button", "expected"), [("View read-only", True), ("Cancel", False)])
def test_the_dialog_says_who_and_offers_two_ways(qtbot: Any, button: str, expected: bool) -> None:
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        [b] = [b for b in box.buttons() if b.text().replace("&", "") == button]
        b.click()

    QTimer.singleShot(0, click)
    assert ask_read_only(StoreError("d.db is already open for writing by pid 42")) is expected
    assert seen == ["Another heatrack is already recording this site."]


class FakeStore:
    def __init__(self, readings: list[Reading]) -> None:
        self.readings = readings

    def latest(self) -> dict[str, Any]:
        from console.store.store import Latest, SeriesInfo

        return {r.series_key: Latest(SeriesInfo(i, r.device_id, r.channel, r.quantity, r.unit), r.ts, r.value)
                for i, r in enumerate(self.readings)}

    def events(self, **kw: Any) -> list[Any]:
        return []

    def close(self) -> None:
        pass


def test_values_go_stale_when_the_writer_stops() -> None:
    t = [1000.0]
    wall0 = 1.8e9
    store = FakeStore([Reading(wall0 - 1, "heat1", "room", "temperature", 20.5, "°C")])
    live = ReadOnlyLive(SITE, "unused.db", refresh_s=0.01, clock=lambda: t[0], wall=lambda: wall0 + (t[0] - 1000),
                        store_factory=lambda p: store)
    live.start()
    try:
        assert live.wait_read(0, 5)
        assert live.get("heat1/room/temperature").state == "ok"  # type: ignore[union-attr]
        t[0] += 60  # the writer stopped: no newer value arrives; heat1 polls every 5 s
        reads = live.reads
        assert live.wait_read(reads, 5)
        room = live.get("heat1/room/temperature")
        assert room is not None and room.state == "stale" and room.age == pytest.approx(61)
        status = live.device("heat1").status
        assert status is not None and status.state.value == "stale" and "61 s" in status.message
    finally:
        live.close()


def test_a_failed_read_is_one_line_and_retried() -> None:
    calls = [0]

    def factory(path: Path) -> Any:
        calls[0] += 1
        raise StoreError(f"{path}: unable to open\ndatabase file")

    live = ReadOnlyLive(SITE, "gone.db", refresh_s=0.01, store_factory=factory).start()
    try:
        assert live.wait_read(2, 5)
        assert live.error == "gone.db: unable to open database file" and calls[0] >= 2
    finally:
        live.close()


def test_recorded_event_type_is_what_the_viewer_keeps() -> None:
    live = ReadOnlyLive(SITE, "x.db")
    live.load([], [RecordedEvent(3, 1.0, "alarm", "heat1", "low_flow", "m"),
                   RecordedEvent(4, 2.0, "info", "heat1", "device_ok", "m")])
    assert [e.id for e in live.active_events()] == [3]


WRITER = """
import sys, time
from console.store import Store
from protocols.base import Reading
store = Store(sys.argv[1])
i = 0
while True:
    store.add_readings([Reading(time.time(), "heat1", "tank_top", "temperature", 50.0 + i % 5, "°C")])
    store.flush()
    if i == 0:
        print("ready", flush=True)
    i += 1
    time.sleep(0.05)
"""


def test_a_second_process_writes_the_viewer_follows_then_sees_it_stop(qtbot: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.support import REPO

    db = tmp_path / "site.db"
    fast = SITE.model_copy(update={"devices": [d.model_copy(update={"poll_interval": 0.2, "timeout": 0.1})
                                               for d in SITE.devices]})
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=f"already open for writing by pid {proc.pid}"):
            Store(db)
        live = ReadOnlyLive(fast, db, refresh_s=0.05).start()
        try:
            qtbot.waitUntil(lambda: (s := live.get("heat1/tank_top/temperature")) is not None and s.state == "ok",
                            timeout=10_000)
            proc.kill()  # the writer stops: no newer value; three 0.2 s periods later it is stale
            proc.wait(10)
            qtbot.waitUntil(lambda: live.get("heat1/tank_top/temperature").state == "stale",  # type: ignore[union-attr]
                            timeout=10_000)
            assert live.device("heat1").state == "stale"
        finally:
            live.close()
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


def test_the_read_only_window_builds_every_page_without_control(qtbot: Any, tmp_path: Path) -> None:
    from console.ui.open_flow import open_read_only, read_only_window

    db = tmp_path / "site.db"
    writer = Store(db)
    try:
        writer.add_readings([Reading(time.time(), "heat1", "tank_top", "temperature", 52.0, "°C")])
        writer.flush()
        setup = open_read_only(SITE, db, refresh_s=0.1)
        try:
            window = read_only_window(setup)
            qtbot.addWidget(window)
            window.show()
            qtbot.waitUntil(lambda: setup.live.get("heat1/tank_top/temperature") is not None, timeout=10_000)
            assert window.windowTitle().count("read-only") == 1
            assert setup.ctx.control is None and setup.ctx.ack is None and setup.ctx.read_only
            home = window.findChild(HomeView)
            assert home is not None
            home.refresh()
            assert home.panel.tiles["tank"].value.text() == "52" and "viewing only" in home.panel.subline.text()
            window.close()
        finally:
            setup.close()
    finally:
        writer.close()
