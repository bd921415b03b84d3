"""The Power page over a ViewContext: the picker from the live model, history through the
history service (span and pixel count per range; the buckets drawn are the store's), a spike
kept by the envelope at 7 days, live following without new queries, stale series, export."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from console.history import downsample
from console.power_series import pixels_for
from console.store import Store
from console.ui.power_view import PowerView
from protocols.base import Reading
from tests.fakes.views import history_db, view_context

DEFAULT = ["srv1/chassis/power", "srv2/chassis/power", "srv3/chassis/power", "heat1/loop/thermal_power",
           "ups1/output/power"]
SPIKE_W = 4321.0
HOURS = 8


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """8 h of the demo site, one snapshot a minute (~3 s to make), and one srv1 chassis sample of
    4321 W between two snapshots 5 h ago."""
    path = tmp_path_factory.mktemp("power") / "site.db"
    end = history_db(path, HOURS)
    spike_ts = end - 5 * 3600 + 17.0
    with Store(path) as store:
        store.add_readings([Reading(spike_ts, "srv1", "chassis", "power", SPIKE_W, "W")])
        store.flush()
    return path, spike_ts


def _view(qtbot: Any, ctx: Any, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[PowerView, list]:
    calls: list[tuple[str, float, float, int]] = []
    if monkeypatch is not None and ctx.history is not None:
        real = ctx.history.query

        def recording(key: str, start: float, end: float, pixels: int = 600, resolution: str = "auto") -> Any:
            calls.append((key, start, end, pixels))
            return real(key, start, end, pixels, resolution)

        monkeypatch.setattr(ctx.history, "query", recording)
    v = PowerView(ctx)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    return v, calls


def _loaded(v: PowerView) -> bool:
    return len(v._loaded) == len(v.plot.keys())  # noqa: SLF001


def test_picker_lists_the_demo_power_series_grouped_by_device(qtbot: Any) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    groups = dict(v.groups())
    assert [t.split(" — ")[0] for t in groups] == ["srv1", "srv2", "srv3", "gpuhost", "ups1", "pdu1", "heat1"]
    srv1 = next(keys for title, keys in groups.items() if title.startswith("srv1"))
    assert srv1[0] == "srv1/chassis/power" and "srv1/gpu0/power" in srv1
    assert v.selected() == ["srv1/chassis/power", "srv2/chassis/power", "srv3/chassis/power",
                            "ups1/output/power", "heat1/loop/thermal_power"]  # picker (device) order
    assert sorted(v.plot.keys()) == sorted(DEFAULT)
    assert "No site database" in v.status.text()


def test_a_range_asks_the_history_service_for_its_span_and_pixels(qtbot: Any, db: tuple,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = db
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, calls = _view(qtbot, ctx, monkeypatch)
    assert sorted(c[0] for c in calls) == sorted(DEFAULT)
    assert {round(c[2] - c[1]) for c in calls} == {6 * 3600}  # the default range
    calls.clear()
    v.set_range("7d")
    assert sorted(c[0] for c in calls) == sorted(DEFAULT)
    key, start, end, pixels = next(c for c in calls if c[0] == "srv2/chassis/power")
    assert end - start == pytest.approx(7 * 86400) and end == pytest.approx(time.time(), abs=60)
    vb_width = v.plot.plot.getPlotItem().getViewBox().width()
    assert pixels == pixels_for(max(vb_width, 800.0)) and 800 <= pixels <= 10_000
    qtbot.waitUntil(lambda: _loaded(v), timeout=20_000)
    assert v._loaded["srv2/chassis/power"] == "1m"  # noqa: SLF001 - minute rollups for a week
    assert "1-minute rollups" in v.status.text()
    # what is drawn is the store's buckets for that span, folded to that many pixels
    with Store(path, readonly=True) as store:
        expect = downsample(store.range(key, start, end, "1m"), start, end, pixels)
    ts, mean, lo, hi = v.plot.envelope(key)
    ok = np.isfinite(mean)
    # 8 h of minute rollups: fewer than the pixels, so each comes as it is stored
    assert abs(len(expect) - HOURS * 60) <= 1 and int(ok.sum()) == len(expect)
    assert ts[ok][0] == expect[0].ts and ts[ok][-1] == expect[-1].ts
    assert lo[ok].min() == min(b.min for b in expect) and hi[ok].max() == max(b.max for b in expect)
    assert mean[ok] == pytest.approx([b.mean for b in expect])
    x0, x1 = v.plot.x_range()
    assert x1 - x0 == pytest.approx(7 * 86400, rel=0.01)


def test_a_one_sample_spike_survives_into_the_7_day_envelope(qtbot: Any, db: tuple) -> None:
    path, spike_ts = db
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    v.set_range("7d")
    qtbot.waitUntil(lambda: _loaded(v), timeout=20_000)
    ts, mean, lo, hi = v.plot.envelope("srv1/chassis/power")
    ok = np.isfinite(hi)
    assert hi[ok].max() == SPIKE_W  # the max of its bucket
    i = int(np.nanargmax(hi))
    assert mean[i] < 0.75 * SPIKE_W  # the mean of its minute dilutes it; the band keeps it
    assert ts[i] <= spike_ts < ts[i] + 7 * 86400 / 800
    assert v.plot._curves["srv1/chassis/power"].band.isVisible()  # noqa: SLF001


def test_a_spike_folded_with_many_samples_stays_in_the_band(qtbot: Any, tmp_path: Path) -> None:
    """A week of one sample a minute folds ~12 minute rollups into each pixel's bucket: the
    spike's bucket mean is nearly the baseline, its max is the spike."""
    path = tmp_path / "week.db"
    end = time.time()
    spike_ts = end - 3 * 86400 + 7.0
    with Store(path) as store:
        store.add_readings([Reading(end - i * 60.0, "srv1", "chassis", "power", 300.0, "W")
                            for i in range(7 * 1440 - 5)] + [Reading(spike_ts, "srv1", "chassis", "power", SPIKE_W, "W")])
        store.flush()
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    v.set_range("7d")
    qtbot.waitUntil(lambda: "srv1/chassis/power" in v._loaded, timeout=20_000)  # noqa: SLF001
    ts, mean, lo, hi = v.plot.envelope("srv1/chassis/power")
    ok = np.isfinite(hi)
    assert int(ok.sum()) <= v._pixels() < 7 * 1440 / 5  # noqa: SLF001 - folded
    i = int(np.nanargmax(hi))
    assert hi[i] == SPIKE_W and lo[i] == 300.0
    assert mean[i] < 300.0 + SPIKE_W / 5  # the spike is one sample of the bucket's many
    assert ts[i] <= spike_ts < ts[i] + 7 * 86400 / 800


def test_live_mode_appends_the_newest_value_without_a_query(qtbot: Any, db: tuple,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = db
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, calls = _view(qtbot, ctx, monkeypatch)
    qtbot.waitUntil(lambda: _loaded(v), timeout=20_000)
    v.refresh()
    key = "ups1/output/power"
    before, n_calls = v.plot.points(key), len(calls)
    feeder.step(10)
    v.refresh()
    newest = ctx.live.get(key)
    assert v.plot.points(key) == before + 1 and v.plot.last_ts(key) == newest.ts
    assert len(calls) == n_calls  # no new query
    x0, x1 = v.plot.x_range()
    assert x1 == pytest.approx(time.time(), abs=5) and x1 - x0 == pytest.approx(6 * 3600, rel=0.01)
    v.refresh()  # nothing new: nothing appended
    assert v.plot.points(key) == before + 1


def test_a_page_hidden_for_a_while_reads_its_history_again(qtbot: Any, db: tuple,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = db
    clock = [time.time()]
    ctx, feeder = view_context(qtbot, db_path=path, wall=lambda: clock[0])
    feeder.step(60)
    v, calls = _view(qtbot, ctx, monkeypatch)
    v.refresh()
    n = len(calls)
    clock[0] += 10  # a refresh a few seconds on: live values only
    v.refresh()
    assert len(calls) == n
    clock[0] += 120  # another tab was in view for two minutes: the hole is filled from the store
    v.refresh()
    assert sorted(c[0] for c in calls[n:]) == sorted(DEFAULT)
    assert calls[-1][2] == pytest.approx(clock[0])


def test_live_off_and_panning_stop_following(qtbot: Any) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    key = "srv1/chassis/power"
    assert v.live and v.plot.points(key) == 1
    v.plot.user_ranged.emit()  # the person dragged the plot
    assert not v.live and not v.live_button.isChecked()
    feeder.step(10)
    v.refresh()
    assert v.plot.points(key) == 1
    v.live_button.click()
    assert v.live and v.plot.points(key) == 2


def test_an_unreachable_device_is_drawn_stale_with_a_note(qtbot: Any) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    feeder.model.inject("bmc-unreachable")  # srv3
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    v.refresh()
    assert v.plot.is_stale("srv3/chassis/power") and not v.plot.is_stale("srv1/chassis/power")
    row = next(v.plot.legend.item(i) for i in range(v.plot.legend.count())
               if v.plot.legend.item(i).text().startswith("srv3"))
    assert row.text().startswith("srv3 chassis power [W] — unreachable, ")
    assert v.plot.curve_item("srv3/chassis/power").opts["pen"].style().name == "DashLine"


def test_picking_a_series_queries_it_alone_and_unpicking_drops_it(qtbot: Any, db: tuple,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = db
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, calls = _view(qtbot, ctx, monkeypatch)
    calls.clear()
    v.set_selected("pdu1/outlet3/power", True)
    assert [c[0] for c in calls] == ["pdu1/outlet3/power"]
    assert "pdu1/outlet3/power" in v.plot.keys()
    qtbot.waitUntil(lambda: v.plot.points("pdu1/outlet3/power") > 300, timeout=20_000)  # 6 h at 1/min
    v.set_selected("srv1/chassis/power", False)
    assert "srv1/chassis/power" not in v.plot.keys() and v.plot.legend.count() == 5
    v.select("gpuhost")  # navigate("power", device): its series
    assert {"gpuhost/gpu0/power", "gpuhost/gpu1/power"} <= set(v.plot.keys())


def test_season_starts_at_the_first_sample(qtbot: Any, db: tuple) -> None:
    path, _ = db
    ctx, feeder = view_context(qtbot, db_path=path)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    v.set_range("season")
    qtbot.waitUntil(lambda: _loaded(v), timeout=20_000)
    v.refresh()
    x0, x1 = v.plot.x_range()
    assert v._loaded["srv1/chassis/power"] == "1h"  # noqa: SLF001
    assert (HOURS - 1) * 3600 < x1 - x0 < (HOURS + 1) * 3600  # the hours stored, not a year of nothing


def test_history_that_cannot_be_read_says_why_in_one_line(qtbot: Any, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_text("this is not SQLite\n")
    ctx, feeder = view_context(qtbot, db_path=bad)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    qtbot.waitUntil(lambda: "history unavailable" in v.status.text(), timeout=10_000)
    assert "\n" not in v.status.text()
    assert v.plot.points("srv1/chassis/power") == 1  # the live value is still drawn


def test_export_from_the_view_reports_where_or_why_not(qtbot: Any, tmp_path: Path) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    v, _ = _view(qtbot, ctx)
    assert v.export("csv", str(tmp_path / "p.csv")) is None
    assert f"saved {tmp_path / 'p.csv'}" in v.status.text()
    bad = str(tmp_path / "nope" / "p.png")
    why = v.export("png", bad)
    assert why is not None and why in v.status.text()


def test_registered_as_a_page() -> None:
    from console.ui.pages import PAGES, load

    spec = dict(PAGES)["power"]
    assert load(spec) is PowerView and PowerView.title == "Power"
