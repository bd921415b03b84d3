"""How fast the demo model simulates a heating season (fast-forward mode).

Steps a default ``DemoSite`` through ``--days`` simulated days at a 60 s step and reports
steps/s and simulated days per wall second, for stepping alone (``step``) and for stepping
plus, every simulated minute, what every device would report read through heatrack's clients
in process (``readout``: console.demo.readout, what fast-forward stores). Ends with the
season's energy balance.

    .venv/bin/python benchmarks/bench_demo_model.py [--days 180] [--dt 60]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.demo import DemoSite  # noqa: E402
from console.demo.readout import SiteReadout  # noqa: E402


def run(days: float, dt: float, mode: str) -> dict[str, float]:
    site = DemoSite(seed=1)
    readout = SiteReadout(site) if mode == "readout" else None
    steps = int(days * 86400 / dt)
    every = max(1, round(60 / dt))
    n = 0
    t0 = time.perf_counter()
    for i in range(steps):
        site.step(dt)
        if readout is not None and i % every == 0:
            n += len(readout.read())
    wall = time.perf_counter() - t0
    b = site.energy_balance()
    return {
        "mode": mode, "days": days, "dt_s": dt, "steps": steps, "wall_s": round(wall, 2),
        "steps_per_s": round(steps / wall), "sim_days_per_wall_s": round(days / wall, 2),
        "records": n, "it_kwh": round(b["it_kwh"], 1),
        "balance_error_pct": round(100 * (b["it_kwh"] - b["loop_kwh"] - b["room_kwh"]) / b["it_kwh"], 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--dt", type=float, default=60.0)
    ap.add_argument("--modes", default="step,readout")
    a = ap.parse_args()
    for mode in a.modes.split(","):
        print(json.dumps(run(a.days, a.dt, mode)), flush=True)


if __name__ == "__main__":
    main()
