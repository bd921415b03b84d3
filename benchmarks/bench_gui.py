"""What the window costs (issue 9 item 10), each with its baseline measured in the same run.
Prints one JSON line per measurement.

1. ``cold_start``: a fresh interpreter to the first paint of the main window on the demo site
   (the demo's protocol servers started, the session opened, every registered page built, the
   window shown), and of ``heatrack open`` on the example site (no demo servers), median of
   ``--runs``; baseline: a bare PySide6 + pyqtgraph window (a
   QMainWindow with a PlotWidget) to its first paint, the same way. Aim: <= 1.5 s.
   Measured from just before the child is exec'd to the first Paint event of the window.
2. ``memory``: the real window (every page) over a live model fed from the demo model through
   the real clients' decoders as fast as the model steps (one simulated minute a step, every
   device polled each step; the bridge at 20 ms so there are many updates), switching page every
   200 updates; RSS sampled every ``--sample`` updates after a warm-up. The slope of a least-
   squares line through the samples is bytes per update: bounded means ~0.
3. ``gui_power`` / ``gui_schematic``: ``benchmarks.gui_power.measure()`` and
   ``benchmarks.gui_schematic.measure()`` (frame time of the power view, the schematic's update
   cost), when those modules exist.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--runs 5] [--updates 3000]
       [--only cold_start,memory,gui_power,gui_schematic]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Every child starts the clock the same way and stops it at the first paint of its window.
_PRELUDE = r"""
import os, sys, time
t0 = float(os.environ["BENCH_T0"])
sys.path.insert(0, os.environ.get("BENCH_ROOT", "."))


def run_until_first_paint(app, w):
    # show w; at the first Paint of it or any widget in it print the seconds since BENCH_T0, quit
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    class First(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and obj.window() is w:
                print(f"PAINTED {time.time() - t0:.4f}", flush=True)
                app.quit()
            return False

    f = First()
    app.installEventFilter(f)
    w.show()
    app.exec()
"""

BARE_CHILD = _PRELUDE + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.setCentralWidget(pg.PlotWidget())
w.resize(1280, 800)
run_until_first_paint(app, w)
"""

DEMO_CHILD = _PRELUDE + r"""
from console.demo.runner import DemoRunner
from console.ui.app import ConsoleSession, start_app
app = start_app("light")
with DemoRunner(seed=1) as runner:
    cs = ConsoleSession(runner.site_model(), os.environ["BENCH_DB"], demo=True, demo_hooks=runner,
                        source_factory=runner.source_factory, credential_resolver=runner.resolve, show=False)
    run_until_first_paint(app, cs.window)
    cs.close()
"""

OPEN_CHILD = _PRELUDE + r"""
from console.site import load_site
from console.ui.app import ConsoleSession, start_app
app = start_app("light")
site = load_site(os.path.join(os.environ["BENCH_ROOT"], "resources", "sites", "example.toml"))
cs = ConsoleSession(site, os.environ["BENCH_DB"], show=False)
run_until_first_paint(app, cs.window)
os._exit(0)  # the example site's devices are not there: do not wait for their polls to time out
"""


def _child(code: str, env: dict[str, str]) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"), **env,
           "BENCH_T0": repr(time.time())}
    # BENCH_T0 is taken just before the exec: interpreter start-up is part of the figure
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    for line in proc.stdout.splitlines():
        if line.startswith("PAINTED "):
            return float(line.split()[1])
    raise RuntimeError(f"child did not paint (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")


def cold_start(runs: int) -> dict[str, Any]:
    bare, demo, site = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        env = {"BENCH_ROOT": str(ROOT), "HEATRACK_DATA_DIR": tmp, "XDG_CONFIG_HOME": tmp}
        _child(BARE_CHILD, env)  # files into the page cache, as in notes/qt-and-performance.md
        _child(DEMO_CHILD, {**env, "BENCH_DB": str(Path(tmp) / "warm.db")})
        for i in range(runs):  # interleaved, so machine load hits all alike
            bare.append(_child(BARE_CHILD, env))
            demo.append(_child(DEMO_CHILD, {**env, "BENCH_DB": str(Path(tmp) / f"demo{i}.db")}))
            site.append(_child(OPEN_CHILD, {**env, "BENCH_DB": str(Path(tmp) / f"site{i}.db")}))
    return {"bench": "cold_start", "runs": runs,
            "demo_window_s": round(statistics.median(demo), 3), "demo_min_max_s": [round(min(demo), 3),
                                                                                   round(max(demo), 3)],
            "open_example_site_s": round(statistics.median(site), 3),
            "open_min_max_s": [round(min(site), 3), round(max(site), 3)],
            "bare_pyside_pyqtgraph_s": round(statistics.median(bare), 3),
            "bare_min_max_s": [round(min(bare), 3), round(max(bare), 3)],
            "ratio": round(statistics.median(demo) / statistics.median(bare), 2), "aim_s": 1.5}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def memory(updates: int, sample: int, warmup: int) -> dict[str, Any]:
    import gc
    import threading

    from PySide6.QtCore import QEventLoop, QTimer

    from console.history import HistoryService
    from console.live import LiveSite
    from console.ui.app import start_app
    from console.ui.bridge import LiveBridge
    from console.ui.context import ViewContext
    from console.ui.main_window import MainWindow
    from tests.fakes.views import DemoFeeder, demo_site_model, history_db

    app = start_app("light")
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        db = Path(tmp) / "site.db"
        history_db(db, 6)
        site = demo_site_model()
        live = LiveSite(site)
        bridge = LiveBridge(live, interval_ms=20)
        history = HistoryService(db)
        ctx = ViewContext(site=site, live=live, bridge=bridge, history=history, db_path=str(db))
        w = MainWindow(ctx)
        w.resize(1280, 800)
        w.show()
        feeder = DemoFeeder(live)
        stop = threading.Event()
        steps = [0]

        def feed() -> None:  # the engine's thread: a poll of every device, as fast as the model steps
            while not stop.is_set():
                feeder.step(60.0)
                steps[0] += 1
                time.sleep(0.005)

        count = [0]
        samples: list[tuple[int, int]] = []
        loop = QEventLoop()

        def on_update() -> None:
            count[0] += 1
            n = count[0]
            if n % 200 == 0:
                w.tabs.setCurrentIndex((w.tabs.currentIndex() + 1) % w.tabs.count())
            if n >= warmup and (n - warmup) % sample == 0:
                gc.collect()
                samples.append((n, _rss()))
            if n >= updates:
                loop.quit()

        bridge.changed.connect(on_update)
        feeder_thread = threading.Thread(target=feed, daemon=True)
        started = time.monotonic()
        feeder_thread.start()
        QTimer.singleShot(int(updates * 0.1 * 1000) + 60_000, loop.quit)  # a bound, never reached
        loop.exec()
        stop.set()
        feeder_thread.join(5)
        took = time.monotonic() - started
        w.close()
        history.close()
        app.processEvents()
    xs = [float(n) for n, _ in samples]
    ys = [float(r) for _, r in samples]
    half = len(xs) // 2
    return {"bench": "memory", "updates": count[0], "model_steps": steps[0], "seconds": round(took, 1),
            "pages": w.tabs.count(), "samples": len(samples),
            "rss_first_mb": round(ys[0] / 1e6, 1) if ys else None,
            "rss_last_mb": round(ys[-1] / 1e6, 1) if ys else None,
            "bytes_per_update": round(_slope(xs, ys), 1) if len(xs) > 1 else None,
            "bytes_per_update_second_half": round(_slope(xs[half:], ys[half:]), 1) if len(xs) - half > 1 else None}


def other(name: str) -> dict[str, Any] | None:
    try:
        mod = importlib.import_module(f"benchmarks.{name}")
    except ImportError:
        return None
    return {"bench": name, **mod.measure()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--updates", type=int, default=3000)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--only", default="cold_start,memory,gui_power,gui_schematic")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    only = set(args.only.split(","))
    if "cold_start" in only:
        print(json.dumps(cold_start(args.runs)), flush=True)
    if "memory" in only:
        print(json.dumps(memory(args.updates, args.sample, args.warmup)), flush=True)
    for name in ("gui_power", "gui_schematic"):
        if name in only:
            result = other(name)
            print(json.dumps(result if result is not None else {"bench": name, "skipped": "module not present"}),
                  flush=True)


if __name__ == "__main__":
    main()
