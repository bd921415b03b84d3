"""Wall time of ``heatrack demo --headless`` fast-forward: the model stepped, every simulated
minute a snapshot of what the devices would report, and every reading written to a Store.
``cpu_s`` is the CPU time of every thread (the store's writer included): steadier than the
wall time on a machine shared with other work.

Runs ``console.demo.runner.fast_forward`` as the command does (demo servers up, no pacing)
into a fresh database in a temporary folder and prints one JSON line: simulated days, wall
seconds, readings, series, and the wall time a 180-day season would take at that rate.
A run of 7 or 30 days extrapolates well: the cost per simulated minute does not grow.

``--per-device`` instead reads every device of the demo site through its client once a
simulated minute (the model stepped between reads, untimed) and prints each device's CPU ms
per simulated minute, the best of ``--rounds`` rounds of 200 minutes (the machine may be
shared: the best round is the one least disturbed).

    .venv/bin/python benchmarks/bench_fast_forward.py [--days 7] [--no-store]
    .venv/bin/python benchmarks/bench_fast_forward.py --per-device [--rounds 5]
"""
from __future__ import annotations

import argparse
import datetime as dt_
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.demo.model import DemoSite  # noqa: E402
from console.demo.readout import SiteReadout  # noqa: E402
from console.demo.runner import DemoRunner, fast_forward  # noqa: E402
from console.store import Store  # noqa: E402
from protocols.base import Reading  # noqa: E402

START = dt_.datetime(2025, 10, 1, tzinfo=dt_.UTC)


class _Count:
    """A sink that only counts: the cost of producing the readings, without the disk."""

    def __init__(self) -> None:
        self.keys: set[tuple[str, str, str, str]] = set()

    def add_readings(self, readings: Iterable[Reading]) -> None:
        batch = list(readings)
        self.keys |= {(r.device_id, r.channel, r.quantity, r.unit) for r in batch[-2000:]}

    def flush(self, timeout: float | None = None) -> None:
        pass


def per_device(seed: int, rounds: int, minutes: int = 200) -> dict[str, float]:
    """CPU ms per simulated minute of each device's read, the best of ``rounds`` rounds."""
    site = DemoSite(seed=seed, start=START)
    readout = SiteReadout(site)
    readout.read()  # discovery, profile detection: once, as in a run
    best = {r.device_id: float("inf") for r in readout.readers}
    clock = time.process_time
    for _ in range(rounds):
        cost = dict.fromkeys(best, 0.0)
        for _ in range(minutes):
            site.step(60.0)
            for r in readout.readers:
                c0 = clock()
                r.read(site.now)
                cost[r.device_id] += clock() - c0
        best = {k: min(best[k], v / minutes * 1e3) for k, v in cost.items()}
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-store", action="store_true", help="count the readings instead of storing them")
    ap.add_argument("--per-device", action="store_true", help="CPU ms per simulated minute of each device's read")
    ap.add_argument("--rounds", type=int, default=5, help="--per-device: rounds of 200 simulated minutes")
    a = ap.parse_args()
    if a.per_device:
        ms = per_device(a.seed, max(1, a.rounds))
        print(json.dumps({"ms_per_min": {k: round(v, 3) for k, v in ms.items()},
                          "total_ms_per_min": round(sum(ms.values()), 3)}), flush=True)
        return
    duration = a.days * 86400
    with tempfile.TemporaryDirectory() as tmp, \
            DemoRunner(seed=a.seed, speed=1e12, start=START, clock=False) as runner:
        sink: _Count | Store = _Count() if a.no_store else Store(Path(tmp) / "ff.db")
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            result = fast_forward(runner, sink, duration)
            if isinstance(sink, Store):
                sink.flush()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            series = len(sink.keys) if isinstance(sink, _Count) else len(sink.series())
        finally:
            if isinstance(sink, Store):
                sink.close()
    print(json.dumps({
        "days": a.days, "store": not a.no_store, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
        "readings": result.rows,
        "series": series, "s_per_day": round(wall / a.days, 2),
        "season_180d_s": round(wall / a.days * 180),
    }), flush=True)


if __name__ == "__main__":
    main()
