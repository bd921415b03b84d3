"""Store benchmarks.

1. Ingest: readings through ``Store`` (queue -> writer thread -> samples + exact 1-minute and
   1-hour rollups) vs raw ``sqlite3.executemany`` of the same readings into the same samples
   table, in the same run. Prints both rates and the ratio (aim: >= 0.5 of raw).
2. History query: the hourly mean of one series over N days at 10 s (20 series), from the
   rollups vs from raw samples.

Usage: python benchmarks/bench_store.py [--rows 200000] [--days 180] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.store import Store  # noqa: E402
from console.store.schema import SCHEMA_1_0, statements  # noqa: E402
from protocols.base import Reading  # noqa: E402

T0 = 1_767_225_600
SERIES = 20


def make_readings(n_ts: int, start: int = T0, step: int = 10) -> list[Reading]:
    return [Reading(float(start + i * step), f"dev{s % 5}", f"ch{s}", "power", 100.0 + (i * 13 + s) % 97, "W")
            for i in range(n_ts) for s in range(SERIES)]


def ingest_store(path: Path, readings: list[Reading], chunk: int) -> float:
    store = Store(path)
    t = time.perf_counter()
    for i in range(0, len(readings), chunk):
        store.add_readings(readings[i:i + chunk])
    store.flush()
    elapsed = time.perf_counter() - t
    store.close()
    return elapsed


def ingest_raw(path: Path, readings: list[Reading], chunk: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for stmt in statements(SCHEMA_1_0):
        conn.execute(stmt)
    ids: dict[tuple[str, str, str], int] = {}
    t = time.perf_counter()
    for i in range(0, len(readings), chunk):
        rows = []
        for r in readings[i:i + chunk]:
            key = (r.device_id, r.channel, r.quantity)
            sid = ids.get(key)
            if sid is None:
                sid = ids[key] = conn.execute(
                    "INSERT INTO series (device_id, channel, quantity, unit) VALUES (?, ?, ?, ?)",
                    (*key, r.unit)).lastrowid
            rows.append((sid, int(round(r.ts * 1000)), r.value))
        conn.execute("BEGIN")
        conn.executemany("INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t
    conn.close()
    return elapsed


def bench_ingest(tmp: Path, n_rows: int, chunk: int, repeats: int) -> None:
    readings = make_readings(n_rows // SERIES)
    store_t, raw_t = [], []
    for k in range(repeats):
        raw_t.append(ingest_raw(tmp / f"raw{k}.db", readings, chunk))
        store_t.append(ingest_store(tmp / f"store{k}.db", readings, chunk))
    s, r = statistics.median(store_t), statistics.median(raw_t)
    n = len(readings)
    print(f"ingest {n:,} readings ({SERIES} series, {chunk:,} per batch), median of {repeats}:")
    print(f"  raw executemany (samples only) : {n / r:>10,.0f} rows/s")
    print(f"  Store (samples + rollups)      : {n / s:>10,.0f} rows/s")
    print(f"  ratio store/raw                : {r / s:.2f}")


def bench_history(tmp: Path, days: int, keep: Path | None) -> None:
    path = (keep or tmp) / f"history-{days}d.db"
    n_ts = days * 86400 // 10
    if not path.exists():
        t = time.perf_counter()
        store = Store(path)
        chunk_ts = 500  # 10,000 readings per batch
        for i in range(0, n_ts, chunk_ts):
            store.add_readings(make_readings(min(chunk_ts, n_ts - i), start=T0 + i * 10))
            if i % (chunk_ts * 40) == 0:
                store.flush()  # bound the queue's memory while building
        store.flush()
        store.close()
        print(f"built {n_ts * SERIES:,} samples ({days} d x 10 s x {SERIES} series) through the Store in "
              f"{time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e6:,.0f} MB")
    store = Store(path)
    key = "dev0/ch0/power"
    end = T0 + days * 86400
    sid = store.find_series(key).id
    conn = sqlite3.connect(path)

    def timed(fn, n: int = 5) -> tuple[float, object]:
        times, out = [], None
        for _ in range(n):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times), out

    t_roll, hours = timed(lambda: store.range(key, T0, end, resolution="1h"))
    t_raw, raw = timed(lambda: conn.execute(
        "SELECT (ts / 3600000) * 3600, avg(value) FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? "
        "GROUP BY ts / 3600000 ORDER BY 1", (sid, T0 * 1000, end * 1000)).fetchall(), n=3)
    assert len(hours) == len(raw) == days * 24, (len(hours), len(raw))
    worst = max(abs(h.mean - v) for h, (_, v) in zip(hours, raw, strict=True))
    print(f"hourly mean of 1 series over {days} d ({len(hours):,} hours from {n_ts:,} samples):")
    print(f"  from raw samples : {t_raw * 1000:8.1f} ms")
    print(f"  from rollup_1h   : {t_roll * 1000:8.1f} ms   (max |difference| {worst:.2e})")
    print(f"  speed-up         : {t_raw / t_roll:8.0f}x")
    store.close()
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--keep", type=Path, help="keep the history database here (reused when present)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="heatrack-bench-") as d:
        tmp = Path(d)
        print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        bench_ingest(tmp, args.rows, args.chunk, args.repeats)
        if args.days:
            bench_history(tmp, args.days, args.keep)


if __name__ == "__main__":
    main()
