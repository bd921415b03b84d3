"""The power plot alone, on plain data: envelope, gaps, legend toggles, cursor read-out, stale
styling, live appends and export to PNG and CSV."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from widgets.power_plot import PowerPlot, SeriesSpec, _Ring, format_value

T0 = 1_736_920_800.0  # 2025-01-15 06:00 UTC


@pytest.fixture
def plot(qtbot) -> PowerPlot:
    w = PowerPlot()
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.set_series([SeriesSpec("a/chassis/power", "a chassis power", "W", gap_s=30.0),
                  SeriesSpec("heat/loop/thermal_power", "loop thermal power", "W", gap_s=15.0)])
    ts = T0 + 60.0 * np.arange(120)
    w.set_history("a/chassis/power", ts, 200 + 0 * ts, 180 + 0 * ts, 250 + 0 * ts)  # folded: a band
    w.set_history("heat/loop/thermal_power", ts, 1000 + np.arange(120.0))  # raw: no band
    w.set_x_range(T0, T0 + 7200)
    return w


def test_envelope_band_only_where_points_fold_samples(plot: PowerPlot) -> None:
    assert plot.points("a/chassis/power") == 120
    a, loop = plot._curves["a/chassis/power"], plot._curves["heat/loop/thermal_power"]  # noqa: SLF001
    assert a.band.isVisible() and a.hi.yData.max() == 250
    assert not loop.band.isVisible()


def test_legend_row_hides_and_shows_its_curve(qtbot, plot: PowerPlot) -> None:
    row = plot.legend.item(0)
    assert row.text() == "a chassis power [W]" and row.checkState() == Qt.CheckState.Checked
    with qtbot.waitSignal(plot.visibility_changed) as sig:
        row.setCheckState(Qt.CheckState.Unchecked)
    assert sig.args == ["a/chassis/power", False]
    assert not plot.curve_item("a/chassis/power").isVisible()
    assert not plot._curves["a/chassis/power"].band.isVisible()  # noqa: SLF001
    assert list(plot.values_at(T0 + 600)) == ["heat/loop/thermal_power"]
    row.setCheckState(Qt.CheckState.Checked)
    assert plot.curve_item("a/chassis/power").isVisible() and plot.is_visible("a/chassis/power")


def test_cursor_reads_each_visible_series_with_its_unit(plot: PowerPlot) -> None:
    plot.set_cursor(T0 + 10 * 60 + 5)  # just after the 11th point
    assert plot.values_at(T0 + 605) == {"a/chassis/power": "200 W (180 W – 250 W)",
                                        "heat/loop/thermal_power": "1.01 kW"}
    text = plot.readout.text()
    assert "a chassis power: 200 W (180 W – 250 W)" in text and "loop thermal power: 1.01 kW" in text
    assert plot._cursor.isVisible() and plot._cursor.value() == pytest.approx(T0 + 605)  # noqa: SLF001
    plot.set_cursor(T0 - 100)  # before the data
    assert set(plot.values_at(T0 - 100).values()) == {"no data"}
    plot.set_cursor(None)
    assert not plot._cursor.isVisible() and "Point at the plot" in plot.readout.text()  # noqa: SLF001


def test_mouse_over_the_plot_moves_the_cursor(qtbot, plot: PowerPlot) -> None:
    plot.show()
    qtbot.waitExposed(plot)
    vb = plot.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.sceneBoundingRect().width() > 500)  # laid out
    (_, _), (y0, y1) = vb.viewRange()
    scene_pos = vb.mapViewToScene(QPointF(T0 + 1800, (y0 + y1) / 2))
    with qtbot.waitSignal(plot.cursor_moved) as sig:
        plot.plot.scene().sigMouseMoved.emit(scene_pos)
    assert sig.args[0] == pytest.approx(T0 + 1800, abs=30)


def test_a_gap_in_the_history_is_a_break_not_a_line(qtbot) -> None:
    w = PowerPlot()
    qtbot.addWidget(w)
    w.set_series([SeriesSpec("k", "k", gap_s=30.0)])
    ts = np.concatenate((T0 + 10.0 * np.arange(50), T0 + 3600 + 10.0 * np.arange(50)))
    w.set_history("k", ts, np.full(100, 300.0))
    assert w.points("k") == 100
    assert w.values_at(T0 + 200) == {"k": "300 W"}
    assert w.values_at(T0 + 2000) == {"k": "no data"}  # inside the outage
    y = w.curve_item("k").yData
    assert np.isnan(y).sum() == 1


def test_live_values_append_only_when_newer_and_keep_after_history(plot: PowerPlot) -> None:
    key = "heat/loop/thermal_power"
    last = plot.last_ts(key)
    assert last == T0 + 119 * 60
    assert not plot.append(key, last, 5.0)  # not newer
    assert not plot.append(key, last + 1, math.nan)
    assert plot.append(key, last + 10, 1500.0)
    assert plot.points(key) == 121 and plot.last_ts(key) == last + 10
    # history read again up to before the live value: the live value stays
    ts = T0 + 60.0 * np.arange(120)
    plot.set_history(key, ts, 1000 + np.arange(120.0))
    assert plot.points(key) == 121
    assert plot.values_at(last + 11)[key] == "1.50 kW"


def test_a_late_live_value_after_an_outage_starts_a_new_segment(plot: PowerPlot) -> None:
    key = "heat/loop/thermal_power"
    last = plot.last_ts(key)
    plot.append(key, last + 3600, 900.0)
    assert plot.values_at(last + 1800)[key] == "no data"
    assert plot.values_at(last + 3601)[key] == "900 W"


def test_ring_keeps_the_newest_values_contiguous() -> None:
    r = _Ring(4)
    for i in range(11):
        r.push(float(i), float(i) * 2)
    ts, v = r.view()
    assert list(ts) == [7.0, 8.0, 9.0, 10.0] and list(v) == [14.0, 16.0, 18.0, 20.0]


def test_stale_series_is_grey_dashed_and_says_so_in_the_legend(plot: PowerPlot) -> None:
    plot.set_stale("a/chassis/power", "unreachable, 4 min old")
    assert plot.is_stale("a/chassis/power")
    pen = plot.curve_item("a/chassis/power").opts["pen"]
    assert pen.style() == Qt.PenStyle.DashLine and pen.color().name() == "#8c8c8c"
    row = plot.legend.item(0)
    assert row.text() == "a chassis power [W] — unreachable, 4 min old" and row.font().italic()
    plot.set_stale("a/chassis/power", None)
    assert plot.curve_item("a/chassis/power").opts["pen"].style() == Qt.PenStyle.SolidLine
    assert plot.legend.item(0).text() == "a chassis power [W]"


def test_set_series_keeps_existing_curves_and_drops_the_others(plot: PowerPlot) -> None:
    item = plot.curve_item("a/chassis/power")
    plot.set_series([SeriesSpec("a/chassis/power", "a chassis power"), SeriesSpec("new", "new one")])
    assert plot.keys() == ["a/chassis/power", "new"]
    assert plot.curve_item("a/chassis/power") is item and plot.points("a/chassis/power") == 120
    assert item in plot.plot.getPlotItem().items and plot.legend.count() == 2


def test_export_png_writes_a_non_blank_image(plot: PowerPlot, tmp_path) -> None:
    plot.show()
    path = tmp_path / "power.png"
    assert plot.export_png(path) is None
    img = QImage(str(path))
    assert not img.isNull() and img.width() > 300
    colours = {img.pixel(x, y) for x in range(0, img.width(), 4) for y in range(0, img.height(), 4)}
    assert len(colours) > 20  # curves, band, axes and legend text, not a flat background
    assert len(plot.plot.getPlotItem().getViewBox().childGroup.childItems()) > 0
    # the export legend is gone from the live plot afterwards
    assert not [i for i in plot.plot.scene().items() if type(i).__name__ == "LegendItem"]


def test_export_csv_writes_the_visible_window_of_the_visible_series(plot: PowerPlot, tmp_path) -> None:
    plot.set_x_range(T0 + 600, T0 + 1200)  # points 10..20 of each
    plot.set_visible("heat/loop/thermal_power", True)
    path = tmp_path / "power.csv"
    assert plot.export_csv(path) is None
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["time_utc", "epoch_s",
                       "a/chassis/power mean [W]", "a/chassis/power min [W]", "a/chassis/power max [W]",
                       "heat/loop/thermal_power mean [W]", "heat/loop/thermal_power min [W]",
                       "heat/loop/thermal_power max [W]"]
    assert len(rows) == 1 + 11
    assert rows[1] == ["2025-01-15T06:10:00.000Z", f"{T0 + 600:.3f}", "200.0", "180.0", "250.0",
                       "1010.0", "1010.0", "1010.0"]
    plot.set_visible("a/chassis/power", False)
    assert plot.export_csv(path) is None
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows[0][2:] == ["heat/loop/thermal_power mean [W]", "heat/loop/thermal_power min [W]",
                           "heat/loop/thermal_power max [W]"]


def test_export_to_an_unwritable_place_returns_one_line(plot: PowerPlot, tmp_path) -> None:
    for path in (tmp_path / "missing" / "p.png", tmp_path):
        why = plot.export_png(path)
        assert why is not None and why.startswith(f"cannot write {path}") and "\n" not in why
    why = plot.export_csv(tmp_path / "missing" / "p.csv")
    assert why is not None and why.startswith("cannot write") and "No such file" in why and "\n" not in why
    plot.set_visible("a/chassis/power", False)
    plot.set_visible("heat/loop/thermal_power", False)
    assert plot.export_csv(tmp_path / "x.csv") == "nothing to export: no series is visible"


def test_format_value() -> None:
    assert format_value(186.2, "W") == "186 W"
    assert format_value(1234.0, "W") == "1.23 kW"
    assert format_value(12_345.0, "W") == "12.3 kW"
    assert format_value(31.49, "°C") == "31.5 °C"
    assert format_value(math.nan, "W") == "—"


def test_a_long_read_out_names_how_many_more_and_keeps_its_height(qtbot) -> None:
    w = PowerPlot()
    qtbot.addWidget(w)
    w.resize(900, 500)
    w.show()
    keys = [f"server{i:02d}/chassis/power" for i in range(30)]
    w.set_series([SeriesSpec(k, f"server{i:02d} chassis power") for i, k in enumerate(keys)])
    for i, k in enumerate(keys):
        w.set_history(k, [T0, T0 + 60], [100.0 + i, 100.0 + i])
    height = w.readout.height()
    w.set_cursor(T0 + 30)
    text = w.readout.text()
    assert "server00 chassis power: 100 W" in text and "more (hover to see)" in text
    shown = text.count(" W")
    assert text.endswith(f"+{30 - shown} more (hover to see)")
    assert w.readout.toolTip().count("\n") == 30  # every series in the tooltip
    assert w.readout.height() == height
