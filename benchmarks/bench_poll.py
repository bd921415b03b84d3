"""One poll round of N devices, concurrently, against local Modbus heat controllers.

The peers (our profile-driven pymodbus server, protocols/modbus/server.py) run in a child
process, so the CPU time measured here is the console's side only: client, profile decoding,
and the Coordinator's bookkeeping. Per N it reports the wall time of a round (all devices
polled concurrently) and the CPU time per device per round.

    .venv/bin/python benchmarks/bench_poll.py [--rounds 30] [--sizes 1,10,50]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.engine.coordinator import Coordinator  # noqa: E402
from protocols.base import DeviceSpec  # noqa: E402
from protocols.registry import open_source  # noqa: E402

PROFILE = "heatrack-default"
POINTS = {"supply_temp": 44.31, "return_temp": 37.02, "tank_top_temp": 58.2, "flow": 11.5,
          "thermal_power": 2950.0, "thermal_energy": 87.65, "valve_position": 40.0,
          "pump_on": True, "outdoor_temp": -4.5, "model": "HR-DEMO"}


async def serve(n: int) -> None:
    """Child: N servers on ephemeral 127.0.0.1 ports; print them; run until stdin closes."""
    from protocols.modbus.server import HeatControllerServer

    servers = [HeatControllerServer(PROFILE, lambda: POINTS, lambda name, v: None) for _ in range(n)]
    ports = [await s.start() for s in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for s in servers:
        await s.stop()


async def bench(ports: list[int], rounds: int) -> dict[str, float]:
    coords = []
    for i, port in enumerate(ports):
        spec = DeviceSpec(id=f"heat{i}", kind="heat_controller", protocol="modbus",
                          address=f"127.0.0.1:{port}", profile=PROFILE, timeout_s=5.0)
        coords.append(Coordinator(spec.id, spec.address, lambda spec=spec: open_source(spec),
                                  interval=10.0, timeout=10.0))
    t0 = time.perf_counter()
    first = await asyncio.gather(*(c.poll_once() for c in coords))  # connects
    connect_wall = time.perf_counter() - t0
    bad = [b.status.message for b in first if not b.status.available]
    if bad:
        raise SystemExit(f"first round failed: {bad[:3]}")
    walls, cpus, readings = [], [], 0
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        batches = await asyncio.gather(*(c.poll_once() for c in coords))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        readings = sum(len(b.readings) for b in batches)
        assert all(b.status.available for b in batches), [b.status.message for b in batches]
    for c in coords:
        await c._close_source()
    n = len(ports)
    walls.sort()
    return {
        "n": n, "connect_ms": connect_wall * 1e3,
        "wall_ms": statistics.median(walls) * 1e3,
        "wall_p95_ms": walls[min(len(walls) - 1, int(0.95 * len(walls)))] * 1e3,
        "wall_per_dev_ms": statistics.median(walls) * 1e3 / n,
        "cpu_per_dev_ms": statistics.median(cpus) * 1e3 / n,
        "readings": readings,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--sizes", default="1,10,50")
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        peer = subprocess.Popen([sys.executable, __file__, "--serve", str(n)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert peer.stdout is not None
            line = peer.stdout.readline()
            if not line:
                raise SystemExit("peer process failed to start")
            rows.append(asyncio.run(bench(json.loads(line), args.rounds)))
        finally:
            assert peer.stdin is not None
            peer.stdin.close()
            peer.wait(30)
    print(f"Modbus TCP heat controllers ({PROFILE}), {args.rounds} rounds each; peers in a child process")
    head = ("N", "connect ms", "round ms (median)", "round ms (p95)", "wall/dev ms", "CPU/dev/round ms",
            "readings/round")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(f"{r['n']} | {r['connect_ms']:.1f} | {r['wall_ms']:.2f} | {r['wall_p95_ms']:.2f} | "
              f"{r['wall_per_dev_ms']:.3f} | {r['cpu_per_dev_ms']:.3f} | {r['readings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
