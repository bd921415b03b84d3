"""Frame time of the power view's plot with many live series, against bare pyqtgraph.

Each of N series holds one hour at 1 s (3,600 points). A frame is what live following does:
one new value appended to every series, the time range slid by a second, and a full
synchronous paint of the plot (``QWidget.grab()``, offscreen raster; the window's own repaint
of the same frame runs after the timing, so a frame is counted once). Measured for our
``PowerPlot`` and, in the same run, for a bare ``pg.PlotWidget`` of the same size with the same
curves and data (each curve ``setData`` with its rolled hour), so the ratio is our overhead.
Median and p95 over ``frames`` frames after a few warm-up frames.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/gui_power.py [--frames 50] [--series 10,50,100]
Prints one JSON line. ``measure()`` is what benchmarks/bench_gui.py calls.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

POINTS = 3600  # one hour at 1 s
WARMUP = 3
SIZE = (1280, 800)


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _data(n: int, t0: float) -> tuple[Any, list[Any]]:
    import numpy as np

    rng = np.random.default_rng(1)
    ts = t0 + np.arange(POINTS, dtype=float)
    ys = [200 + 50 * i % 700 + 30 * np.sin(ts / 300 + i) + rng.normal(0, 5, POINTS) for i in range(n)]
    return ts, ys


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall time per frame, and the process's CPU time per frame (what a frame costs when the
    machine is shared: wall time on a loaded 2-core machine includes waiting for a core)."""
    return {"median_ms": round(statistics.median(wall) * 1000, 2), "p95_ms": round(_p95(wall) * 1000, 2),
            "cpu_median_ms": round(statistics.median(cpu) * 1000, 2), "cpu_p95_ms": round(_p95(cpu) * 1000, 2)}


def _ours(n: int, frames: int) -> dict[str, float]:
    import numpy as np

    from widgets.power_plot import PowerPlot, SeriesSpec

    app = _app()
    t0 = 1_736_920_800.0
    ts, ys = _data(n, t0)
    w = PowerPlot()
    w.resize(*SIZE)
    w.show()
    keys = [f"dev{i}/ch/power" for i in range(n)]
    w.set_series([SeriesSpec(k, k, "W", gap_s=3.0) for k in keys])
    for k, y in zip(keys, ys, strict=True):
        w.set_history(k, ts, y)
    t = float(ts[-1])
    w.set_x_range(t - POINTS, t)
    app.processEvents()
    rng = np.random.default_rng(2)
    upd, total, cpu = [], [], []
    for f in range(frames + WARMUP):
        t += 1.0
        values = 400 + rng.normal(0, 20, n)
        a, a_cpu = time.perf_counter(), time.process_time()
        for k, v in zip(keys, values, strict=True):
            w.append(k, t, float(v))
        w.set_x_range(t - POINTS, t)
        b = time.perf_counter()
        w.plot.grab()
        c, c_cpu = time.perf_counter(), time.process_time()
        app.processEvents()  # the window's own repaint of the same frame: not counted twice
        if f >= WARMUP:
            upd.append(b - a)
            total.append(c - a)
            cpu.append(c_cpu - a_cpu)
    size = (w.plot.width(), w.plot.height())
    w.close()
    w.deleteLater()
    app.processEvents()
    return {**_stats(total, cpu), "update_ms": round(statistics.median(upd) * 1000, 2),
            "plot_px": f"{size[0]}x{size[1]}"}


def _bare(n: int, frames: int, size: tuple[int, int]) -> dict[str, float]:
    import numpy as np
    import pyqtgraph as pg

    app = _app()
    t0 = 1_736_920_800.0
    ts, ys = _data(n, t0)
    pw = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    pw.resize(*size)
    pw.show()
    curves = [pw.plot(ts, y, pen=pg.mkPen(pg.intColor(i, n), width=1)) for i, y in enumerate(ys)]
    t = float(ts[-1])
    app.processEvents()
    rng = np.random.default_rng(2)
    xs = ts.copy()
    yy = [y.copy() for y in ys]
    upd, total, cpu = [], [], []
    for f in range(frames + WARMUP):
        t += 1.0
        values = 400 + rng.normal(0, 20, n)
        a, a_cpu = time.perf_counter(), time.process_time()
        xs = np.append(xs[1:], t)
        for i, c in enumerate(curves):
            yy[i] = np.append(yy[i][1:], values[i])
            c.setData(xs, yy[i])
        pw.setXRange(t - POINTS, t, padding=0)
        b = time.perf_counter()
        pw.grab()
        c2, c_cpu = time.perf_counter(), time.process_time()
        app.processEvents()
        if f >= WARMUP:
            upd.append(b - a)
            total.append(c2 - a)
            cpu.append(c_cpu - a_cpu)
    pw.close()
    pw.deleteLater()
    app.processEvents()
    return {**_stats(total, cpu), "update_ms": round(statistics.median(upd) * 1000, 2)}


def measure(series: Sequence[int] = (10, 50, 100), frames: int = 50) -> dict[str, Any]:
    """{"power_plot": {N: {...}}, "bare_pyqtgraph": {N: {...}}, "ratio_median": {N: x},
    "ratio_cpu_median": {N: x}, "meets_aim": bool, ...}; N as a string, times in ms."""
    import pyqtgraph as pg
    import PySide6

    _app()
    out: dict[str, Any] = {"benchmark": "gui_power", "points_per_series": POINTS, "frames": frames,
                           "platform": os.environ.get("QT_QPA_PLATFORM", ""),
                           "versions": {"python": platform.python_version(), "pyside6": PySide6.__version__,
                                        "pyqtgraph": pg.__version__},
                           "power_plot": {}, "bare_pyqtgraph": {}, "ratio_median": {}, "ratio_cpu_median": {}}
    for n in series:
        ours = _ours(n, frames)
        w, h = (int(v) for v in str(ours["plot_px"]).split("x"))
        bare = _bare(n, frames, (w, h))
        out["power_plot"][str(n)] = ours
        out["bare_pyqtgraph"][str(n)] = bare
        out["ratio_median"][str(n)] = round(ours["median_ms"] / bare["median_ms"], 2)
        out["ratio_cpu_median"][str(n)] = round(ours["cpu_median_ms"] / bare["cpu_median_ms"], 2)
    out["aim_50_series_ms"] = 16.0
    out["meets_aim"] = out["power_plot"].get("50", {}).get("median_ms", 1e9) <= 16.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--series", default="10,50,100", help="comma-separated series counts")
    args = ap.parse_args()
    try:
        counts = [int(s) for s in args.series.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--series: whole numbers separated by commas, not {args.series!r}")
    if args.frames < 1 or not counts or min(counts) < 1:
        ap.error("--frames and each --series count must be at least 1")
    print(json.dumps(measure(counts, args.frames)))


if __name__ == "__main__":
    main()
