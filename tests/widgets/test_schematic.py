"""The schematic widget alone, on plain data: built once, then only properties change; abnormal,
stale and unreachable read without colour; flow dashes move only while something flows and
the view is visible; a click emits the element's target."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from widgets.schematic import (
    TEMP_STOPS,
    NodeSpec,
    NodeUpdate,
    PipeSpec,
    PipeUpdate,
    SchematicLayout,
    SchematicWidget,
    temp_colour,
)


def small_layout() -> SchematicLayout:
    nodes = (
        NodeSpec("srv", "box", "server", (20, 20, 200, 100), (50, 25), 160, "srv1", "a server\nseries: srv1/...",
                 "srv1"),
        NodeSpec("pump", "pump", "", (300, 180, 40, 40), (280, 225), 150, "pump", "the pump", "heat1"),
        NodeSpec("layer", "layer", "", (400, 20, 100, 60), (410, 30), 80, "", "tank top", None),
    )
    pipes = (PipeSpec("hot", ((220, 40), (400, 40)), "hot pipe"),
             PipeSpec("cold", ((400, 200), (20, 200)), "cold pipe"),
             PipeSpec("secondary", ((500, 40), (560, 40)), "not measured", animated=False))
    return SchematicLayout(600, 320, nodes, pipes, (20, 260, 560, 40))


def make(qtbot) -> SchematicWidget:
    w = SchematicWidget(small_layout())
    qtbot.addWidget(w)
    w.resize(900, 500)
    return w


def flowing(flow: float = 2.0) -> dict[str, PipeUpdate]:
    return {"hot": PipeUpdate(45.0, "ok", flow), "cold": PipeUpdate(30.0, "ok", flow),
            "secondary": PipeUpdate(40.0, "ok", 0.0)}


def test_updates_change_properties_never_items(qtbot) -> None:
    w = make(qtbot)
    before = w.item_count()
    for i in range(100):
        state = ("ok", "stale", "unreachable", "abnormal", "none")[i % 5]
        w.update_state({"srv": NodeUpdate((f"{i} W", f"{i / 10:.1f} °C"), state, f"reason {i}"),
                        "layer": NodeUpdate((f"top {40 + i % 30} °C",), "ok", "", 40.0 + i % 30),
                        "nope": NodeUpdate()},  # an id the layout does not have is ignored
                       flowing(i % 3))
    assert w.item_count() == before
    assert w.node_texts("srv") == ["srv1", "99 W", "9.9 °C", "reason 99"]


def test_abnormal_is_shape_and_text_not_colour_alone(qtbot) -> None:
    w = make(qtbot)
    w.update_state({"pump": NodeUpdate(("on", "0.00 L/min"), "abnormal", "PUMP TRIPPED\nLOW FLOW")}, {})
    assert w.node_flags("pump") == {"outline": True, "warning": True, "hatched": False}
    assert w.node_texts("pump")[-1] == "PUMP TRIPPED\nLOW FLOW"
    w.update_state({"pump": NodeUpdate(("on", "2.00 L/min"), "ok", "")}, {})
    assert w.node_flags("pump") == {"outline": False, "warning": False, "hatched": False}


def test_unreachable_is_hatched_and_stale_is_grey_with_its_age(qtbot) -> None:
    w = make(qtbot)
    w.update_state({"srv": NodeUpdate(("52.1 °C · 3 min old",), "unreachable", "unreachable")}, {})
    assert w.node_flags("srv")["hatched"] and "unreachable" in w.node_texts("srv")
    w.update_state({"srv": NodeUpdate(("52.1 °C · 3 min old",), "stale", "stale · 3 min old")}, {})
    assert not w.node_flags("srv")["hatched"]
    texts = w.node_texts("srv")
    assert "52.1 °C · 3 min old" in texts and "stale · 3 min old" in texts


def test_pipes_take_their_temperature_colour_and_grey_when_not_live(qtbot) -> None:
    w = make(qtbot)
    w.update_state({}, flowing())
    assert w.pipe_colour("hot") == temp_colour(45.0, 20.0, 70.0)
    w.update_state({}, {"hot": PipeUpdate(45.0, "stale", 0.0)})
    assert w.pipe_colour("hot") != temp_colour(45.0, 20.0, 70.0)
    assert temp_colour(-5, 20, 70) == QColor(TEMP_STOPS[0][1]) and temp_colour(95, 20, 70) == QColor(TEMP_STOPS[-1][1])


def test_flow_animates_while_visible_and_flowing_and_stops_at_zero(qtbot) -> None:
    w = make(qtbot)
    w.update_state({}, flowing(2.0))
    assert not w.animating  # not shown yet: no timer
    w.show()
    qtbot.waitExposed(w)
    assert w.animating
    qtbot.waitUntil(lambda: w.phase("hot") > 1.0, timeout=2000)
    assert w.phase("secondary") == 0.0  # no flow measurement: never animated
    w.update_state({}, flowing(0.0))
    assert not w.animating
    frozen = w.phase("hot")
    w.advance(1.0)  # even a stray frame does not move stopped pipes
    assert w.phase("hot") == frozen
    w.update_state({}, flowing(4.0))
    assert w.animating
    w.hide()
    assert not w.animating  # a hidden page costs nothing


def test_dash_speed_is_proportional_to_flow(qtbot) -> None:
    w = make(qtbot)
    w.update_state({}, {"hot": PipeUpdate(45.0, "ok", 1.0), "cold": PipeUpdate(30.0, "ok", 3.0)})
    w.advance(1.0)
    assert abs(w.phase("cold") - 3 * w.phase("hot")) < 1e-9 and w.phase("hot") > 0


def test_click_emits_the_target(qtbot) -> None:
    w = make(qtbot)
    w.show()
    qtbot.waitExposed(w)
    pos = w.mapFromScene(w.node_centre("srv"))
    with qtbot.waitSignal(w.element_clicked, timeout=1000) as sig:
        qtbot.mouseClick(w.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == ["srv1"]
    assert w.target_at(w.node_centre("layer")) is None  # not clickable: nothing emitted


def test_dark_palette_repaints_neutral_parts(qtbot) -> None:
    w = make(qtbot)
    w.update_state({"srv": NodeUpdate(("1 W",), "ok", "")}, flowing())
    light_bg = w.backgroundBrush().color()
    pal = QPalette(w.palette())
    pal.setColor(QPalette.ColorRole.Window, QColor(30, 30, 30))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230))
    pal.setColor(QPalette.ColorRole.Base, QColor(20, 20, 20))
    w.setPalette(pal)
    assert w.backgroundBrush().color() == QColor(30, 30, 30) != light_bg
    assert w.node_texts("srv") == ["srv1", "1 W"]  # the state survives the repaint


def test_keyboard_moves_between_parts_and_opens_one(qtbot) -> None:
    w = make(qtbot)
    w.show()
    qtbot.waitExposed(w)
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.focused == "srv"  # the layer has no target: not in the keyboard order
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.focused == "pump"
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.focused == "srv"  # wraps
    qtbot.keyClick(w, Qt.Key.Key_Left)
    assert w.focused == "pump"
    with qtbot.waitSignal(w.element_clicked, timeout=1000) as sig:
        qtbot.keyClick(w, Qt.Key.Key_Return)
    assert sig.args == ["heat1"]
    assert w.focus_target("srv1") and w.focused == "srv"
    assert not w.focus_target("nothing") and w.focused == "srv"
