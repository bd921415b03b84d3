"""HistoryService.energy: kWh over a period, hand-computed on small synthetic stores."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

import console.history as history_mod
from console.history import HistoryService
from console.integral import Integral
from console.store import Store
from protocols.base import Reading

T0 = 1_767_225_600.0  # whole hour


def _write(db: Path, readings: list[Reading]) -> None:
    with Store(db) as s:
        s.add_readings(readings)
        s.flush()


def _energy(db: Path, keys: list[str], start: float, end: float) -> dict[str, Integral]:
    hs = HistoryService(db)
    try:
        return hs.energy(keys, start, end).result(10)
    finally:
        hs.close()


def test_raw_power_holds_each_sample_until_the_next_and_an_outage_is_a_gap(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    rs = [Reading(T0 + 10 * i, "a", "chassis", "power", 360.0, "W") for i in range(60)]  # 10 min, 10 s
    # 11 samples, 15 minutes of nothing, 11 more: the last value must not fill the outage
    rs += [Reading(T0 + 10 * i, "b", "chassis", "power", 1000.0, "W") for i in range(11)]
    rs += [Reading(T0 + 1000 + 10 * i, "b", "chassis", "power", 1000.0, "W") for i in range(11)]
    rs += [Reading(T0 + 10 * i, "c", "chassis", "power", 100.0 * (i + 1), "W") for i in range(3)]
    rs += [Reading(T0 + 60 * i, "d", "psu", "power", 2.0, "kW") for i in range(11)]
    _write(db, rs)
    got = _energy(db, ["a/chassis/power", "b/chassis/power", "c/chassis/power", "d/psu/power"], T0, T0 + 3600)
    a, b, d = got["a/chassis/power"], got["b/chassis/power"], got["d/psu/power"]
    # 59 intervals of 10 s, then the last sample held 3 x 10 s: 620 s at 360 W
    assert (a.resolution, a.samples, a.covered_s) == ("raw", 60, 620.0)
    assert a.kwh == pytest.approx(360 * 620 / 3.6e6)
    # 100 s + 30 s (capped) + 100 s + 30 s at 1 kW
    assert (b.samples, b.covered_s) == (22, 260.0)
    assert b.kwh == pytest.approx(1000 * 260 / 3.6e6)
    # kW: 10 intervals of 60 s + 180 s at 2 kW
    assert d.covered_s == 780.0 and d.kwh == pytest.approx(2.0 * 780 / 3600)
    # each value until the next; the last one only up to the end of the period
    c = _energy(db, ["c/chassis/power"], T0, T0 + 25)["c/chassis/power"]
    assert c.covered_s == 25.0 and c.kwh == pytest.approx((100 * 10 + 200 * 10 + 300 * 5) / 3.6e6)


def test_rollups_count_mean_times_the_bucket_clipped_to_the_period(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    day = [Reading(T0 + 10 * i, "a", "chassis", "power", 600.0 + (50.0 if i % 2 else -50.0), "W")
           for i in range(2 * 8640)]  # 2 days every 10 s, mean 600 W
    season = [Reading(T0 + 300 * i, "h", "loop", "thermal_power", 500.0, "W") for i in range(9 * 288)]
    _write(db, day + season)
    start = T0 + 30  # half-way into a minute and an hour: the first and last buckets count in part
    got = _energy(db, ["a/chassis/power"], start, start + 86400)["a/chassis/power"]
    assert got.resolution == "1m" and got.covered_s == pytest.approx(86400.0)
    assert got.kwh == pytest.approx(600 * 24 / 1000)
    assert got.samples == 1441 * 6  # 1,441 minute buckets touched, 6 samples each
    start = T0 + 1800
    h = _energy(db, ["h/loop/thermal_power"], start, start + 8 * 86400)["h/loop/thermal_power"]
    assert h.resolution == "1h" and h.covered_s == pytest.approx(8 * 86400.0)
    assert h.kwh == pytest.approx(500 * 8 * 24 / 1000)


def test_energy_counters_sum_their_increases_with_resets_and_jitter(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    values = [10.0, 10.5, 11.0, 10.99, 11.5, 0.2, 0.7]  # jitter (no count), then a reset to 0
    rs = [Reading(T0 + 60 * i, "m", "meter", "thermal_energy", v, "kWh") for i, v in enumerate(values)]
    rs += [Reading(T0 + 60 * i, "u", "output", "energy", 1000.0 + 250 * i, "Wh") for i in range(3)]
    rs.append(Reading(T0 + 7200, "m", "meter", "thermal_energy", 99.0, "kWh"))  # after the period
    _write(db, rs)
    got = _energy(db, ["m/meter/thermal_energy", "u/output/energy"], T0, T0 + 3600)
    m, u = got["m/meter/thermal_energy"], got["u/output/energy"]
    assert m.resolution == "counter" and (m.samples, m.covered_s) == (7, 360.0)
    assert m.kwh == pytest.approx(0.5 + 0.5 + 0 + 0.51 + 0.2 + 0.5)
    assert u.kwh == pytest.approx(0.5) and u.samples == 3


def test_missing_series_is_no_data_and_runs_on_the_history_thread(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "e.db"
    _write(db, [Reading(T0, "a", "chassis", "power", 100.0, "W")])
    threads: list[str] = []
    real = history_mod.integrate

    def spy(*a: object) -> Integral:
        threads.append(threading.current_thread().name)
        return real(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(history_mod, "integrate", spy)
    got = _energy(db, ["nope/x/power", "a/chassis/power", "nope/x/power"], T0, T0 + 60)
    assert list(got) == ["nope/x/power", "a/chassis/power"]  # each key once
    assert got["nope/x/power"] == Integral("nope/x/power", 0.0, 0.0, 0, "")
    assert not got["nope/x/power"].has_data
    one = got["a/chassis/power"]  # one sample: no interval to hold it for
    assert one.has_data and (one.kwh, one.covered_s) == (0.0, 0.0)
    assert threads and all(t.startswith("heatrack-history") for t in threads)


def test_bad_requests_are_one_line_errors(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    _write(db, [Reading(T0 + i, "a", "inlet", "temperature", 20.0, "°C") for i in range(3)])
    hs = HistoryService(db)
    try:
        for keys, start, end in [(["a"], T0, T0), (["a"], T0, float("inf")), ("a/b/c", T0, T0 + 1),
                                 ([1], T0, T0 + 1), (None, T0, T0 + 1)]:
            with pytest.raises(ValueError) as e:
                hs.energy(keys, start, end)  # type: ignore[arg-type]
            assert "\n" not in str(e.value)
        with pytest.raises(ValueError, match="neither power"):
            hs.energy(["a/inlet/temperature"], T0, T0 + 60).result(10)
    finally:
        hs.close()
    with pytest.raises(RuntimeError, match="closed"):
        hs.energy(["a/b/c"], T0, T0 + 60)


def _reference(values: list[float]) -> float:
    """The counter rule written out: increases count, a drop to half or less is a reset (the new
    value counts), a smaller drop is jitter (nothing)."""
    total = 0.0
    for a, b in zip(values, values[1:], strict=False):
        total += b - a if b >= a else b if b <= a * 0.5 else 0.0
    return total


@pytest.mark.parametrize("case", ["rising", "reset-middle", "reset-early", "reset-late", "jitter"])
def test_long_counters_read_head_and_tail_only_when_the_rollups_show_no_drop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    import console.integral as integral_mod

    db = tmp_path / "e.db"
    n = 7 * 360  # 7 h every 10 s: minute rollups
    values = [5.0 + 0.001 * i for i in range(n)]
    drop_at = {"reset-middle": 1200, "reset-early": 125, "reset-late": n - 40, "jitter": 1500}.get(case)
    if drop_at is not None:
        for i in range(drop_at, n):
            values[i] = (0.001 * (i - drop_at) if case != "jitter" else values[i] - 0.002)
    _write(db, [Reading(T0 + 10 * i, "m", "total", "energy", v, "kWh") for i, v in enumerate(values)])
    spans: list[float] = []
    real = integral_mod.exact_counter

    def spy(store: Store, sid: int, start: float, end: float) -> object:
        spans.append(end - start)
        return real(store, sid, start, end)

    monkeypatch.setattr(integral_mod, "exact_counter", spy)
    start, end = T0 + 25, T0 + 10 * n  # not on a minute: partial head bucket
    got = _energy(db, ["m/total/energy"], start, end)["m/total/energy"]
    inside = [v for i, v in enumerate(values) if start <= T0 + 10 * i < end]
    assert got.kwh == pytest.approx(_reference(inside))
    assert got.samples == len(inside) and got.covered_s == 10 * (len(inside) - 1)
    whole = any(s > 0.9 * (end - start) for s in spans)
    assert whole == (case != "rising")  # only a clean rise skips the full raw read
