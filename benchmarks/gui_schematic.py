"""What the heat path schematic costs per refresh, on the demo site, offscreen (software raster).

Each refresh between two timings gets new values (the demo model steps a simulated minute and
every device is polled once through the real clients' decoders, outside the timed part):

- ``refresh``: ``SchematicView.refresh()`` alone: read the live model (``series()`` and the
  device states), work out every element's state, apply the changed properties to the items;
- ``refresh_paint``: the same plus a synchronous repaint of the whole 1280x800 view
  (``viewport().repaint()``; the window repaints only what changed, so this is an upper bound);
- ``frame``: one flow-animation frame while water flows (move the dashes by 1/30 s) plus the
  same full repaint;
- ``frame_event_loop``: one animation frame as the window pays it: the dashes moved, then the
  event loop repaints the regions of the items that changed;
- ``build``: the view built from the site (scene made once).

Medians and p95 in ms over ``n`` refreshes; the scene's item count before and after (it must not
grow). ``benchmarks/bench_gui.py`` calls ``measure()``; standalone it prints one JSON line:

    .venv/bin/python benchmarks/gui_schematic.py [--n 200]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_ms": round(statistics.median(xs) * 1000, 3),
            "p95_ms": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000, 3)}


def measure(n: int = 200) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from console.live import LiveSite
    from console.ui.bridge import LiveBridge
    from console.ui.context import ViewContext
    from console.ui.schematic_view import SchematicView
    from tests.fakes.views import DemoFeeder, demo_site_model

    app = QApplication.instance() or QApplication([])
    site = demo_site_model()
    live = LiveSite(site)
    bridge = LiveBridge(live)
    feeder = DemoFeeder(live)
    feeder.step(3600)
    t0 = time.perf_counter()
    view = SchematicView(ViewContext(site=site, live=live, bridge=bridge))
    build = time.perf_counter() - t0
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    s = view.schematic
    items_before = s.item_count()
    refresh: list[float] = []
    paint: list[float] = []
    frame: list[float] = []
    loop: list[float] = []
    try:
        view.refresh()
        app.processEvents()
        for _ in range(n):  # the flow animation, water flowing (the demo's winter morning)
            t0 = time.perf_counter()
            s.advance(1 / 30)
            s.viewport().repaint()
            frame.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s.advance(1 / 30)
            app.processEvents()  # what the window pays: Qt repaints the changed items' regions
            app.processEvents()
            loop.append(time.perf_counter() - t0)
        for i in range(n):
            feeder.step(60)
            if i == n // 2:
                feeder.model.inject("pump-failure")  # half the run with the alarm state drawn
            t0 = time.perf_counter()
            view.refresh()
            t1 = time.perf_counter()
            s.viewport().repaint()
            t2 = time.perf_counter()
            refresh.append(t1 - t0)
            paint.append(t2 - t0)
        app.processEvents()
        items_after = s.item_count()
    finally:
        view.close()
        bridge.close()
    return {"bench": "gui_schematic", "n": n, "site": "demo (3 servers, 3 tank layers, 2 consumers)",
            "platform": os.environ.get("QT_QPA_PLATFORM", ""), "view": "1280x800",
            "build_ms": round(build * 1000, 1), "refresh": _stats(refresh), "refresh_paint": _stats(paint),
            "frame": _stats(frame), "frame_event_loop": _stats(loop),
            "items_before": items_before, "items_after": items_after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="refreshes to time (default 200)")
    args = ap.parse_args()
    if args.n < 2:
        ap.error("--n must be at least 2")
    print(json.dumps(measure(args.n)))


if __name__ == "__main__":
    main()
