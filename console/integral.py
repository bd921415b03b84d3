"""Energy over a period from the store: power series integrated, energy counters differenced.

Power (W, kW) is integrated from what the span's resolution keeps (``Store.resolution_for``):
rollup buckets count as mean × the part of the bucket inside [start, end); raw samples hold
their value until the next sample, but never longer than 3 × the median sample interval, so an
outage is a gap (less coverage), not a plateau of the last value. Energy counters (kWh, Wh,
MWh: monotonic meters) count the sum of their increases over the raw samples; a drop to half or
less of the previous value is a reset (the new value is what was counted since), a smaller drop
is rounding jitter and counts nothing. Over long spans only the head and tail are read raw when
the rollups show no drop between them (``count_counter``). Qt-free; runs on the history thread.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.store import Store
    from console.store.store import RangePoint

# joules per (unit × second) for power units, kWh per unit for counter units
POWER_UNITS = {"W": 1.0, "kW": 1000.0, "MW": 1e6}
COUNTER_UNITS = {"kWh": 1.0, "Wh": 1e-3, "MWh": 1000.0}
HOLD_CAP_INTERVALS = 3.0  # a raw sample holds at most this many median intervals
RESET_RATIO = 0.5  # a counter falling to this fraction of its last value (or less) was reset
J_PER_KWH = 3.6e6


@dataclasses.dataclass(frozen=True, slots=True)
class Integral:
    """Energy of one series over [start, end). ``samples`` 0 means no data (kWh is then 0.0)."""

    key: str
    kwh: float
    covered_s: float  # seconds of the period the data speaks for (a counter: first to last sample)
    samples: int  # raw samples behind it
    resolution: str  # raw, 1m, 1h (power) or counter; "" when the series is not in the store

    @property
    def has_data(self) -> bool:
        return self.samples > 0


def hold_raw(points: Sequence[RangePoint], end: float) -> tuple[float, float]:
    """(value × seconds, seconds covered) of raw samples, each held until the next one, capped at
    HOLD_CAP_INTERVALS × the median interval, and the last one at most that long before ``end``.
    With fewer than two samples no interval is known: nothing is covered."""
    if len(points) < 2:
        return 0.0, 0.0
    gaps = [b.ts - a.ts for a, b in zip(points, points[1:], strict=False)]
    cap = HOLD_CAP_INTERVALS * statistics.median(gaps)
    area = covered = 0.0
    for i, p in enumerate(points):
        nxt = points[i + 1].ts if i + 1 < len(points) else end
        hold = max(0.0, min(nxt, end, p.ts + cap) - p.ts)
        area += p.mean * hold
        covered += hold
    return area, covered


def hold_rollups(points: Sequence[RangePoint], start: float, end: float, width: float) -> tuple[float, float]:
    """(value × seconds, seconds covered) of rollup buckets: mean × the bucket's overlap with
    [start, end) (the store returns the bucket that starts before ``start`` too)."""
    area = covered = 0.0
    for p in points:
        overlap = max(0.0, min(p.ts + width, end) - max(p.ts, start))
        area += p.mean * overlap
        covered += overlap
    return area, covered


_COUNTER_SQL = """
SELECT count(*), min(ts), max(ts), coalesce(sum(CASE
    WHEN prev IS NULL THEN 0
    WHEN value >= prev THEN value - prev
    WHEN value <= prev * ? THEN value
    ELSE 0 END), 0),
    (SELECT value FROM samples WHERE series_id = ?2 AND ts >= ?3 AND ts < ?4
        AND typeof(value) IN ('integer', 'real') ORDER BY ts LIMIT 1),
    (SELECT value FROM samples WHERE series_id = ?2 AND ts >= ?3 AND ts < ?4
        AND typeof(value) IN ('integer', 'real') ORDER BY ts DESC LIMIT 1)
FROM (SELECT ts, value, lag(value) OVER (ORDER BY ts) AS prev FROM samples
      WHERE series_id = ?2 AND ts >= ?3 AND ts < ?4 AND typeof(value) IN ('integer', 'real'))
"""


@dataclasses.dataclass(frozen=True, slots=True)
class _Count:
    n: int
    first_ts: float
    last_ts: float
    increase: float
    first: float
    last: float


def exact_counter(store: Store, series_id: int, start: float, end: float) -> _Count:
    """A counter's increase over its raw samples in [start, end), resets and jitter handled."""
    n, lo, hi, total, first, last = store._reader().execute(  # the store has no method for this read
        _COUNTER_SQL, (RESET_RATIO, series_id, int(start * 1000), int(math.ceil(end * 1000)))).fetchone()
    if not n:
        return _Count(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return _Count(int(n), lo / 1000.0, hi / 1000.0, float(total), float(first), float(last))


def count_counter(store: Store, key: str, series_id: int, start: float, end: float) -> _Count:
    """The exact increase, read cheaply over long spans: a counter with no drop anywhere between
    its first two and last two rollup buckets grew by exactly (first value of the tail − last
    value of the head), so only the head and the tail are read raw. Any drop (a reset inside a
    bucket leaves its minimum below the previous bucket's maximum) sends the whole span to the
    exact raw read."""
    res = store.resolution_for(end - start)
    if res == "raw":
        return exact_counter(store, series_id, start, end)
    rows = store.range(key, start, end, res)
    if len(rows) < 5:
        return exact_counter(store, series_id, start, end)
    head = exact_counter(store, series_id, start, rows[2].ts)
    tail = exact_counter(store, series_id, rows[-2].ts, end)
    middle = rows[2:-2]
    rising = (head.n > 0 and tail.n > 0 and head.last <= middle[0].min and middle[-1].max <= tail.first
              and all(b.min >= a.max for a, b in zip(middle, middle[1:], strict=False)))
    if not rising:
        return exact_counter(store, series_id, start, end)
    n = head.n + tail.n + sum(p.n for p in middle)
    return _Count(n, head.first_ts, tail.last_ts, head.increase + (tail.first - head.last) + tail.increase,
                  head.first, tail.last)


def integrate(store: Store, key: str, start: float, end: float) -> Integral:
    """The energy of ``key`` over [start, end) from ``store``. A series in a unit that is neither
    power nor energy is a caller's mistake: ValueError (one line)."""
    info = store.find_series(key)
    if info is None:
        return Integral(key, 0.0, 0.0, 0, "")
    if info.unit in COUNTER_UNITS:
        c = count_counter(store, key, info.id, start, end)
        return Integral(key, c.increase * COUNTER_UNITS[info.unit], c.last_ts - c.first_ts, c.n, "counter")
    scale = POWER_UNITS.get(info.unit)
    if scale is None:
        raise ValueError(f"energy of {key}: its unit {info.unit!r} is neither power (W) nor energy (kWh)")
    res = store.resolution_for(end - start)
    points = store.range(key, start, end, res)
    if res == "raw":
        area, covered = hold_raw(points, end)
    else:
        area, covered = hold_rollups(points, start, end, 60.0 if res == "1m" else 3600.0)
    return Integral(key, area * scale / J_PER_KWH, covered, sum(p.n for p in points), res)


__all__ = ["COUNTER_UNITS", "POWER_UNITS", "Integral", "hold_raw", "hold_rollups", "integrate"]
