"""The "Heat path" page over a ViewContext: the demo site's live values on the schematic, a tripped
pump that stands out and stops the flow animation, stale and unreachable parts marked, a click
that opens the device, and refreshes that never add items."""
from __future__ import annotations

from PySide6.QtCore import Qt

from console.site import load_site, parse_site
from console.ui.schematic_view import SchematicView
from tests.fakes.sites import device, site_toml
from tests.fakes.views import view_context
from tests.support import REPO


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def shown(qtbot, ctx) -> SchematicView:
    view = SchematicView(ctx)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    return view


def test_demo_values_reach_the_schematic_and_flow_animates(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(600)
    view = shown(qtbot, ctx)
    assert view.title == "Heat path"
    s = view.schematic
    srv = s.node_texts("server:srv1")
    assert srv[0].startswith("srv1") and any("L/min" in t for t in srv) and any("GPU" in t for t in srv)
    flow = ctx.live.get("heat1/loop/flow")
    assert flow is not None and any(f"{flow.value:.2f} L/min" in t for t in s.node_texts("pump"))
    assert s.node_texts("consumer:1") == ["hot water", "no sensor"]  # the demo has no hot-water sensor
    tip = s.scene_.itemAt(s.node_centre("pump"), s.transform()).toolTip()
    assert tip.startswith("pump: loop circulation pump") and "heat1/pump/state" in tip and "device heat1" in tip
    assert s.animating
    qtbot.waitUntil(lambda: s.phase("hot") > 0.5, timeout=2000)


def test_pump_failure_stands_out_and_stops_the_flow(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(600)
    view = shown(qtbot, ctx)
    assert view.schematic.animating and not view.schematic.node_flags("pump")["outline"]
    feeder.model.inject("pump-failure")
    for _ in range(3):
        feeder.step(60)
    view.refresh()
    s = view.schematic
    assert s.node_flags("pump") == {"outline": True, "warning": True, "hatched": False}
    assert "PUMP TRIPPED" in s.node_texts("pump")[-1]
    assert not s.animating
    frozen = s.phase("hot")
    s.advance(1.0)
    assert s.phase("hot") == frozen


def test_unreachable_server_is_hatched_and_stale_values_show_their_age(qtbot) -> None:
    clock = Clock(1000.0)
    ctx, feeder = view_context(qtbot, clock=clock)
    feeder.step(600)
    feeder.model.inject("bmc-unreachable")
    feeder.step(60)
    view = shown(qtbot, ctx)
    assert view.schematic.node_flags("server:srv3")["hatched"]
    assert view.schematic.node_texts("server:srv3")[-1] == "unreachable"
    clock.t += 400  # no poll for 400 s: every series is past 3 poll periods
    view.refresh()
    texts = view.schematic.node_texts("server:srv1")
    assert texts[-1].startswith("stale · ") and texts[-1].endswith(" old")
    assert not view.schematic.animating  # a stale flow is not shown as moving water


def test_click_opens_the_device(qtbot) -> None:
    opened: list[tuple[str, str | None]] = []
    ctx, feeder = view_context(qtbot, navigate=lambda view, target: opened.append((view, target)))
    feeder.step(600)
    view = shown(qtbot, ctx)
    s = view.schematic
    qtbot.mouseClick(s.viewport(), Qt.MouseButton.LeftButton, pos=s.mapFromScene(s.node_centre("server:srv2")))
    qtbot.mouseClick(s.viewport(), Qt.MouseButton.LeftButton, pos=s.mapFromScene(s.node_centre("pump")))
    assert opened == [("devices", "srv2"), ("devices", "heat1")]
    view.select("srv3")  # navigate("schematic", "srv3") puts the keyboard on it; Enter opens it
    assert s.focused == "server:srv3"
    qtbot.keyClick(s, Qt.Key.Key_Return)
    assert opened[-1] == ("devices", "srv3")


def test_refreshes_change_items_never_create_them(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(600)
    view = shown(qtbot, ctx)
    before = view.schematic.item_count()
    for i in range(100):
        if i == 50:
            feeder.model.inject("pump-failure")
        if i % 4 == 0:
            feeder.step(60)
        view.refresh()
    assert view.schematic.item_count() == before


def test_example_and_minimal_sites_draw_without_data(qtbot) -> None:
    minimal = parse_site(site_toml([device("srv1", "server", "redfish", 1), device("heat1", "heat_meter", "modbus", 2)]))
    for site in (load_site(REPO / "resources" / "sites" / "example.toml"), minimal):
        ctx, _ = view_context(qtbot, site=site)
        view = shown(qtbot, ctx)
        assert view.schematic.node_texts("pump") == ["pump", "waiting for data"]  # nothing polled yet
        assert not view.schematic.animating


def test_stuck_valve_reads_whole_on_the_valve(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(600)
    feeder.model.inject("valve-stuck")
    for _ in range(40):  # the controller raises valve_fault once setpoint and position disagree
        feeder.step(60)
        fault = ctx.live.get("heat1/valve_fault/alarm")
        if fault is not None and fault.value == "active":
            break
    view = shown(qtbot, ctx)
    assert view.schematic.node_flags("valve")["outline"]
    assert view.schematic.node_texts("valve")[-1] == "VALVE STUCK"  # not cut to "VALVE S..."


def test_benchmark_measures_without_growing_the_scene(qtbot) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gui_schematic", REPO / "benchmarks" / "gui_schematic.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.measure(4)
    assert result["items_before"] == result["items_after"] > 100
    assert result["refresh"]["median_ms"] > 0 and result["frame_event_loop"]["median_ms"] > 0
