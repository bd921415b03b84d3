"""The power page: pick series (grouped by device), pick a span from 15 minutes to the whole
season, and read them off one plot, following now or not.

History comes from the store through ``ctx.history`` (one Future per series, answered on the
history thread, handed back with ``ctx.bridge.post``); the span decides the resolution there
(raw, minute or hourly rollups) and the plot's width the number of min/max/mean buckets. While
"Live" is on, each refresh appends the newest value of each series from the live model (no new
query) and slides the time range; a person who pans or zooms stops the following.
"""
from __future__ import annotations

import logging
import math
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.engine.coordinator import STALE_PERIODS
from console.power_series import (
    DEFAULT_RANGE,
    RANGES,
    PowerSeries,
    default_selection,
    pixels_for,
    power_series,
    preset,
)
from widgets.power_plot import PowerPlot, SeriesSpec

if TYPE_CHECKING:
    from console.history import History
    from console.live import SeriesState
    from console.ui.context import ViewContext

log = logging.getLogger("heatrack.ui.power")

KEY_ROLE = Qt.ItemDataRole.UserRole
# a page not refreshed for this long (another tab was in view) missed live values: while
# following now, its history is read again from the store rather than drawn with a hole
RESYNC_AFTER_S = 30.0
RESOLUTION_WORDS = {"raw": "raw samples", "1m": "1-minute rollups", "1h": "hourly rollups"}


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


class PowerView(QWidget):
    title = "Power"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.range = preset(DEFAULT_RANGE)
        self._series: dict[str, PowerSeries] = {}
        self._picker_keys: tuple[str, ...] = ()
        self._gen = 0  # queries of an older range or selection are ignored when they land
        self._window: tuple[float, float] = (0.0, 1.0)
        self._first: dict[str, float] = {}  # season: each series' first bucket
        self._loaded: dict[str, str] = {}  # key -> resolution read
        self._failed: dict[str, str] = {}  # key -> why its history is missing
        self.queries = 0  # history queries issued (the status line and tests read it)
        self._last_refresh: float | None = None

        self.picker = QTreeWidget()
        self.picker.setHeaderHidden(True)
        self.picker.setToolTip("Tick the series to plot; they are grouped by device")
        self.picker.setMinimumWidth(220)
        self.picker.itemChanged.connect(self._on_pick)

        self.plot = PowerPlot()
        self.plot.user_ranged.connect(lambda: self.set_live(False))

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        self.range_buttons = QButtonGroup(self)
        self.range_buttons.setExclusive(True)
        for r in RANGES:
            b = QToolButton()
            b.setText(r.label)
            b.setCheckable(True)
            b.setChecked(r.name == self.range.name)
            b.setToolTip("Since the first stored sample" if r.seconds is None else f"The last {r.label}")
            b.setProperty("range", r.name)
            b.clicked.connect(lambda _=False, name=r.name: self.set_range(name))
            self.range_buttons.addButton(b)
            bar.addWidget(b)
        bar.addSpacing(12)
        self.live_button = QToolButton()
        self.live_button.setText("Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("Follow now: new values are appended as they arrive and the time range "
                                    "slides. Panning or zooming the plot stops following.")
        self.live_button.toggled.connect(self.set_live)
        bar.addWidget(self.live_button)
        bar.addStretch(1)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setToolTip("Save the visible plot as a PNG image")
        self.png_button.clicked.connect(lambda: self._export("png"))
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save the visible range of the visible series as CSV "
                                   "(UTC and epoch time; mean, min and max per series)")
        self.csv_button.clicked.connect(lambda: self._export("csv"))
        bar.addWidget(self.png_button)
        bar.addWidget(self.csv_button)

        # the chosen range and Live must read as chosen in both themes (Fusion's dark checked
        # button is barely darker): the selection colour and bold, not an alarm colour
        self.setStyleSheet("QToolButton:checked { background: palette(highlight); "
                           "color: palette(highlighted-text); font-weight: bold; }")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.export_message = ""

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 0, 0, 0)
        rl.addLayout(bar)
        rl.addWidget(self.status)
        rl.addWidget(self.plot, 1)
        split = QSplitter()
        split.addWidget(self.picker)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

        self._window = self.range.window(self.ctx.wall())
        self.plot.set_x_range(*self._window)
        self._build_picker(self.ctx.live.series(), initial=True)
        self._apply_selection()  # asks the store for each series picked

    # ------------------------------------------------------------ picker
    def _build_picker(self, states: list[SeriesState], initial: bool = False) -> None:
        groups = power_series(self.ctx.site, states)
        keys = tuple(s.key for g in groups for s in g.series)
        if keys == self._picker_keys:
            return
        checked = set(default_selection(self.ctx.site, groups)) if initial else set(self.selected())
        self._picker_keys = keys
        self._series = {s.key: s for g in groups for s in g.series}
        self.picker.blockSignals(True)
        self.picker.clear()
        for g in groups:
            top = QTreeWidgetItem([g.title])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
            top.setToolTip(0, f"Every power series of {g.device_id}")
            self.picker.addTopLevelItem(top)
            for s in g.series:
                child = QTreeWidgetItem([s.label.removeprefix(g.device_id + " ")])
                child.setData(0, KEY_ROLE, s.key)
                child.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                               | Qt.ItemFlag.ItemIsSelectable)
                child.setCheckState(0, Qt.CheckState.Checked if s.key in checked else Qt.CheckState.Unchecked)
                child.setToolTip(0, f"{s.key} [{s.unit}]")
                top.addChild(child)
            top.setExpanded(any(s.key in checked for s in g.series) or len(groups) <= 4)
        self.picker.blockSignals(False)

    def _tree(self) -> list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]:
        out = []
        for i in range(self.picker.topLevelItemCount()):
            top = self.picker.topLevelItem(i)
            if top is not None:
                kids = [top.child(j) for j in range(top.childCount())]
                out.append((top, [k for k in kids if k is not None]))
        return out

    def groups(self) -> list[tuple[str, list[str]]]:
        """(device title, [series keys]) as the picker lists them."""
        return [(top.text(0), [k.data(0, KEY_ROLE) for k in kids]) for top, kids in self._tree()]

    def selected(self) -> list[str]:
        return [k for _, keys in self.groups() for k in keys if self._check_state(k) == Qt.CheckState.Checked]

    def _item(self, key: str) -> QTreeWidgetItem | None:
        return next((k for _, kids in self._tree() for k in kids if k.data(0, KEY_ROLE) == key), None)

    def _check_state(self, key: str) -> Qt.CheckState:
        item = self._item(key)
        return item.checkState(0) if item is not None else Qt.CheckState.Unchecked

    def set_selected(self, key: str, on: bool) -> None:
        item = self._item(key)
        if item is None:
            raise KeyError(f"no power series {key!r} on this site")
        item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def select(self, target: str | None) -> None:
        """``ctx.navigate("power", target)``: a series key, or a device id (its series)."""
        if not target:
            return
        keys = [target] if target in self._series else [k for k, s in self._series.items() if s.device_id == target]
        for k in keys:
            self.set_selected(k, True)

    def _on_pick(self, item: QTreeWidgetItem, column: int) -> None:
        if item.data(0, KEY_ROLE) is not None:
            self._apply_selection()

    def _apply_selection(self) -> None:
        before = set(self.plot.keys())
        specs = []
        for key in self.selected():
            s = self._series[key]
            dev = next((d for d in self.ctx.site.devices if d.id == s.device_id), None)
            gap = STALE_PERIODS * dev.poll_interval if dev is not None else 0.0
            specs.append(SeriesSpec(key, s.label, s.unit, gap_s=gap))
        self.plot.set_series(specs)
        for key in list(self._loaded) + list(self._failed) + list(self._first):
            if key not in self.plot.keys():
                self._loaded.pop(key, None)
                self._failed.pop(key, None)
                self._first.pop(key, None)
        for key in self.plot.keys():
            if key not in before:
                self._query(key)
        self._show_status()
        self.refresh()

    # ------------------------------------------------------------ range and history
    def set_range(self, name: str) -> None:
        """Show the last ``name`` (a RANGES preset); following now again."""
        self.range = preset(name)
        for b in self.range_buttons.buttons():
            b.setChecked(b.property("range") == name)
        self._first.clear()
        self._load()
        self.set_live(True)

    def set_live(self, on: bool) -> None:
        if self.live_button.isChecked() != on:
            self.live_button.setChecked(on)  # toggled calls back here
            return
        if on:
            self.refresh()

    @property
    def live(self) -> bool:
        return self.live_button.isChecked()

    def _pixels(self) -> int:
        vb = self.plot.plot.getPlotItem().getViewBox()
        return pixels_for(max(vb.width(), 800.0))

    def _load(self) -> None:
        """Ask the store for every plotted series over the current range."""
        self._gen += 1
        self._window = self.range.window(self.ctx.wall())
        self._loaded.clear()
        self._failed.clear()
        self.plot.set_x_range(*self._window)
        for key in self.plot.keys():
            self._query(key)
        self._show_status()

    def _query(self, key: str) -> None:
        if self.ctx.history is None:
            return
        start, end = self._window
        gen = self._gen
        try:
            fut = self.ctx.history.query(key, start, end, self._pixels())
        except (ValueError, RuntimeError) as e:
            self._failed[key] = str(e)
            return
        self.queries += 1
        bridge = self.ctx.bridge
        fut.add_done_callback(lambda f: bridge.post(lambda: self._on_history(key, gen, f)))

    def _on_history(self, key: str, gen: int, fut: Future[History]) -> None:
        if gen != self._gen or key not in self.plot.keys() or fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self._failed[key] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._show_status()
            return
        h = fut.result()
        b = h.buckets
        self.plot.set_history(key, [x.ts for x in b], [x.mean for x in b], [x.min for x in b], [x.max for x in b])
        self._loaded[key] = h.resolution
        if self.range.seconds is None and b:
            self._first[key] = b[0].ts
        self._show_status()
        self.refresh()

    def _show_status(self) -> None:
        n = len(self.plot.keys())
        if n == 0:
            self.status.setText("No series selected: tick some in the list on the left.")
            return
        if self.ctx.history is None:
            text = "No site database: live values only, from when this window opened."
        else:
            res = sorted({RESOLUTION_WORDS.get(r, r) for r in self._loaded.values()})
            pending = n - len(self._loaded) - len(self._failed)
            text = f"{self.range.label}: {len(self._loaded)} of {n} series from the store"
            if res:
                text += f" ({', '.join(res)}; min–max band where a point folds several samples)"
            if pending > 0:
                text += f"; loading {pending}…"
        if self._failed:
            key, why = next(iter(self._failed.items()))
            more = f" (and {len(self._failed) - 1} more)" if len(self._failed) > 1 else ""
            text += f" · history unavailable for {key}{more}: {why}"
        if self.export_message:
            text += f" · {self.export_message}"
        self.status.setText(text)

    # ------------------------------------------------------------ refresh (GUI thread, cheap)
    def refresh(self) -> None:
        live = self.live
        wall = self.ctx.wall()
        if live and self._last_refresh is not None and wall - self._last_refresh > RESYNC_AFTER_S:
            self._load()
        self._last_refresh = wall
        states = self.ctx.live.series()
        self._build_picker(states)
        by_key = {s.key: s for s in states}
        for key in self.plot.keys():
            s = by_key.get(key)
            if s is None:
                self.plot.set_stale(key, "no value yet")
                continue
            self.plot.set_stale(key, None if s.live else f"{s.state.replace('_', ' ')}, {_age(s.age)} old")
            if live and isinstance(s.value, (int, float)) and not isinstance(s.value, bool) \
                    and math.isfinite(s.value):
                self.plot.append(key, s.ts, float(s.value))
        if live:
            now = self.ctx.wall()
            if self.range.seconds is None:
                start = min(self._first.values(), default=self._window[0])
                self.plot.set_x_range(min(start, now - 60.0), now)
            else:
                self.plot.set_x_range(now - self.range.seconds, now)

    # ------------------------------------------------------------ export
    def _export(self, kind: str) -> None:
        filt = "PNG image (*.png)" if kind == "png" else "CSV (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the visible plot as {kind.upper()}",
                                              f"heatrack-power.{kind}", filt)
        if path:
            self.export(kind, path)

    def export(self, kind: str, path: str) -> str | None:
        """Write the visible plot to ``path``; the status line says where, or why not."""
        why = self.plot.export_png(path) if kind == "png" else self.plot.export_csv(path)
        self.export_message = why or f"saved {path}"
        self._show_status()
        return why


__all__ = ["PowerView"]
