"""Frame time of the power view's plot with many live series, against bare pyqtgraph.

Each of N series holds one hour at 1 s (3,600 points). A frame is what live following does:
one new value appended to every series, the time range slid by a second, and a full
synchronous paint of the plot (``QWidget.grab()``, offscreen raster; the window's own repaint
of the same frame runs after the timing, so a frame is counted once). Measured for our
``PowerPlot`` and, in the same run, for a bare ``pg.PlotWidget`` of the same size with the same
curves and data (each curve ``setData`` with its rolled hour), so the ratio is our overhead;
the two take turns frame by frame, so a busy moment of a shared machine falls on both. Median
and p95 over ``frames`` frames after a few warm-up frames.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/gui_power.py [--frames 50] [--series 10,50,100]
       [--antialias]
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


class _Ours:
    """Our PowerPlot, fed as live following feeds it: append, slide."""

    def __init__(self, n: int, ts: Any, ys: list[Any]) -> None:
        from widgets.power_plot import PowerPlot, SeriesSpec

        self.w = PowerPlot()
        self.w.resize(*SIZE)
        self.w.show()
        self.keys = [f"dev{i}/ch/power" for i in range(n)]
        self.w.set_series([SeriesSpec(k, k, "W", gap_s=3.0) for k in self.keys])
        for k, y in zip(self.keys, ys, strict=True):
            self.w.set_history(k, ts, y)
        self.w.set_x_range(float(ts[-1]) - POINTS, float(ts[-1]))
        self.view = self.w.plot

    def update(self, t: float, values: Any) -> None:
        for k, v in zip(self.keys, values, strict=True):
            self.w.append(k, t, float(v))
        self.w.set_x_range(t - POINTS, t)

    def close(self) -> None:
        self.w.close()
        self.w.deleteLater()


class _Bare:
    """A bare PlotWidget with the same curves: each frame every curve gets its rolled hour."""

    def __init__(self, n: int, ts: Any, ys: list[Any], size: tuple[int, int]) -> None:
        import pyqtgraph as pg

        self.view = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.view.resize(*size)
        self.view.show()
        self.curves = [self.view.plot(ts, y, pen=pg.mkPen(pg.intColor(i, n), width=1)) for i, y in enumerate(ys)]
        self.xs = ts.copy()
        self.ys = [y.copy() for y in ys]

    def update(self, t: float, values: Any) -> None:
        import numpy as np

        self.xs = np.append(self.xs[1:], t)
        for i, c in enumerate(self.curves):
            self.ys[i] = np.append(self.ys[i][1:], values[i])
            c.setData(self.xs, self.ys[i])
        self.view.setXRange(t - POINTS, t, padding=0)

    def close(self) -> None:
        self.view.close()
        self.view.deleteLater()


def _run(n: int, frames: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both rigs, frame by frame in turn, so a busy moment of the machine falls on both."""
    import numpy as np

    app = _app()
    ts, ys = _data(n, 1_736_920_800.0)
    ours = _Ours(n, ts, ys)
    app.processEvents()
    bare = _Bare(n, ts, ys, (ours.view.width(), ours.view.height()))
    app.processEvents()
    rng = np.random.default_rng(2)
    t = float(ts[-1])
    got: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "upd": []} for name in ("ours", "bare")}
    for f in range(frames + WARMUP):
        t += 1.0
        values = 400 + rng.normal(0, 20, n)
        for name, rig in (("ours", ours), ("bare", bare)):
            a, a_cpu = time.perf_counter(), time.process_time()
            rig.update(t, values)
            b = time.perf_counter()
            rig.view.grab()
            c, c_cpu = time.perf_counter(), time.process_time()
            app.processEvents()  # the widget's own repaint of the same frame: not counted twice
            if f >= WARMUP:
                got[name]["wall"].append(c - a)
                got[name]["cpu"].append(c_cpu - a_cpu)
                got[name]["upd"].append(b - a)
    size = f"{ours.view.width()}x{ours.view.height()}"
    ours.close()
    bare.close()
    app.processEvents()
    out = []
    for name in ("ours", "bare"):
        g = got[name]
        out.append({**_stats(g["wall"], g["cpu"]), "update_ms": round(statistics.median(g["upd"]) * 1000, 2),
                    "plot_px": size})
    return out[0], out[1]


def measure(series: Sequence[int] = (10, 50, 100), frames: int = 50, antialias: bool = False) -> dict[str, Any]:
    """{"power_plot": {N: {...}}, "bare_pyqtgraph": {N: {...}}, "ratio_median": {N: x},
    "ratio_cpu_median": {N: x}, "meets_aim": bool, ...}; N as a string, times in ms."""
    import pyqtgraph as pg
    import PySide6

    _app()
    pg.setConfigOptions(antialias=antialias)  # the window's themes turn it on (console/ui/theme.py)
    out: dict[str, Any] = {"benchmark": "gui_power", "points_per_series": POINTS, "frames": frames,
                           "antialias": antialias,
                           "platform": os.environ.get("QT_QPA_PLATFORM", ""),
                           "versions": {"python": platform.python_version(), "pyside6": PySide6.__version__,
                                        "pyqtgraph": pg.__version__},
                           "power_plot": {}, "bare_pyqtgraph": {}, "ratio_median": {}, "ratio_cpu_median": {}}
    for n in series:
        ours, bare = _run(n, frames)
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
    ap.add_argument("--antialias", action="store_true", help="antialiased curves, as the window's themes draw them")
    args = ap.parse_args()
    try:
        counts = [int(s) for s in args.series.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--series: whole numbers separated by commas, not {args.series!r}")
    if args.frames < 1 or not counts or min(counts) < 1:
        ap.error("--frames and each --series count must be at least 1")
    print(json.dumps(measure(counts, args.frames, args.antialias)))


if __name__ == "__main__":
    main()
