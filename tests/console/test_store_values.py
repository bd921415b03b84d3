"""The store's last line of defence: no single reading, however absurd, stops the writer for
every device or turns a rollup into NaN or infinity. The engine screens readings by physical
range first (console/engine/plausibility.py); these are what reaches the store by other paths
(the demo's fast-forward, a future importer, a bug)."""
from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from console.store import MAX_ABS_VALUE, Store
from protocols.base import Reading

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "site.db", commit_interval=0.05)
    yield s
    s.close()


def _rollups_finite(store: Store) -> None:
    conn = store._reader()
    for table in ("rollup_1m", "rollup_1h"):
        for n, total, lo, hi in conn.execute(f"SELECT n, sum, min, max FROM {table}"):
            assert all(math.isfinite(x) for x in (total, lo, hi)), (table, n, total, lo, hi)


@pytest.mark.parametrize("value", [2**70, -(2**64), 10**400], ids=["2^70", "-2^64", "10^400"])
def test_an_integer_sqlite_cannot_hold_does_not_stop_the_writer(store: Store, value: int) -> None:
    store.add_readings([Reading(T0, "srv1", "psu0", "power", value, "W")])
    store.add_readings([Reading(T0 + 1, "srv1", "inlet", "temperature", 21.5, "°C")])
    store.flush(timeout=5)
    latest = {k: v.value for k, v in store.latest().items()}
    assert latest == {"srv1/psu0/power": None, "srv1/inlet/temperature": 21.5}


def test_huge_finite_values_never_make_a_rollup_infinite(store: Store) -> None:
    store.add_readings([Reading(T0 + i, "srv1", "psu0", "power", 9.9e300 * (1 if i % 2 else -1), "W")
                        for i in range(60)])
    store.add_readings([Reading(T0 + i, "srv1", "psu1", "power", v, "W")
                        for i, v in enumerate([1e308, 1e308, 250.0, Decimal("1e400"), -1e308])])
    store.flush(timeout=5)
    _rollups_finite(store)
    [point] = store.range("srv1/psu1/power", T0, T0 + 60, resolution="1m")
    assert (point.n, point.mean) == (1, 250.0)  # only the sane value counted


def test_the_bound_keeps_every_real_quantity() -> None:
    # a season's energy counter in Wh, a runtime in seconds, a 10 MW site in W: all far below
    assert MAX_ABS_VALUE >= 1e12


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), -float("inf"), 1e300])
def test_a_reading_with_an_impossible_timestamp_is_dropped_alone(store: Store, ts: float) -> None:
    store.add_readings([Reading(ts, "srv1", "psu0", "power", 300.0, "W"),
                        Reading(T0, "srv1", "inlet", "temperature", 21.5, "°C")])
    store.flush(timeout=5)
    assert {k: v.value for k, v in store.latest().items()} == {"srv1/inlet/temperature": 21.5}
    assert store.rejected_rows == 1
