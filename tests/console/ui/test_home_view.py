"""The Home page over a ViewContext: live words from the live model, period totals from the
store through the history service (off the GUI thread), and plain "not known" states."""
from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from console.home import energy_keys, period_energy, site_zone, today_start
from console.ui.home_view import HomeView
from tests.fakes.views import history_db, view_context


def _view(qtbot: Any, ctx: Any) -> HomeView:
    v = HomeView(ctx)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    return v


def test_today_and_season_come_from_the_store(qtbot: Any, tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    end = history_db(db, 3)
    ctx, feeder = view_context(qtbot, db_path=db)
    feeder.step(600)
    v = _view(qtbot, ctx)
    qtbot.waitUntil(lambda: "today" in v.periods and "this season" in v.periods, timeout=10_000)
    # the same sum the history service gives, reckoned by hand from the site's tariffs
    heat, dump, elec = energy_keys(ctx.site, ctx.live.series())
    start = today_start(end, site_zone(ctx.site))
    totals = ctx.history.energy(heat + dump + elec, start, v.periods["today"].end).result(10)
    expect = period_energy("today", start, v.periods["today"].end, totals, heat, dump, elec).heat_kwh
    assert v.periods["today"].heat_kwh == pytest.approx(expect, rel=1e-6)
    tile = v.panel.tiles["today"]
    assert tile.value.text() == f"{expect:.1f}"
    cost = expect / ctx.site.tariffs.displaced_efficiency * ctx.site.tariffs.fuel_price_per_kwh
    assert tile.detail.text().startswith(f"about €{cost:.2f} of gas not burned")
    assert "kWh of heat" in v.panel.tiles["season"].unit.text()
    assert not v.panel.needs_you.isVisible() and v.panel.icon.level == "ok"


def test_pump_failure_says_so_in_one_line(qtbot: Any) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(3600)
    feeder.model.inject("pump-failure")
    for _ in range(5):
        feeder.step(60)
    v = _view(qtbot, ctx)
    v.show()
    v.refresh()
    assert v.panel.needs_you.isVisible()
    assert "The heating pump has stopped" in v.panel.needs_you.text()
    assert v.panel.icon.level == "fault" and v.panel.tiles["heat"].level == "fault"
    assert v.panel.tiles["heat"].title.text().startswith("■ ")  # a shape as well as a colour


def test_without_a_database_the_periods_say_so(qtbot: Any) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(600)
    v = _view(qtbot, ctx)
    v.refresh()
    assert v.panel.tiles["today"].value.text() == "—"
    assert v.panel.tiles["today"].detail.text() == "no site database"


def test_stale_values_are_marked_not_current(qtbot: Any) -> None:
    now = [0.0]
    ctx, feeder = view_context(qtbot, clock=lambda: now[0])
    feeder.step(600)
    v = _view(qtbot, ctx)
    v.refresh()
    assert not v.panel.tiles["tank"].stale
    now[0] += 3600  # an hour without a poll (monotonic clock)
    v.refresh()
    tank = v.panel.tiles["tank"]
    assert tank.stale and "not current" in tank.title.text() and tank.detail.text().startswith("last heard")
    assert "No news from" in v.panel.needs_you.text()


class FakeHistory:
    """Counts energy() calls; answers each with ``answer`` (a dict or an exception)."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.calls = answer, 0

    def energy(self, keys: list[str], start: float, end: float) -> Future[dict[str, Any]]:
        self.calls += 1
        f: Future[dict[str, Any]] = Future()
        if isinstance(self.answer, BaseException):
            f.set_exception(self.answer)
        else:
            f.set_result(self.answer)
        return f


def test_a_failed_read_is_one_line_and_reads_are_rate_limited(qtbot: Any) -> None:
    hist = FakeHistory(OSError("disk I/O error\nat page 12"))
    ctx, feeder = view_context(qtbot)
    ctx.history = hist
    feeder.step(600)
    v = _view(qtbot, ctx)
    qtbot.waitUntil(lambda: bool(v.period_error), timeout=5000)
    assert v.panel.tiles["today"].detail.text() == "history unavailable: disk I/O error at page 12"
    calls = hist.calls
    for _ in range(20):  # the window refreshes often; the store is asked again only after a wait
        v.refresh()
    assert hist.calls == calls == 2  # today and this season, once


def test_refresh_does_not_wait_for_the_store(qtbot: Any) -> None:
    class Never(FakeHistory):
        def energy(self, keys: list[str], start: float, end: float) -> Future[dict[str, Any]]:
            self.calls += 1
            return Future()  # never answers

    ctx, feeder = view_context(qtbot)
    ctx.history = Never({})
    feeder.step(600)
    t0 = time.perf_counter()
    v = _view(qtbot, ctx)
    for _ in range(10):
        v.refresh()
    assert time.perf_counter() - t0 < 2.0
    assert v.panel.tiles["today"].value.text() == "—" and ctx.history.calls == 2


def test_tiles_and_the_needs_you_line_lead_to_their_pages(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    went: list[tuple[str, str | None]] = []
    ctx, feeder = view_context(qtbot, navigate=lambda view, target: went.append((view, target)))
    feeder.step(3600)
    feeder.model.inject("pump-failure")
    feeder.step(60)
    v = _view(qtbot, ctx)
    v.show()
    v.refresh()
    qtbot.mouseClick(v.panel.tiles["compute"], Qt.MouseButton.LeftButton)
    v.panel.tiles["today"].setFocus()
    qtbot.keyClick(v.panel.tiles["today"], Qt.Key.Key_Return)  # a tile works from the keyboard too
    qtbot.mouseClick(v.panel.needs_you, Qt.MouseButton.LeftButton)
    assert went == [("power", None), ("energy", None), ("events", None)]
