"""The Devices page: the site tree (groups, state by word and shape, data age, health), the
device page (readings greyed with age when not live, identity, recent events from the store,
history of the selected reading) and the probe, which never runs on the GUI thread."""
from __future__ import annotations

import socket
import time
from pathlib import Path

from PySide6.QtCore import Qt

from console.device_summary import summarise
from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.store import Store
from console.ui.devices_view import DevicesView
from protocols.base import Reading
from tests.fakes.views import history_db, view_context


def make_view(qtbot, **kw):
    ctx, feeder = view_context(qtbot, **kw)
    view = DevicesView(ctx)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    return ctx, feeder, view


def value_cells(view: DevicesView) -> dict[str, tuple[str, str]]:
    t = view.values
    return {f"{t.item(r, 0).text()}/{t.item(r, 1).text()}": (t.item(r, 2).text(), t.item(r, 3).text())
            for r in range(t.rowCount())}


def test_tree_groups_the_site_and_shows_state_age_and_health(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    # before any poll: every device waits, nothing pretends to be ok
    assert {view.tree.state_of(d.id) for d in ctx.site.devices} == {"waiting"}
    feeder.step(60)
    view.refresh()
    groups = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())]
    assert [g.split(" — ")[0] for g in groups] == ["Servers", "GPU hosts", "Power (UPS, PDUs)",
                                                  "Heat (controllers, meters)"]
    assert view.tree.device_ids() == ["srv1", "srv2", "srv3", "gpuhost", "ups1", "pdu1", "heat1"]
    assert all(view.tree.state_of(d) == "ok" for d in view.tree.device_ids())
    assert view.tree.age_of("ups1").endswith("s ago")
    srv1 = view.tree._items["srv1"]  # noqa: SLF001 - the health column of one row
    assert "values" in srv1.text(3)


def test_unreachable_device_is_marked_and_its_values_greyed_with_age(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    feeder.step(60)
    view.tree.select("ups1")
    view.refresh()
    assert all(not updated.startswith(("stale", "unreachable")) for _, updated in value_cells(view).values())
    ctx.live.on_batch(Batch("ups1", (), DeviceStatus("ups1", "127.0.0.1:4", DeviceState.UNREACHABLE,
                                                     message="no SNMP response within 2.0 s",
                                                     last_success=time.time() - 30, consecutive_failures=3)))
    view.refresh()
    assert view.tree.state_of("ups1") == "unreachable"
    cells = value_cells(view)
    assert cells and all(updated.startswith("unreachable — ") and updated.endswith("ago")
                         for _, updated in cells.values())
    assert "no SNMP response within 2.0 s" in view.header.text()
    assert "3 failures in a row" in view.tree._items["ups1"].text(3)  # noqa: SLF001
    assert "1 needs attention" in view.tree.topLevelItem(2).text(0)


def test_a_device_silent_for_three_periods_reads_stale_not_ok(qtbot) -> None:
    clock = [time.time()]
    ctx, feeder, view = make_view(qtbot, wall=lambda: clock[0])
    feeder.step(60)
    view.refresh()
    assert view.tree.state_of("srv1") == "ok"
    clock[0] += 3 * ctx.site.device("srv1").poll_interval + 1  # its poll hangs: no new status comes
    view.refresh()
    assert view.tree.state_of("srv1") == "stale"
    assert "no answer for" in view.tree._items["srv1"].text(3)  # noqa: SLF001
    # the Qt-free summary says the same
    assert {s.device_id: s.state for s in summarise(ctx.live, clock[0])}["srv1"] == "stale"


def test_history_plot_and_recent_events_come_from_the_store(qtbot, tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    end = history_db(db, 1)
    with Store(db) as store:
        store.add_event(end - 120, "alarm", "heat1", "pump_fault", "pump stopped: flow 0 L/min").result(5)
        store.add_event(end - 100, "info", "srv1", "recovered", "srv1 answers again").result(5)
        store.flush()
    ctx, feeder, view = make_view(qtbot, db_path=db)
    feeder.step(60)
    view.tree.select("heat1")
    view.refresh()
    qtbot.waitUntil(lambda: view.plot.history_points > 0, timeout=5000)
    assert view.plot.title.text().startswith("heat1/") and "samples" in view.plot.title.text()
    qtbot.waitUntil(lambda: view.events.rowCount() == 1, timeout=5000)
    assert view.events.item(0, 1).text() == "alarm"
    assert "pump stopped" in view.events.item(0, 3).text()
    # another reading, another history query
    view.values.select_key("heat1/loop/flow")
    qtbot.waitUntil(lambda: "heat1/loop/flow" in view.plot.title.text() and view.plot.history_points > 0,
                    timeout=5000)


def test_without_a_database_the_page_says_so(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    feeder.step(60)
    view.refresh()
    assert "no history (no site database)" in view.plot.title.text()
    assert "no site database" in view.events_note.text()


def test_identity_is_shown_when_reported(qtbot) -> None:
    from console.engine.coordinator import DeviceStatus
    from protocols.base import Identity

    ctx, feeder, view = make_view(qtbot)
    view.tree.select("srv1")
    view.refresh()
    assert "identity not reported" in view.identity.text()  # not polled yet: nothing said
    ident = Identity(manufacturer="Contoso", model="R-740 <heat>", serial="SN123",
                     extra=(("bios_version", "2.1"), ("gpu0_serial", "G0"), ("a", "1"), ("b", "2"), ("c", "3"),
                            ("d", "4"), ("e", "5")))
    st = DeviceStatus("srv1", "127.0.0.1:1", DeviceState.OK, last_success=time.time(), identity=ident)
    ctx.live.on_batch(Batch("srv1", (), st))
    view.refresh()
    text = view.identity.text()
    assert "Contoso" in text and "SN123" in text and "BIOS" in text and "GPU 0 serial" in text
    assert "R-740 &lt;heat&gt;" in text  # escaped, not markup
    assert "Firmware" not in text  # a field the device did not give is left out
    assert "and 2 more" in text and "e: 5" in view.identity.toolTip().replace("E: 5", "e: 5")


def test_probe_of_a_silent_address_fails_in_one_line_and_the_gui_keeps_running(qtbot, tmp_path: Path) -> None:
    listener = socket.socket()  # accepts connections (the kernel does) and never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    from console.site import parse_site
    from tests.fakes.sites import device, site_toml

    site = parse_site(site_toml([device("srv1", "server", "redfish", 1), device("heat1", "heat_controller", "modbus", 3),
                                 f'[[devices]]\nid = "meter9"\nkind = "heat_meter"\nprotocol = "modbus"\n'
                                 f'address = "127.0.0.1:{port}"\nprofile = "heatrack-default"\npoll_interval = 10\n'
                                 'timeout = 1.0\n']))
    ctx, _feeder, view = make_view(qtbot, site=site)
    view.tree.select("meter9")
    beats: list[float] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    timer.start(10)
    started = time.monotonic()
    view.probe_button.click()
    assert not view.probe_button.isEnabled() and "probing" in view.probe_result.text()
    qtbot.waitUntil(lambda: view.probe_button.isEnabled(), timeout=10_000)
    timer.stop()
    took = time.monotonic() - started
    text = view.probe_result.text()
    assert text.startswith("unreachable: ") and "\n" not in text, text
    assert took < 5
    listener.close()
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert gaps and max(gaps) < 0.25  # the probe ran in its worker thread


def test_probe_uses_the_demo_source_factory_and_reports_what_answered(qtbot) -> None:
    calls: list[str] = []

    class Source:
        def __init__(self, spec):
            self.spec = spec

        async def poll(self):
            return [Reading(time.time(), self.spec.id, "inlet", "temperature", 21.0, "°C"),
                    Reading(time.time(), self.spec.id, "chassis", "power", 300.0, "W")]

        async def close(self):
            pass

    class Demo:
        active_faults = frozenset()

        def inject(self, f): ...
        def clear(self, f): ...

        def source_factory(self, spec):
            calls.append(spec.id)
            return Source(spec)

        def resolve(self, ref):
            from protocols.base import Credentials

            return Credentials()

    ctx, feeder, view = make_view(qtbot, demo=Demo())
    view.tree.select("srv2")
    view.probe()
    qtbot.waitUntil(lambda: view.probe_button.isEnabled(), timeout=5000)
    assert calls == ["srv2"]
    assert view.probe_result.text().startswith("answered in ") and "2 readings" in view.probe_result.text()


def test_keyboard_arrows_move_through_devices_and_enter_opens_readings(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    feeder.step(60)
    view.show()
    qtbot.waitExposed(view)
    view.tree.setFocus()
    view.tree.select("srv1")
    qtbot.keyClick(view.tree, Qt.Key.Key_Down)
    assert view.tree.selected() == "srv2"
    qtbot.keyClick(view.tree, Qt.Key.Key_Down)
    qtbot.keyClick(view.tree, Qt.Key.Key_Down)  # over the "GPU hosts" heading
    assert view.tree.selected() == "gpuhost"
    assert "Workstation GPUs" in view.header.text()
    qtbot.keyClick(view.tree, Qt.Key.Key_Return)
    assert view.focusWidget() is view.values


def test_select_target_opens_a_device_and_a_series(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    feeder.step(60)
    view.refresh()
    view.select("heat1/loop/flow")
    assert view.tree.selected() == "heat1"
    assert view._series == "heat1/loop/flow"  # noqa: SLF001 - the plotted series


def test_an_alarm_the_device_raises_stands_out_by_shape_weight_and_colour(qtbot) -> None:
    ctx, feeder, view = make_view(qtbot)
    feeder.step(60)
    view.tree.select("heat1")
    view.refresh()
    cells = value_cells(view)
    assert cells["low_flow/alarm"][0] == "clear"
    feeder.model.inject("pump-failure")
    for _ in range(5):
        feeder.step(60)
    view.refresh()
    cells = value_cells(view)
    assert cells["low_flow/alarm"][0] == "▲ ACTIVE"
    row = next(r for r in range(view.values.rowCount()) if view.values.item(r, 0).text() == "low_flow")
    assert view.values.item(row, 2).font().bold()
    assert cells["overtemp/alarm"][0] in ("clear", "▲ ACTIVE")
