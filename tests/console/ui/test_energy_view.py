"""The Energy page over a ViewContext: live from the live model, periods through the history
service (its own thread, results handed back through the bridge), failures in one line."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import console.history as history_mod
from console.history import HistoryService
from console.ui.energy_view import EnergyView
from tests.fakes.views import history_db, view_context


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("energy") / "demo.db"
    history_db(path, 1.5)
    return path


def _view(ctx: Any, qtbot: Any) -> EnergyView:
    v = EnergyView(ctx)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    return v


def test_live_balance_comes_from_the_live_model_and_marks_stale_values(qtbot: Any) -> None:
    t = [1000.0]
    ctx, feeder = view_context(qtbot, clock=lambda: t[0])
    v = _view(ctx, qtbot)
    assert v.balance is None and "waiting for the first poll" in v.totals.text()
    for _ in range(3):
        feeder.step(300)
    v.refresh()
    b = v.balance
    assert b is not None and b.unit == "W"
    chassis = [ctx.live.get(f"{s}/chassis/power") for s in ctx.site.heat_path.servers]
    assert b.it == pytest.approx(sum(float(s.value) for s in chassis if s is not None))
    assert "Live" in v.totals.text() and "captured" in v.totals.text()
    assert len(v.sankey.geometry_now().bands) == len(b.flows)
    tips = {(bd.link.source, bd.link.target): bd.link.tooltip for bd in v.sankey.geometry_now().bands}
    assert "measured: ups1/output/power" in tips[("in", "losses")]
    assert not any(f.stale for f in b.flows)
    t[0] += 3600  # an hour without a poll: the same numbers, now drawn stale with their age
    v.refresh()
    assert v.balance is not None and all(f.stale for f in v.balance.flows if f.value)
    assert "stale" in v.notes.text() and "old" in v.notes.text()


def test_without_a_database_a_period_says_so(qtbot: Any) -> None:
    ctx, _ = view_context(qtbot)
    v = _view(ctx, qtbot)
    v.period.setCurrentText("Last 24 h")
    assert "no site database" in v.totals.text() and v.balance is None


def test_a_period_is_read_on_the_history_thread_and_handed_back(qtbot: Any, demo_db: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = history_mod.integrate

    def spy(*a: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*a)

    monkeypatch.setattr(history_mod, "integrate", spy)
    ctx, feeder = view_context(qtbot, db_path=demo_db)
    feeder.step(60)
    v = _view(ctx, qtbot)
    v.period.setCurrentText("Last 24 h")
    assert v.balance is None and "reading the site database" in v.totals.text()  # nothing read here
    qtbot.waitUntil(lambda: v.balance is not None, timeout=10_000)
    b = v.balance
    assert b is not None and b.unit == "kWh"
    assert threads and all(n.startswith("heatrack-history") for n in threads)
    # the figures are the store's integrals of the same series
    start, end = v._range or (0.0, 0.0)  # noqa: SLF001 - the range it asked for
    hs = HistoryService(demo_db)
    try:
        keys = [f"{s}/chassis/power" for s in ctx.site.heat_path.servers]
        got = hs.energy(keys, start, end).result(10)
    finally:
        hs.close()
    assert b.it == pytest.approx(sum(i.kwh for i in got.values()))
    assert 0.5 < (b.it or 0) < 2.0  # 1.5 h of ~600 W
    assert b.stored is not None  # tank temperatures over the period
    assert "Last 24 h" in v.totals.text() and "kWh" in v.totals.text()
    assert "data for" in v.notes.text()  # 1.5 h of 24: marked partial, not a confident day
    assert "partial data" in v.totals.text() and "IT srv1 partial" in v.notes.text()


def test_a_closed_or_missing_database_is_one_line(qtbot: Any, tmp_path: Path) -> None:
    ctx, _ = view_context(qtbot, db_path=tmp_path / "nowhere" / "x.db")
    v = _view(ctx, qtbot)
    v.period.setCurrentText("Last 7 days")
    qtbot.waitUntil(lambda: "history unavailable" in v.totals.text(), timeout=10_000)
    assert "\n" not in v.error and v.balance is None
    assert ctx.history is not None
    ctx.history.close()
    v.period.setCurrentText("Today")
    assert "history unavailable: history service is closed" in v.totals.text()


def test_custom_range_and_back_to_live(qtbot: Any, demo_db: Path) -> None:
    ctx, feeder = view_context(qtbot, db_path=demo_db)
    feeder.step(60)
    v = _view(ctx, qtbot)
    v.period.setCurrentText("Custom range")
    assert v.show_button.isVisibleTo(v) and "press Show" in v.totals.text()
    end = v.end_edit.dateTime()
    v.start_edit.setDateTime(end.addSecs(-3600))
    v.show_button.click()
    qtbot.waitUntil(lambda: v.balance is not None, timeout=10_000)
    assert v.balance is not None and v.balance.unit == "kWh"
    v.start_edit.setDateTime(end.addSecs(3600))  # ends before it starts: said, not asked
    v.show_button.click()
    assert "ends before it starts" in v.totals.text()
    v.period.setCurrentText("Live")
    assert not v.show_button.isVisibleTo(v)
    assert v.balance is not None and v.balance.unit == "W"


def test_colours_follow_the_palette_of_a_theme_switch(qtbot: Any) -> None:
    from console.ui import theme

    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    v = _view(ctx, qtbot)
    v.setPalette(theme.palette_for("dark"))  # what a switch delivers, before the theme's name is recorded
    assert v.sankey.dark and v.sankey.warning_colour.name() == theme.colour("dark", "state.warning").lower()
    v.setPalette(theme.palette_for("light"))
    assert not v.sankey.dark and v.sankey.warning_colour.name() == theme.colour("light", "state.warning").lower()
