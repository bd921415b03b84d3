"""The Energy page: where the site's electricity goes and where its heat ends up, as a Sankey.

Live, the balance is power (W) from the live model's latest values, redrawn on each refresh;
for a period it is energy (kWh) from the store, asked of the history service (its own thread)
and handed back through the bridge, re-asked about once a minute while the period ends now. The
balance itself (which series, what is derived, what does not add up) is ``console.energy``.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtCore import QDateTime, QEvent
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console import energy, energy_periods
from console.ui import theme
from console.ui.context import ViewContext
from widgets.sankey import SankeyLink, SankeyNode, SankeyWidget

REQUERY_S = 60.0  # a period ending now is re-read this often
TANK_PIXELS = 200  # buckets of each tank temperature over the period: first and last are used

# which page a click on a node opens (ViewContext.navigate)
NODE_PAGES = {"in": "power", "it": "power", "losses": "power", "captured": "schematic", "dumped": "schematic",
              "tank": "schematic", "stored": "schematic"}


class EnergyView(QWidget):
    title = "Energy"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tz = energy_periods.zone(ctx.site.site.timezone)
        self.period = QComboBox()
        self.period.addItems(list(energy_periods.PERIODS))
        self.period.setToolTip("Live: power now (W). A period: energy (kWh) from the site database.")
        self.period.currentTextChanged.connect(self._period_changed)
        self.start_edit, self.end_edit = QDateTimeEdit(), QDateTimeEdit()
        for w in (self.start_edit, self.end_edit):
            w.setCalendarPopup(True)
            w.setDisplayFormat("yyyy-MM-dd HH:mm")
            w.setVisible(False)
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Read the energy of this range from the site database")
        self.show_button.clicked.connect(self._ask)
        self.show_button.setVisible(False)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.sankey = SankeyWidget()
        self.sankey.nodeClicked.connect(self._node_clicked)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setEnabled(False)  # muted: context, not a call to act
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.period)
        self.to_label = QLabel("to")
        self.to_label.setVisible(False)
        bar.addWidget(self.start_edit)
        bar.addWidget(self.to_label)
        bar.addWidget(self.end_edit)
        bar.addWidget(self.show_button)
        bar.addStretch(1)
        self.legend = QLabel()
        self.legend.setToolTip("Band widths are proportional to power (live) or energy (a period)")
        bar.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.totals)
        lay.addWidget(self.sankey, 1)
        lay.addWidget(self.notes)
        self.balance: energy.Balance | None = None
        self.error = ""
        self._generation = 0
        self._in_flight = False
        self._next_query = 0.0
        self._range: tuple[float, float] | None = None
        self._custom_set = False
        self._label = ""
        self._tank_text = ""  # the tank's mean temperature at the start and end of the period
        self._apply_theme()
        self.refresh()

    # ------------------------------------------------------------ the window calls
    def refresh(self) -> None:
        if self.period.currentText() == "Live":
            self._show_live()
        elif (self._range is not None and self.period.currentText() != "Custom range"
              and not self._in_flight and time.monotonic() >= self._next_query):
            self._ask()

    # ------------------------------------------------------------ live
    def _show_live(self) -> None:
        states = self.ctx.live.series()
        plan = energy.plan(self.ctx.site, [s.key for s in states], period=False)
        samples = energy.live_samples([(s.key, s.value, s.live, s.age) for s in states])
        if not samples:
            self._show(None, "Live", "no live values yet: waiting for the first poll")
            return
        self._show(energy.balance(plan, samples), "Live · power now")

    # ------------------------------------------------------------ periods (history thread)
    def _period_changed(self, name: str) -> None:
        custom = name == "Custom range"
        for w in (self.start_edit, self.to_label, self.end_edit, self.show_button):
            w.setVisible(custom)
        self._generation += 1  # a result still on its way is for the old period: dropped
        self._in_flight = False
        self._range = None
        if name == "Live":
            self.refresh()
            return
        if custom:
            if not self._custom_set:  # first time: the last 24 h, to adjust
                now = self.ctx.wall()
                self.start_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(now - 86400)))
                self.end_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(now)))
                self._custom_set = True
            self._show(None, "Custom range", "choose a range and press Show")
            return
        self._show(None, name, "reading the site database …")
        self._ask()

    def _bounds(self) -> tuple[float, float]:
        name, now = self.period.currentText(), self.ctx.wall()
        if name == "Custom range":
            return (float(self.start_edit.dateTime().toSecsSinceEpoch()),
                    float(self.end_edit.dateTime().toSecsSinceEpoch()))
        return energy_periods.bounds(name, now, self.tz)

    def _ask(self) -> None:
        name = self.period.currentText()
        if name == "Live":
            return
        start, end = self._bounds()
        self._range = (start, end)
        label = f"{name} · {energy_periods.describe(start, end, self.tz)}"
        hist = self.ctx.history
        if hist is None:
            self._show(None, label, "no site database: periods need one (Live works without)")
            return
        if end <= start:
            self._show(None, label, "the range ends before it starts")
            return
        plan = energy.plan(self.ctx.site, [s.key for s in self.ctx.live.series()], period=True)
        self._generation += 1
        gen = self._generation
        self._in_flight = True
        try:
            fut_energy = hist.energy(plan.keys(), start, end)
            fut_tank = {k: hist.query(k, start, end, pixels=TANK_PIXELS) for k in plan.tank_keys}
        except (RuntimeError, ValueError) as e:  # a closed service, a range it refuses
            self._period_failed(gen, label, str(e))
            return
        if self.balance is None:
            self._show(None, label, "reading the site database …")
        futures: list[Future[Any]] = [fut_energy, *fut_tank.values()]
        left = [len(futures)]
        lock = threading.Lock()

        def one_done(_: Future[Any]) -> None:  # history thread (or here, when already done)
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                self.ctx.bridge.post(lambda: self._period_done(gen, label, plan, start, end, fut_energy, fut_tank))

        for f in futures:
            f.add_done_callback(one_done)

    def _period_failed(self, gen: int, label: str, why: str) -> None:
        if gen != self._generation or not shiboken6.isValid(self):
            return
        self._in_flight = False
        self._next_query = time.monotonic() + REQUERY_S
        self.balance = None
        self.error = " ".join(why.split())
        self._show(None, label, f"history unavailable: {self.error}")

    def _period_done(self, gen: int, label: str, plan: energy.Plan, start: float, end: float,
                     fut_energy: Future[Any], fut_tank: dict[str, Future[Any]]) -> None:  # GUI thread
        if gen != self._generation or not shiboken6.isValid(self):
            return
        for f in (fut_energy, *fut_tank.values()):
            if f.exception() is not None:
                self._period_failed(gen, label, str(f.exception()) or type(f.exception()).__name__)
                return
        self._in_flight = False
        self._next_query = time.monotonic() + REQUERY_S
        samples = energy.period_samples(fut_energy.result(), end - start)
        first_last = {}
        for k, f in fut_tank.items():
            b = f.result().buckets
            if b:
                first_last[k] = (b[0].ts, b[0].mean, b[-1].ts, b[-1].mean)
        stored = energy.tank_stored(plan, first_last, start, end)
        means = energy.tank_means(plan, first_last)
        self._tank_text = f"mean {means[0]:.1f} → {means[1]:.1f} °C" if means else ""
        if not samples:
            self._show(None, label, "no energy recorded in this period")
            return
        self.error = ""
        self._show(energy.balance(plan, samples, stored=stored), label)

    # ------------------------------------------------------------ drawing
    def _show(self, b: energy.Balance | None, label: str, message: str = "") -> None:
        self.balance, self._label = b, label
        if b is None:
            self.sankey.set_message(message)
            self.totals.setText(f"<b>{label}</b> · {message}")
            self.notes.setText("")
            return
        nodes = []
        for n in b.nodes:
            total = b.node_total(n.id)
            text = f"{n.label}\n{energy.fmt(total, b.unit)}"
            if n.id == "tank" and b.useful_fraction is not None:
                text += f" · useful {b.useful_fraction * 100:.0f} % of IT"
            if n.id == "room":
                text += " · useful in winter"
            if n.id in ("stored", "from-store") and self._tank_text:
                text += f" · {self._tank_text}"
            nodes.append(SankeyNode(n.id, text, n.column, f"{n.label}: {energy.fmt(total, b.unit)}"
                                    + (f" ({n.note})" if n.note else "")))
        links = []
        for f in b.flows:
            label_text = f.label if f.value is not None else "no data" + (f" · {f.note}" if f.note else "")
            tip = "\n".join(x for x in (label_text, f.note if f.value is not None else "", f.basis) if x)
            links.append(SankeyLink(f.source, f.target, f.value, label_text, f.tone, f.stale, tip))
        self.sankey.set_data(nodes, links, "partial" if b.unit == energy.ENERGY else "stale")
        u = b.unit
        parts = [f"<b>{label}</b>", f"in {energy.fmt(b.electricity_in, u)}", f"IT {energy.fmt(b.it, u)}",
                 f"captured {energy.fmt(b.captured, u)} ({_pct(b.capture_fraction)} of IT)",
                 f"useful {energy.fmt(b.useful, u)} ({_pct(b.useful_fraction)} of IT)",
                 f"room air {energy.fmt(b.room_air, u)}", f"dumped {energy.fmt(b.dumped, u)}"]
        if b.low_capture:  # abnormal: the warning colour, a mark and words
            warn = self.sankey.warning_colour.name()
            parts.insert(1, f'<span style="color:{warn}"><b>⚠ {b.low_capture}</b></span>')
        if any(f.stale for f in b.flows):
            parts.insert(1, "<b>partial data (hatched grey, see below)</b>" if b.unit == energy.ENERGY
                         else "<b>stale values (hatched grey, see below)</b>")
        if b.stored is not None:
            parts.append(f"stored in the tank {energy.fmt(b.stored, u)}" if b.stored >= 0
                         else f"drawn from the tank {energy.fmt(-b.stored, u)}")
        if b.unaccounted:
            parts.append(f"<b>unaccounted {energy.fmt(b.unaccounted, u)}</b>")
        self.totals.setText(" · ".join(parts))
        self.notes.setText(" · ".join(b.notes))

    def _apply_theme(self) -> None:
        """Colours for the palette in force: decided from the palette itself, since a theme
        switch delivers the palette change before it records the theme's name."""
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        name = "dark" if dark else "light"
        self.sankey.set_colours(warning=theme.colour(name, "state.warning", "#b25e00"),
                                stale=theme.colour(name, "state.stale", "#7a7a7a"), dark=dark)
        self.legend.setText(self.sankey.legend_html())
        if self.balance is not None:  # the warning line is coloured text: redo it
            self._show(self.balance, self._label)

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802 - Qt's name
        if e.type() == QEvent.Type.PaletteChange and hasattr(self, "legend"):  # a light/dark switch
            self._apply_theme()
        super().changeEvent(e)

    def _node_clicked(self, node_id: str) -> None:
        page = NODE_PAGES.get(node_id)
        if page is not None:
            self.ctx.navigate(page, None)


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{x * 100:.0f} %"

__all__ = ["EnergyView"]
