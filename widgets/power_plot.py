"""Several power series over time: each series' mean as a line and its min..max envelope as a
band under it (so a peak folded into a bucket never vanishes), a date axis, a legend whose rows
hide and show curves, a cursor that reads every visible series at one instant, and export of
what is visible to PNG and CSV. Plain data in; it opens nothing but the files it is told to.

Curves are created once per series and updated with ``setData`` (pyqtgraph's live-plot rules,
notes/qt-and-performance.md): width-1 pens, clip to view, peak downsampling, no finite check
on data known finite. Live values go into a fixed numpy ring per series, so an append costs a
slice and one ``setData``, not a list conversion of the whole hour.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
import os
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers pg.exporters
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

LIVE_POINTS = 7200  # live values kept per series after its history (2 h at 1 Hz)
# calm, mid-lightness hues that read on white and on dark grey; no red or amber (alarm colours)
PALETTE = ("#4477aa", "#44aa99", "#aa3377", "#a08a20", "#228833", "#8877cc", "#996633", "#3a9bd0",
           "#cc66aa", "#667788", "#117799", "#77aa44")
STALE_COLOUR = "#8c8c8c"
KEY_ROLE = Qt.ItemDataRole.UserRole


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesSpec:
    key: str
    label: str  # the legend's words
    unit: str = "W"
    colour: str | None = None  # None: the next palette colour
    gap_s: float = 0.0  # a step longer than this (and than 1.5 history steps) is a gap, not a line


def format_value(value: float, unit: str) -> str:
    """186 W, 1.24 kW, 31.5 °C: three significant figures, SI prefix for W."""
    if not math.isfinite(value):
        return "—"
    if unit == "W" and abs(value) >= 10_000:
        return f"{value / 1000:,.1f} kW"
    if unit == "W" and abs(value) >= 1000:
        return f"{value / 1000:.2f} kW"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".rstrip()
    return f"{value:.3g} {unit}".rstrip()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


class _Ring:
    """The newest ``cap`` (ts, value) pairs, contiguous: a view is a slice, never a copy."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.ts = np.empty(2 * cap)
        self.v = np.empty(2 * cap)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def push(self, ts: float, v: float) -> None:
        if self.n == 2 * self.cap:  # compact: keep the newest cap
            self.ts[: self.cap] = self.ts[self.cap:]
            self.v[: self.cap] = self.v[self.cap:]
            self.n = self.cap
        self.ts[self.n] = ts
        self.v[self.n] = v
        self.n += 1

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        lo = max(0, self.n - self.cap)
        return self.ts[lo:self.n], self.v[lo:self.n]


class _Curve:
    """One series: its data and its plot items."""

    def __init__(self, spec: SeriesSpec, colour: str) -> None:
        self.spec, self.colour = spec, colour
        self.h_ts = self.h_mean = self.h_lo = self.h_hi = np.empty(0)
        self.live = _Ring(LIVE_POINTS)
        self.step = 0.0  # typical step between points, for gaps and the read-out
        self.has_gaps = False
        self.stale: str | None = None
        self.visible = True
        self.mean = pg.PlotDataItem()
        self.mean.setClipToView(True)
        self.mean.setDownsampling(auto=True, method="peak")
        self.lo = pg.PlotCurveItem()
        self.hi = pg.PlotCurveItem()
        self.band = pg.FillBetweenItem(self.lo, self.hi)
        self.band.setZValue(-10)
        self.lo.setZValue(-9)
        self.hi.setZValue(-9)
        self.banded = False
        self.restyle()

    def items(self) -> tuple[pg.GraphicsObject, ...]:
        return (self.band, self.lo, self.hi, self.mean)

    def restyle(self) -> None:
        base = QColor(STALE_COLOUR if self.stale else self.colour)
        pen = QPen(base, 1)
        pen.setCosmetic(True)
        if self.stale:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.mean.setPen(pen)
        edge = QColor(base)
        edge.setAlpha(110)
        self.lo.setPen(pg.mkPen(edge, width=1))
        self.hi.setPen(pg.mkPen(edge, width=1))
        fill = QColor(base)
        fill.setAlpha(55)
        self.band.setBrush(QBrush(fill))

    def gap_threshold(self) -> float:
        return max(self.spec.gap_s, 1.5 * self.step) if self.step > 0 else self.spec.gap_s or math.inf

    def combined(self) -> tuple[np.ndarray, np.ndarray]:
        lts, lv = self.live.view()
        if not len(self.h_ts):
            return lts, lv
        if not len(lts):
            return self.h_ts, self.h_mean
        return np.concatenate((self.h_ts, lts)), np.concatenate((self.h_mean, lv))

    def redraw_mean(self) -> None:
        x, y = self.combined()
        if self.has_gaps:
            self.mean.setData(x, y, connect="finite")
        else:
            self.mean.setData(x, y, connect="all", skipFiniteCheck=True)

    def redraw_band(self) -> None:
        # the band only where buckets fold more than one sample; raw data has nothing to show
        self.banded = bool(len(self.h_ts)) and bool(np.any(self.h_hi[np.isfinite(self.h_hi)]
                                                            > self.h_lo[np.isfinite(self.h_lo)]))
        for item in (self.lo, self.hi, self.band):
            item.setVisible(self.banded and self.visible)
        if self.banded:
            conn = "finite" if self.has_gaps else "all"
            self.lo.setData(self.h_ts, self.h_lo, connect=conn)
            self.hi.setData(self.h_ts, self.h_hi, connect=conn)
        else:
            self.lo.setData([], [])
            self.hi.setData([], [])

    def at(self, ts: float) -> tuple[float, float, float] | None:
        """(mean, min, max) of the point at or just before ``ts``, None outside the data or in a gap."""
        x, y = self.combined()
        i = int(np.searchsorted(x, ts, side="right")) - 1
        if i < 0 or not math.isfinite(float(y[i])):
            return None
        if ts - float(x[i]) > self.gap_threshold():
            return None
        hn = len(self.h_ts)
        if i < hn:
            return float(self.h_mean[i]), float(self.h_lo[i]), float(self.h_hi[i])
        return float(y[i]), float(y[i]), float(y[i])

    def rows(self, start: float, end: float) -> dict[float, tuple[float, float, float]]:
        out: dict[float, tuple[float, float, float]] = {}
        for i in np.flatnonzero((self.h_ts >= start) & (self.h_ts <= end) & np.isfinite(self.h_mean)):
            out[float(self.h_ts[i])] = (float(self.h_mean[i]), float(self.h_lo[i]), float(self.h_hi[i]))
        lts, lv = self.live.view()
        for i in np.flatnonzero((lts >= start) & (lts <= end) & np.isfinite(lv)):
            out[float(lts[i])] = (float(lv[i]),) * 3
        return out


class PowerPlot(QWidget):
    """Series by key. The owner says which exist (``set_series``), gives each its history
    (``set_history``) and live values (``append``), and marks stale ones (``set_stale``)."""

    visibility_changed = Signal(str, bool)
    cursor_moved = Signal(float)
    user_ranged = Signal()  # the person panned or zoomed: the owner stops following now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._curves: dict[str, _Curve] = {}
        self._next_colour = 0
        self._cursor_ts: float | None = None
        self._theming = False
        self._span_text = ""
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMinimumSize(320, 200)
        self.plot.setLabel("left", "power", units="W")
        self.plot.showGrid(x=True, y=True, alpha=0.18)
        for name in ("left", "bottom"):
            # no finest tick level: its dense grid lines cost ~40 % of a 10-series frame
            # (benchmarks/gui_power.py: 6 ms -> 2.5 ms over bare pyqtgraph) and read as clutter
            self.plot.getPlotItem().getAxis(name).setStyle(maxTickLevel=1)
        vb = self.plot.getPlotItem().getViewBox()
        vb.enableAutoRange(x=False, y=True)
        vb.setAutoVisible(y=True)
        vb.sigRangeChangedManually.connect(lambda *_: self.user_ranged.emit())
        vb.sigXRangeChanged.connect(lambda _vb, r: self._label_span(*r))
        self._cursor = pg.InfiniteLine(angle=90, movable=False)
        self._cursor.setZValue(50)
        self._cursor.setVisible(False)
        self.plot.addItem(self._cursor, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        self.plot.viewport().installEventFilter(self)
        self.plot.setToolTip("Move the pointer over the plot to read every visible series at that time; "
                             "drag to pan and scroll to zoom in time.")

        self.readout = QLabel()
        self.readout.setWordWrap(True)
        self.readout.setMinimumHeight(2 * self.readout.fontMetrics().lineSpacing() + 4)  # two lines, never clipped
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setToolTip("Values of the visible series at the cursor (mean, and min–max where the "
                                "point folds several samples)")
        self.legend = QListWidget()
        self.legend.setToolTip("Untick a series to hide its curve; grey dashed curves are stale")
        self.legend.setMaximumWidth(300)
        self.legend.setMinimumWidth(200)
        self.legend.setWordWrap(True)  # a stale note wraps instead of hiding behind a scroll bar
        self.legend.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend.itemChanged.connect(self._on_legend_item)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plot, 1)
        row.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.readout)
        lay.addLayout(row, 1)
        self._apply_theme()
        self._show_readout()

    # ------------------------------------------------------------ series
    def set_series(self, specs: Sequence[SeriesSpec]) -> None:
        """Make the plotted series exactly ``specs`` (in legend order); existing ones keep their
        curves and data."""
        wanted = {s.key: s for s in specs}
        for key in [k for k in self._curves if k not in wanted]:
            for item in self._curves.pop(key).items():
                self.plot.removeItem(item)
        for spec in specs:
            c = self._curves.get(spec.key)
            if c is None:
                colour = spec.colour or PALETTE[self._next_colour % len(PALETTE)]
                self._next_colour += 1
                c = _Curve(spec, colour)
                self._curves[spec.key] = c
                for item in c.items():
                    self.plot.addItem(item)
            else:
                c.spec = dataclasses.replace(spec, colour=c.colour)
        self._curves = {s.key: self._curves[s.key] for s in specs}
        self._rebuild_legend()

    def keys(self) -> list[str]:
        return list(self._curves)

    def set_history(self, key: str, ts: Sequence[float], mean: Sequence[float], lo: Sequence[float] | None = None,
                    hi: Sequence[float] | None = None) -> None:
        """Points from the store, oldest first; replaces the series' history (live values newer
        than its last point are kept)."""
        c = self._curves[key]
        t = np.asarray(ts, dtype=float)
        m = np.asarray(mean, dtype=float)
        lo_a = m if lo is None else np.asarray(lo, dtype=float)
        hi_a = m if hi is None else np.asarray(hi, dtype=float)
        c.step = float(np.median(np.diff(t))) if len(t) > 2 else 0.0
        gap = c.gap_threshold()
        breaks = np.flatnonzero(np.diff(t) > gap) + 1 if len(t) > 1 and math.isfinite(gap) else np.empty(0, int)
        if len(breaks):  # a NaN point in each gap, drawn as a break (connect="finite")
            mids = (t[breaks - 1] + t[breaks]) / 2
            t = np.insert(t, breaks, mids)
            m, lo_a, hi_a = (np.insert(a, breaks, np.nan) for a in (m, lo_a, hi_a))
        c.has_gaps = bool(len(breaks)) or not bool(np.isfinite(m).all())
        c.h_ts, c.h_mean, c.h_lo, c.h_hi = t, m, lo_a, hi_a
        lts, lv = (a.copy() for a in c.live.view())
        c.live.clear()
        end = float(t[-1]) if len(t) else -math.inf
        for x, v in zip(lts, lv, strict=True):  # live values newer than the history stay
            if x > end:
                c.live.push(float(x), float(v))
        c.has_gaps = c.has_gaps or not bool(np.isfinite(c.live.view()[1]).all())
        c.redraw_band()
        c.redraw_mean()
        self._show_readout()

    def append(self, key: str, ts: float, value: float) -> bool:
        """One live value; ignored (False) unless newer than the series' last point."""
        c = self._curves[key]
        last = self.last_ts(key)
        if not math.isfinite(value) or (last is not None and ts <= last):
            return False
        if last is not None and ts - last > c.gap_threshold():
            c.live.push((ts + last) / 2, math.nan)
            c.has_gaps = True
        if c.step <= 0 and last is not None:
            c.step = ts - last
        c.live.push(ts, value)
        c.redraw_mean()
        return True

    def last_ts(self, key: str) -> float | None:
        c = self._curves[key]
        lts, _ = c.live.view()
        if len(lts):
            return float(lts[-1])
        return float(c.h_ts[-1]) if len(c.h_ts) else None

    def points(self, key: str) -> int:
        """Finite points drawn for ``key`` (history and live)."""
        _, y = self._curves[key].combined()
        return int(np.isfinite(y).sum())

    def envelope(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ts, mean, min, max) of the history drawn for ``key``."""
        c = self._curves[key]
        return c.h_ts, c.h_mean, c.h_lo, c.h_hi

    def set_stale(self, key: str, note: str | None) -> None:
        """Draw ``key`` grey and dashed with ``note`` (e.g. "stale, 4 min old") in its legend
        row; None: it is live again."""
        c = self._curves[key]
        if c.stale == note:
            return
        c.stale = note
        c.restyle()
        self._update_legend_row(key)

    def is_stale(self, key: str) -> bool:
        return self._curves[key].stale is not None

    def set_visible(self, key: str, visible: bool) -> None:
        c = self._curves[key]
        c.visible = visible
        c.mean.setVisible(visible)
        for item in (c.lo, c.hi, c.band):
            item.setVisible(visible and c.banded)
        row = self._legend_item(key)
        if row is not None and (row.checkState() == Qt.CheckState.Checked) != visible:
            row.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        self._show_readout()

    def is_visible(self, key: str) -> bool:
        return self._curves[key].visible

    def curve_item(self, key: str) -> pg.PlotDataItem:
        return self._curves[key].mean

    # ------------------------------------------------------------ time range
    def set_x_range(self, start: float, end: float) -> None:
        self.plot.getPlotItem().getViewBox().setXRange(start, end, padding=0)
        self._label_span(start, end)

    def _label_span(self, start: float, end: float) -> None:
        """The date axis shows times or day numbers; its label says which days (changed only when
        the text does, so sliding live does not re-lay the plot out)."""
        a, b = dt.datetime.fromtimestamp(start), dt.datetime.fromtimestamp(end)
        text = (f"{a:%a %d %b %Y}, local time" if a.date() == b.date()
                else f"{a:%d %b %Y} – {b:%d %b %Y}, local time")
        if text != self._span_text:
            self._span_text = text
            self.plot.setLabel("bottom", text)

    def x_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.plot.getPlotItem().getViewBox().viewRange()
        return float(x0), float(x1)

    # ------------------------------------------------------------ cursor read-out
    def set_cursor(self, ts: float | None) -> None:
        """Put the cursor at ``ts`` (None: hide it) and read every visible series there."""
        self._cursor_ts = ts
        self._cursor.setVisible(ts is not None)
        if ts is not None:
            self._cursor.setValue(ts)
            self.cursor_moved.emit(ts)
        self._show_readout()

    def values_at(self, ts: float) -> dict[str, str]:
        """Each visible series' value at ``ts`` as the read-out writes it."""
        out = {}
        for key, c in self._curves.items():
            if not c.visible:
                continue
            got = c.at(ts)
            if got is None:
                out[key] = "no data"
                continue
            mean, lo, hi = got
            text = format_value(mean, c.spec.unit)
            if hi > lo:
                text += f" ({format_value(lo, c.spec.unit)} – {format_value(hi, c.spec.unit)})"
            out[key] = text
        return out

    def _show_readout(self) -> None:
        ts = self._cursor_ts
        if ts is None:
            self.readout.setText("Point at the plot to read the values at a moment.")
            return
        when = dt.datetime.fromtimestamp(ts).strftime("%a %d %b %Y %H:%M:%S")
        parts = [f"{self._curves[k].spec.label}: {v}" for k, v in self.values_at(ts).items()]
        full = f"{when} (local) · " + (" · ".join(parts) if parts else "no visible series")
        self.readout.setToolTip(full.replace(" · ", "\n"))
        self.readout.setText(self._fit(when, parts))

    def _fit(self, when: str, parts: list[str]) -> str:
        """As many series as fit in the read-out's lines, then how many more (all in its tooltip):
        the plot below never jumps as the text grows."""
        fm = self.readout.fontMetrics()
        width = max(200, self.readout.width())
        lines = max(1, (self.readout.minimumHeight() - 4) // fm.lineSpacing())
        flags = int(Qt.TextFlag.TextWordWrap)
        text = f"{when} (local) · " + (" · ".join(parts) if parts else "no visible series")
        if fm.boundingRect(0, 0, width, 10_000, flags, text).height() <= lines * fm.lineSpacing():
            return text
        for n in range(len(parts) - 1, 0, -1):
            text = f"{when} (local) · " + " · ".join(parts[:n]) + f" · +{len(parts) - n} more (hover to see)"
            if fm.boundingRect(0, 0, width, 10_000, flags, text).height() <= lines * fm.lineSpacing():
                return text
        return f"{when} (local) · {len(parts)} series (hover to see)"

    def _on_mouse(self, pos: QPointF) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if vb.sceneBoundingRect().contains(pos):
            self.set_cursor(float(vb.mapSceneToView(pos).x()))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.plot.viewport() and event.type() == QEvent.Type.Leave:
            self.set_cursor(None)
        return False

    # ------------------------------------------------------------ legend
    def _rebuild_legend(self) -> None:
        self.legend.blockSignals(True)
        self.legend.clear()
        for key in self._curves:
            item = QListWidgetItem()
            item.setData(KEY_ROLE, key)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
            self.legend.addItem(item)
            self._style_legend_item(item, self._curves[key])
        self.legend.blockSignals(False)

    def _legend_item(self, key: str) -> QListWidgetItem | None:
        for i in range(self.legend.count()):
            item = self.legend.item(i)
            if item.data(KEY_ROLE) == key:
                return item
        return None

    def _update_legend_row(self, key: str) -> None:
        item = self._legend_item(key)
        if item is not None:
            self.legend.blockSignals(True)
            self._style_legend_item(item, self._curves[key])
            self.legend.blockSignals(False)

    def _style_legend_item(self, item: QListWidgetItem, c: _Curve) -> None:
        text = f"{c.spec.label} [{c.spec.unit}]"
        if c.stale:
            text += f" — {c.stale}"
        item.setText(text)
        item.setToolTip(f"{c.spec.key} in {c.spec.unit}" + (f"; {c.stale}: drawn grey and dashed" if c.stale
                                                            else "") + ". Untick to hide.")
        item.setCheckState(Qt.CheckState.Checked if c.visible else Qt.CheckState.Unchecked)
        item.setIcon(self._swatch(c))
        font = item.font()
        font.setItalic(c.stale is not None)
        item.setFont(font)
        if c.stale:
            item.setForeground(QBrush(QColor(STALE_COLOUR)))
        else:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)

    def _swatch(self, c: _Curve) -> QIcon:
        pix = QPixmap(22, 12)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        colour = QColor(STALE_COLOUR if c.stale else c.colour)
        fill = QColor(colour)
        fill.setAlpha(60)
        p.fillRect(0, 3, 22, 6, fill)
        pen = QPen(colour, 2)
        if c.stale:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(0, 6, 22, 6)
        p.end()
        return QIcon(pix)

    def _on_legend_item(self, item: QListWidgetItem) -> None:
        key = item.data(KEY_ROLE)
        if key not in self._curves:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != self._curves[key].visible:
            self.set_visible(key, visible)
            self.visibility_changed.emit(key, visible)

    # ------------------------------------------------------------ theme
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and not self._theming:
            self._apply_theme()
        super().changeEvent(event)

    def _apply_theme(self) -> None:
        """The plot follows the window's palette (light or dark), calm and neutral."""
        self._theming = True
        try:
            pal = self.palette()
            bg = pal.color(QPalette.ColorRole.Base)
            fg = pal.color(QPalette.ColorRole.Text)
            self.plot.setBackground(bg)
            for name in ("left", "bottom"):
                axis = self.plot.getPlotItem().getAxis(name)
                axis.setPen(pg.mkPen(fg))
                axis.setTextPen(pg.mkPen(fg))
            cursor = QColor(fg)
            cursor.setAlpha(160)
            self._cursor.setPen(pg.mkPen(cursor, width=1, style=Qt.PenStyle.DotLine))
        finally:
            self._theming = False

    # ------------------------------------------------------------ export
    def export_png(self, path: str | os.PathLike[str]) -> str | None:
        """The visible plot, with a legend of the visible series, as PNG. Returns None, or one
        line saying why it could not be written."""
        path = os.fspath(path)
        why = _unwritable(path)
        if why:
            return why
        item = self.plot.getPlotItem()
        bg = QColor(self.palette().color(QPalette.ColorRole.Base))
        bg.setAlpha(215)
        legend = pg.LegendItem(offset=(8, 8), labelTextColor=self.palette().color(QPalette.ColorRole.Text),
                               brush=pg.mkBrush(bg), pen=pg.mkPen(self.palette().color(QPalette.ColorRole.Mid)))
        legend.setParentItem(item.getViewBox())
        cursor_shown = self._cursor.isVisible()
        self._cursor.setVisible(False)  # the picture is of the data, not of where the pointer was
        x0, x1 = self.x_range()
        span = pg.PlotDataItem()
        legend.addItem(span, f"{dt.datetime.fromtimestamp(x0):%Y-%m-%d %H:%M} – "
                             f"{dt.datetime.fromtimestamp(x1):%Y-%m-%d %H:%M} (local time)")
        for c in self._curves.values():
            if c.visible:
                legend.addItem(c.mean, f"{c.spec.label} [{c.spec.unit}]" + (f" — {c.stale}" if c.stale else ""))
        try:
            exporter = pg.exporters.ImageExporter(item)
            width = int(item.sceneBoundingRect().width()) or 800
            exporter.parameters()["width"] = width
            ok = exporter.export(path)
        except Exception as exc:  # noqa: BLE001 - any failure is a message, never a traceback into Qt
            return f"cannot write {path}: {exc}"
        finally:
            self._cursor.setVisible(cursor_shown)
            if legend.scene() is not None:
                legend.scene().removeItem(legend)
        return None if ok else f"cannot write {path}: the image could not be saved"

    def export_csv(self, path: str | os.PathLike[str]) -> str | None:
        """The visible time range of the visible series: one row per timestamp (ISO 8601 UTC and
        epoch seconds), mean, min and max per series with the unit in the header. A series with
        no point at a row's time has empty cells (nothing is interpolated). Returns None, or one
        line saying why it could not be written."""
        path = os.fspath(path)
        visible = [c for c in self._curves.values() if c.visible]
        if not visible:
            return "nothing to export: no series is visible"
        x0, x1 = self.x_range()
        per = [c.rows(x0, x1) for c in visible]
        stamps = sorted(set().union(*per))
        header = ["time_utc", "epoch_s"]
        for c in visible:
            u = c.spec.unit
            header += [f"{c.spec.key} mean [{u}]", f"{c.spec.key} min [{u}]", f"{c.spec.key} max [{u}]"]
        try:
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(header)
                for ts in stamps:
                    row: list[str] = [_iso(ts), f"{ts:.3f}"]
                    for rows in per:
                        got = rows.get(ts)
                        row += [repr(v) for v in got] if got else ["", "", ""]
                    w.writerow(row)
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        return None


def _unwritable(path: str) -> str | None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"cannot write {path}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"cannot write {path}: permission denied"
    if os.path.isdir(path):
        return f"cannot write {path}: it is a folder"
    return None


__all__ = ["LIVE_POINTS", "PALETTE", "PowerPlot", "SeriesSpec", "format_value"]
