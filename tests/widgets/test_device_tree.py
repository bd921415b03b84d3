"""The devices tree and its marks, and the history plot's empty case: plain data in."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor

from widgets.device_tree import DeviceNode, DeviceTree
from widgets.history_plot import HistoryPlot
from widgets.state_icon import SHAPES, state_icon


def test_tree_groups_by_kind_and_counts_what_needs_attention(qtbot) -> None:
    tree = DeviceTree()
    qtbot.addWidget(tree)
    now = time.time()
    tree.set_devices([DeviceNode("pdu1", "PDU", "pdu", "ok", now - 5, "40 values live"),
                      DeviceNode("srv1", "Node", "server", "unreachable", now - 600, "no answer"),
                      DeviceNode("meter", "", "heat_meter", "pending", None, "waiting")], now)
    heads = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert heads == ["Servers — 1 device · 1 needs attention", "Power (UPS, PDUs) — 1 device",
                     "Heat (controllers, meters) — 1 device"]  # in the fixed order, whatever came first
    assert tree.device_ids() == ["srv1", "pdu1", "meter"]
    assert (tree.state_of("srv1"), tree.age_of("srv1")) == ("unreachable", "10 min ago")
    assert (tree.state_of("meter"), tree.age_of("meter")) == ("waiting", "never")
    got: list[str] = []
    tree.device_selected.connect(got.append)
    assert tree.select("pdu1") and got == ["pdu1"]


def test_every_state_mark_is_painted_at_any_size(qtbot) -> None:
    for state in SHAPES:
        for size in (16, 32, 64):  # a high-DPI screen asks for the larger ones: painted, not scaled
            img = state_icon(state, QColor("#c62828")).pixmap(QSize(size, size)).toImage()
            assert img.width() == size
            painted = sum(1 for x in range(size) for y in range(size) if img.pixelColor(x, y).alpha() > 0)
            assert painted > size  # a shape, not an empty square


@pytest.mark.parametrize("samples", [0, 1])
def test_history_plot_with_little_history_keeps_the_date_axis_near_now(qtbot, samples: int) -> None:
    plot = HistoryPlot()
    qtbot.addWidget(plot)
    now = time.time()
    ts = [now - 60.0][:samples]
    plot.set_history("x — little history", ts, [5.0] * samples, [5.0] * samples, [5.0] * samples, "W")
    plot.extend(now, 5.0)
    plot.extend(now + 10, 6.0)
    vb = plot.plot.getViewBox()
    vb.updateAutoRange()
    (x0, x1), _ = vb.viewRange()
    assert x0 > now - 3600 and x1 < now + 3600  # the band of < 2 points stretched it back to 1970
