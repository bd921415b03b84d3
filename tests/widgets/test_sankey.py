"""The Sankey widget alone, on plain data: band widths proportional to value, no-data links
drawn as stubs (never dropped), stale and unaccounted links painted, tooltips and clicks."""
from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from widgets.sankey import STUB, SankeyLink, SankeyNode, SankeyWidget, compute_geometry

NODES = [SankeyNode("in", "Electricity in\n1,000 W", 0), SankeyNode("it", "IT\n900 W", 1),
         SankeyNode("loss", "Losses\n100 W", 1), SankeyNode("cap", "Captured\n600 W", 2),
         SankeyNode("room", "Room\n300 W", 2), SankeyNode("dump", "Dumped", 2)]
LINKS = [SankeyLink("in", "it", 900.0, "900 W", "electric"), SankeyLink("in", "loss", 100.0, "100 W", "loss"),
         SankeyLink("it", "cap", 600.0, "600 W · captured 67 %", "heat"),
         SankeyLink("it", "room", 300.0, "300 W", "heat", stale=True),
         SankeyLink("cap", "dump", None, "no data · not metered", "waste")]


def test_band_widths_are_proportional_to_value_and_no_data_is_a_stub() -> None:
    g = compute_geometry(NODES, LINKS, 1000, 600)
    by = {(b.link.source, b.link.target): b for b in g.bands}
    assert len(g.bands) == len(LINKS)  # nothing hidden
    assert by[("in", "it")].thickness == pytest.approx(9 * by[("in", "loss")].thickness)
    assert by[("it", "cap")].thickness == pytest.approx(2 * by[("it", "room")].thickness)
    assert by[("in", "it")].thickness == pytest.approx(900 * g.scale)
    assert by[("cap", "dump")].thickness == STUB
    # bands leave their source stacked, and arrive where their target is
    assert by[("in", "loss")].y0 == pytest.approx(by[("in", "it")].y0 + by[("in", "it")].thickness)
    assert by[("it", "cap")].y1 == pytest.approx(g.nodes["cap"].top())
    assert g.nodes["in"].height() == pytest.approx(1000 * g.scale)
    # the fullest column fits the height, with room for the gaps
    assert all(0 <= r.top() and r.bottom() <= 600 for r in g.nodes.values())
    assert g.nodes["it"].left() > g.nodes["in"].right()


def test_zero_and_negative_values_are_stubs_and_empty_data_draws_nothing() -> None:
    links = [SankeyLink("in", "it", 0.0, "0 W"), SankeyLink("in", "loss", -5.0, "no data")]
    g = compute_geometry(NODES[:3], links, 800, 400)
    assert [b.thickness for b in g.bands] == [STUB, STUB] and g.scale == 0
    # thin nodes in a column with room to spare are spread apart (their labels need the room)
    assert g.nodes["loss"].top() - g.nodes["it"].bottom() >= 60
    assert compute_geometry([], [], 800, 400).bands == []


def _render(w: SankeyWidget, qtbot: Any) -> QImage:
    qtbot.addWidget(w)
    w.resize(1000, 600)
    w.show()
    qtbot.waitExposed(w)
    return w.grab().toImage()


def test_paints_bands_stale_hatched_and_a_message_without_data(qtbot: Any) -> None:
    w = SankeyWidget()
    w.set_data(NODES, LINKS)
    img = _render(w, qtbot)
    g = w.geometry_now()
    by = {(b.link.source, b.link.target): b for b in g.bands}
    b = by[("in", "it")]
    x = int((b.x0 + b.x1) / 2)
    y = int((b.y0 + b.y1) / 2 + b.thickness / 4)
    fill = QColor(img.pixel(x, y))
    back = w.palette().color(w.backgroundRole())
    assert fill != back  # the band is painted
    assert fill.blue() > fill.red()  # electricity: the cool tone
    stale = by[("it", "room")]
    sx = int((stale.x0 + stale.x1) / 2)
    colours = {img.pixel(sx, int(stale.y1 + stale.thickness * f)) for f in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)}
    assert len(colours) > 1  # hatched, not a flat fill
    updates: list[int] = []
    w.update = lambda *a: updates.append(1)  # type: ignore[method-assign]
    w.set_data(list(NODES), list(LINKS))  # the same data (a refresh between polls): no repaint asked
    assert updates == []
    w.set_data(NODES, [*LINKS[:-1], SankeyLink("cap", "dump", 5.0, "5 W", "waste")])
    assert updates == [1]
    del w.update
    w.set_message("no site database")
    assert w.geometry_now().bands == []
    w.repaint()


def test_node_click_and_tooltips(qtbot: Any) -> None:
    w = SankeyWidget()
    w.set_data(NODES, LINKS)
    _render(w, qtbot)
    r = w.geometry_now().nodes["cap"]
    with qtbot.waitSignal(w.nodeClicked, timeout=1000) as sig:
        qtbot.mouseClick(w, Qt.MouseButton.LeftButton, pos=r.center().toPoint())
    assert sig.args == ["cap"]
    assert w._hit(QPointF(r.center())) == ("node", "cap")  # noqa: SLF001 - the tooltip's lookup
    b = w.geometry_now().bands[0]
    mid = QPoint(int((b.x0 + b.x1) / 2), int((b.y0 + b.y1) / 2 + b.thickness / 2))
    assert w._hit(QPointF(mid)) == ("band", "0")  # noqa: SLF001
