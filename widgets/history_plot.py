"""Recent history of one series: the mean as a line, the min..max envelope of each bucket as
a band, then the live values appended as they arrive. Plain data in; it opens nothing.

Width-1 pens and one ``setData`` per change (notes/qt-and-performance.md: wider pens cost 7-9x
in software rendering); the live tail is a bounded ring, long spans come folded from history."""
from __future__ import annotations

import collections
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

LIVE_POINTS = 3600  # values kept in the live tail after the history (an hour at 1 Hz)


class HistoryPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("no series selected")
        self.title.setContentsMargins(4, 2, 4, 2)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "W", never "W (x0.001)" on a flat line
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMinimumHeight(160)
        pen = pg.mkPen("#3d7cc9", width=1)  # reads on the light and the dark background
        self._lo = pg.PlotDataItem(pen=pg.mkPen(61, 124, 201, 90, width=1))
        self._hi = pg.PlotDataItem(pen=pg.mkPen(61, 124, 201, 90, width=1))
        self._band = pg.FillBetweenItem(self._lo, self._hi, brush=pg.mkBrush(61, 124, 201, 60))
        self._mean = pg.PlotDataItem(pen=pen)
        self._live = pg.PlotDataItem(pen=pen)
        for item in (self._lo, self._hi, self._band, self._mean, self._live):
            self.plot.addItem(item)
        self._live_x: collections.deque[float] = collections.deque(maxlen=LIVE_POINTS)
        self._live_y: collections.deque[float] = collections.deque(maxlen=LIVE_POINTS)
        self._history_points = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)

    def clear(self, message: str) -> None:
        """No data (yet): say why instead of an empty or stale curve."""
        for item in (self._lo, self._hi, self._mean, self._live):
            item.setData([], [])
        self._band.setVisible(False)
        self._live_x.clear()
        self._live_y.clear()
        self._history_points = 0
        self.title.setText(message)

    def set_history(self, title: str, ts: Sequence[float], mean: Sequence[float],
                    lo: Sequence[float], hi: Sequence[float], unit: str) -> None:
        """Buckets from the store (oldest first); replaces what is drawn."""
        self._lo.setData(list(ts), list(lo))
        self._hi.setData(list(ts), list(hi))
        self._mean.setData(list(ts), list(mean))
        # a band of fewer than two points still has bounds at 0, which stretched the date axis back
        # to 1970 (a fresh database: no history, or one sample)
        self._band.setVisible(len(ts) > 1)
        self._history_points = len(ts)
        self._live_x.clear()
        self._live_y.clear()
        if ts:
            # the live tail starts where history ends, so the line is continuous
            self._live_x.append(ts[-1])
            self._live_y.append(mean[-1])
        self._live.setData([], [])
        self.plot.setLabel("left", unit)
        self.title.setText(title)

    def extend(self, ts: float, value: float) -> None:
        """One live value, newer than what is drawn."""
        self._live_x.append(ts)
        self._live_y.append(value)
        self._live.setData(list(self._live_x), list(self._live_y))

    @property
    def history_points(self) -> int:
        return self._history_points

    @property
    def live_points(self) -> int:
        return len(self._live_x)
