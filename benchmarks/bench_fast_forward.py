"""Wall time of ``heatrack demo --headless`` fast-forward: the model stepped, every simulated
minute a snapshot of what the devices would report, and every reading written to a Store.
``cpu_s`` is the CPU time of every thread (the store's writer included): steadier than the
wall time on a machine shared with other work.

Runs ``console.demo.runner.fast_forward`` as the command does (demo servers up, no pacing)
into a fresh database in a temporary folder and prints one JSON line: simulated days, wall
seconds, readings, series, and the wall time a 180-day season would take at that rate.
A run of 7 or 30 days extrapolates well: the cost per simulated minute does not grow.

    .venv/bin/python benchmarks/bench_fast_forward.py [--days 7] [--no-store]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-store", action="store_true", help="count the readings instead of storing them")
    a = ap.parse_args()
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
