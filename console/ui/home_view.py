"""The Home page: the site in a home user's words (``console.home``) on a calm panel
(``widgets.home_panel``). Live values come from the live model on each refresh; heat and money
for today and this season come from the store through the history service, re-read about once
a minute off the GUI thread."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.home import (
    PeriodEnergy,
    energy_keys,
    period_energy,
    reckoning_words,
    season_start,
    site_zone,
    summarize,
    today_start,
)
from console.ui.context import ViewContext
from widgets.home_panel import HomePanel

# where a tile leads: the page that explains it (ViewContext.navigate; a no-op outside the window)
TILE_PAGES = {"compute": "power", "heat": "schematic", "tank": "schematic", "room": "schematic",
              "today": "energy", "season": "energy"}
REQUERY_S = 60.0  # period totals change slowly; a minute keeps "today" honest
RETRY_S = 5.0  # nothing to ask yet (no series reported) or the last read failed


class HomeView(QWidget):
    title = "Home"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.panel = HomePanel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.panel)
        self.panel.tile_clicked.connect(lambda name: ctx.navigate(TILE_PAGES.get(name, "home"), None))
        self.panel.needs_you_clicked.connect(lambda: ctx.navigate("events", None))
        self.periods: dict[str, PeriodEnergy] = {}
        self.period_error = ""
        self._next_query = 0.0  # monotonic
        self._in_flight = False
        self.refresh()

    # ------------------------------------------------------------ periods (history thread)
    def _maybe_query(self) -> None:
        hist = self.ctx.history
        if hist is None or self._in_flight or time.monotonic() < self._next_query:
            return
        heat, dump, elec = energy_keys(self.ctx.site, self.ctx.live.series())
        if not heat and not elec:
            self._next_query = time.monotonic() + RETRY_S
            return
        now = self.ctx.wall()
        tz = site_zone(self.ctx.site)
        spans = {"today": today_start(now, tz), "this season": season_start(now, tz)}
        keys = heat + dump + elec
        self._in_flight = True
        try:
            futures = {label: hist.energy(keys, start, now) for label, start in spans.items()}
        except (RuntimeError, ValueError) as e:  # closed service, or a clock gone wrong
            self._done({}, str(e), REQUERY_S)
            return
        results: dict[str, PeriodEnergy] = {}
        errors: list[str] = []
        left = [len(futures)]
        lock = threading.Lock()  # a future already done runs its callback here, the other there

        def one(label: str, start: float, fut: Future[Any]) -> None:  # history (or GUI) thread
            try:
                got: PeriodEnergy | str = period_energy(label, start, now, fut.result(), heat, dump, elec)
            except Exception as e:  # noqa: BLE001 - any failure is shown as one line
                got = " ".join(str(e).split()) or type(e).__name__
            with lock:
                if isinstance(got, str):
                    errors.append(got)
                else:
                    results[label] = got
                left[0] -= 1
                last = left[0] == 0
            if last:
                error = "; ".join(dict.fromkeys(errors))  # both periods fail alike: say it once
                self.ctx.bridge.post(lambda: self._done(results, error, RETRY_S if errors else REQUERY_S))

        def done_cb(label: str) -> Callable[[Future[Any]], None]:
            return lambda f: one(label, spans[label], f)

        for label, fut in futures.items():
            fut.add_done_callback(done_cb(label))

    def _done(self, results: dict[str, PeriodEnergy], error: str, wait: float) -> None:  # GUI thread
        if not shiboken6.isValid(self):
            return
        self._in_flight = False
        self._next_query = time.monotonic() + wait
        self.periods.update(results)
        self.period_error = error
        self._paint()

    # ------------------------------------------------------------ view
    def refresh(self) -> None:
        self._maybe_query()
        self._paint()

    def _paint(self) -> None:
        s = summarize(self.ctx.site, self.ctx.live, self.periods.values())
        sub = f"{s.reporting} of {s.devices} devices reporting"
        if self.ctx.read_only:
            sub += " · viewing only: another heatrack is recording this site"
        self.panel.set_status(s.level, s.headline, s.needs_you, [c.text for c in s.concerns[1:]], sub)
        for t in s.tiles:
            detail = t.detail
            if t.name in ("today", "season") and t.value == "—":
                detail = ("no site database" if self.ctx.history is None else
                          f"history unavailable: {self.period_error}" if self.period_error else detail)
            self.panel.set_tile(t.name, t.title, t.value, t.unit, detail, t.level, t.stale, t.tooltip)
        self.panel.set_footer(reckoning_words(self.ctx.site.tariffs))


__all__ = ["HomeView"]
