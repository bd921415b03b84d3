"""One poll round of N devices, concurrently, per protocol and for a mixed site.

The network peers (demo Redfish BMCs, demo SNMP agents, profile-driven Modbus heat
controllers) all run in ONE child process per N, on 127.0.0.1 ephemeral ports, so the CPU
time measured here is the console's side only: clients, decoding and the Coordinator's
bookkeeping. NVML is simulated in-process (SimulatedNvml), so only its CPU time means much.

Per (protocol, N) it reports the first round (connect, login, Redfish discovery, SNMP
profile detection) on its own, then the median and p95 wall time of a steady round (all
devices polled concurrently), CPU per device per round in this process and, for reference,
in the peer process, and readings per device. A cell stops early once its rounds have
taken --cell-seconds, so the whole run stays short on a small machine.

SNMP cells are followed by "bare pysnmp": the very requests heatrack sent in one steady round
(recorded per device), replayed with pysnmp alone on one engine — no client, decoding or
Coordinator — so the last table gives heatrack's steady-poll cost relative to pysnmp's.
By default each SNMP cell also runs as the baseline from before engines were shared
(``--snmp-engines both``; ``shared`` skips it): each source builds its own SnmpEngine with
pysnmp's defaults (MIB compiler included), with a long device timeout so that its slow first
round completes.

    .venv/bin/python benchmarks/bench_poll.py [--rounds 30] [--cell-seconds 10] [--sizes 1,10,50]
        [--protocols redfish,snmp,modbus,nvml,mixed] [--v3-sizes 10] [--nvml-sizes 50]
        [--snmp-engines both|shared|per-source]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.engine.coordinator import Coordinator
from protocols.base import Credentials, DeviceSpec, Source
from protocols.demo_views import (
    GpuHostView,
    GpuView,
    OutletView,
    PduView,
    PsuView,
    ServerView,
    UpsView,
)
from protocols.registry import open_source

PROTOCOLS = ("redfish", "snmp", "modbus", "nvml", "mixed")
NETWORKED = ("redfish", "snmp", "modbus")
MIX_ORDER = ("redfish", "snmp", "modbus", "nvml")  # device i of a mixed site speaks MIX_ORDER[i % 4]
PROFILE = "heatrack-default"
POINTS: dict[str, float | int | bool | str] = {
    "supply_temp": 44.31, "return_temp": 37.02, "tank_top_temp": 58.2, "flow": 11.5,
    "thermal_power": 2950.0, "thermal_energy": 87.65, "valve_position": 40.0,
    "pump_on": True, "outdoor_temp": -4.5, "model": "HR-DEMO"}
BMC_USER, BMC_PASSWORD = "bench", "bench-password"
SNMP_RO, SNMP_RW = "bench-ro", "bench-rw"
V3_USER, V3_AUTH, V3_PRIV = "bench", "bench-auth-key", "bench-priv-key"
TIMEOUT_S = 10.0  # generous: a 2-core box running 150 peers is slow, and a miss aborts the cell
# One engine per SNMP source spends ~0.5 s of CPU per device before its first request goes out:
# 50 of them on one loop need far longer than TIMEOUT_S for the first round.
BASELINE_TIMEOUT_S = 300.0


# ---------------------------------------------------------------- static demo views
def _gpu(i: int) -> GpuView:
    return GpuView(index=i, name="NVIDIA H100 80GB HBM3", uuid=f"GPU-bench-0000-4000-8000-{i:012d}",
                   temperature_c=55.5 + i, power_w=310.25 + 10 * i, energy_j=1.5e6 + i,
                   power_limit_w=650.0, power_limit_min_w=200.0, power_limit_max_w=700.0,
                   power_limit_default_w=700.0, utilization_pct=87.0 - i, memory_used_b=10 << 30,
                   memory_total_b=80 << 30, fan_pct=None if i % 2 else 42.0,
                   throttle_reasons=0x4 if i == 0 else 0)


def server_view(n: int) -> ServerView:
    """A 2U server with two GPUs on a liquid loop, the shape of tests/protocols/test_redfish_server.py."""
    return ServerView(
        id=f"srv{n}", name=f"Rack server {n}", model="HR-2U-H100", serial=f"SN-{n:04d}", powered=True,
        reachable=True, inlet_c=21.5, exhaust_c=38.25, cpu_temps_c=[61.0, 63.5],
        fans_rpm=[8200.0, 8350.0, 7900.0],
        psus=[PsuView("PSU1", 905.5, 860.0, 231.2, 1234.5), PsuView("PSU2", 899.0, 851.5, 230.8, 1200.25)],
        chassis_power_w=1804.5, energy_kwh=2434.75, power_limit_w=1800.0, power_limit_min_w=600.0,
        power_limit_max_w=2400.0, gpus=[_gpu(0), _gpu(1)], coolant_supply_c=35.0, coolant_return_c=45.5,
        coolant_flow_lpm=6.0, liquid_fraction=0.7)


def ups_view(n: int) -> UpsView:
    return UpsView(id=f"ups{n}", model="Smart-UPS SRT 3000", on_battery=False, low_battery=False,
                   battery_charge_pct=100.0, runtime_s=1860.0, battery_voltage_v=54.6,
                   battery_temp_c=27.0, input_voltage_v=231.0, input_frequency_hz=50.0,
                   output_voltage_v=230.0, output_power_w=1384.0, output_load_pct=46.0,
                   seconds_on_battery=0.0, self_test_result="pass", alarms=[])


def pdu_view(n: int) -> PduView:
    outlets = [OutletView(number=i, name=f"srv{i}", on=i % 5 != 0, power_w=40.0 * i,
                          current_a=round(0.17 * i, 2), energy_kwh=1.5 * i) for i in range(1, 25)]
    return PduView(id=f"pdu{n}", model="AP8641", voltage_v=231.0, power_w=sum(o.power_w for o in outlets),
                   current_a=round(sum(o.current_a for o in outlets), 1),
                   energy_kwh=sum(o.energy_kwh for o in outlets), outlets=outlets)


def gpu_host_view(n: int) -> GpuHostView:
    return GpuHostView(id=f"gpuhost{n}", driver_version="550.54.15", gpus=[_gpu(i) for i in range(4)])


T = TypeVar("T")


def const(value: T) -> Callable[[], T]:
    """A view getter that always returns the same snapshot: only the protocol path is measured."""
    return lambda: value


class NullControl:
    """DemoControl that refuses nothing and changes nothing: the benchmark only reads."""

    def set_power_limit(self, server_id: str, watts: float | None) -> None: ...
    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None: ...
    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None: ...
    def ups_self_test(self, ups_id: str) -> None: ...
    def heat_write(self, controller_id: str, point: str, value: float | bool) -> None: ...


# ---------------------------------------------------------------- the peer process
async def serve(counts: dict[str, int]) -> None:
    """Child: the requested peers on ephemeral 127.0.0.1 ports; print their ports as JSON;
    run until stdin closes. SNMP agent i is a UPS when i is even, a PDU when odd."""
    from protocols.modbus.server import HeatControllerServer
    from protocols.redfish.server import DemoRedfishService
    from protocols.snmp.agent import DemoSnmpAgent

    control = NullControl()
    heat = [HeatControllerServer(PROFILE, const(POINTS), lambda name, v: None)
            for _ in range(counts.get("modbus", 0))]
    bmcs = [DemoRedfishService(const(server_view(i)), control, username=BMC_USER, password=BMC_PASSWORD)
            for i in range(counts.get("redfish", 0))]
    agents = [DemoSnmpAgent(const(ups_view(i)) if i % 2 == 0 else None,
                            const(pdu_view(i)) if i % 2 else None, control,
                            community_ro=SNMP_RO, community_rw=SNMP_RW, v3_user=V3_USER,
                            v3_auth_key=V3_AUTH, v3_priv_key=V3_PRIV)
              for i in range(counts.get("snmp", 0))]
    ports = {"modbus": [await s.start() for s in heat], "redfish": [b.start() for b in bmcs],
             "snmp": [a.start() for a in agents]}
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for a in agents:
        a.stop()
    for b in bmcs:
        b.stop()
    for s in heat:
        await s.stop()


def proc_cpu_s(pid: int) -> float | None:
    """utime + stime of another process (Linux /proc; None elsewhere), 10 ms resolution."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- the console's side
Opener = Callable[[], Source]


def device(protocol: str, i: int, ports: dict[str, list[int]], v3: bool = False,
           timeout_s: float = TIMEOUT_S) -> tuple[DeviceSpec, Opener]:
    """Spec and opener of device i of a protocol; network devices use peer i of that protocol."""
    if protocol == "redfish":
        spec = DeviceSpec(id=f"srv{i}", kind="server", protocol="redfish",
                          address=f"127.0.0.1:{ports['redfish'][i]}", options={"auth": "session"},
                          credentials=Credentials(username=BMC_USER, password=BMC_PASSWORD), timeout_s=TIMEOUT_S)
    elif protocol == "snmp":
        creds = (Credentials(username=V3_USER, auth_key=V3_AUTH, priv_key=V3_PRIV) if v3
                 else Credentials(community=SNMP_RO))
        spec = DeviceSpec(id=f"{'ups' if i % 2 == 0 else 'pdu'}{i}", kind="ups" if i % 2 == 0 else "pdu",
                          protocol="snmp", address=f"127.0.0.1:{ports['snmp'][i]}",
                          options={"version": "3" if v3 else "2c"}, credentials=creds, timeout_s=timeout_s)
    elif protocol == "modbus":
        spec = DeviceSpec(id=f"heat{i}", kind="heat_controller", protocol="modbus",
                          address=f"127.0.0.1:{ports['modbus'][i]}", profile=PROFILE, timeout_s=TIMEOUT_S)
    elif protocol == "nvml":
        from protocols.nvml.client import NvmlSource
        from protocols.nvml.sim import SimulatedNvml

        spec = DeviceSpec(id=f"gpuhost{i}", kind="gpu_host", protocol="nvml", address="", timeout_s=TIMEOUT_S)
        view = const(gpu_host_view(i))
        return spec, lambda: NvmlSource(spec, nvml_module=SimulatedNvml(view))
    else:
        raise ValueError(protocol)
    return spec, lambda: open_source(spec)


def site(protocol: str, n: int, ports: dict[str, list[int]], v3: bool,
         per_source: bool = False) -> tuple[str, list[tuple[DeviceSpec, Opener]]]:
    """(label, devices) of one benchmark cell."""
    if protocol != "mixed":
        label = "snmp v3" if v3 else ("snmp v2c" if protocol == "snmp" else protocol)
        if per_source:
            label += " (engine per source: before)"
        timeout_s = BASELINE_TIMEOUT_S if per_source else TIMEOUT_S
        return label, [device(protocol, i, ports, v3, timeout_s) for i in range(n)]
    devs = [device(MIX_ORDER[i % 4], i, ports) for i in range(n)]  # peer i of that protocol
    mix = {p: sum(1 for i in range(n) if MIX_ORDER[i % 4] == p) for p in MIX_ORDER}
    return "mixed " + "+".join(f"{c}{p[0].upper()}" for p, c in mix.items() if c), devs


async def bench(devices: list[tuple[DeviceSpec, Opener]], rounds: int, cell_s: float, peer_pid: int,
                record: Recorder | None = None) -> dict[str, Any]:
    coords = [Coordinator(spec.id, spec.address, opener, interval=10.0, timeout=spec.timeout_s + 5)
              for spec, opener in devices]
    n = len(coords)
    w0, c0 = time.perf_counter(), time.process_time()
    first = await asyncio.gather(*(c.poll_once() for c in coords))  # connect, login, discovery
    first_wall, first_cpu = time.perf_counter() - w0, time.process_time() - c0
    bad = [b.status.message for b in first if not b.status.available]
    if bad:
        raise SystemExit(f"first round failed ({len(bad)}/{n}): {bad[:3]}")
    if record is not None:  # one extra, unmeasured round: what each SNMP source sends
        with record:
            await asyncio.gather(*(c.poll_once() for c in coords))
    walls: list[float] = []
    cpus: list[float] = []
    readings = 0
    p0, t_start = proc_cpu_s(peer_pid), time.perf_counter()
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        batches = await asyncio.gather(*(c.poll_once() for c in coords))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        readings = sum(len(b.readings) for b in batches)
        failed = [b.status.message for b in batches if not b.status.available]
        if failed:
            raise SystemExit(f"round failed ({len(failed)}/{n}): {failed[:3]}")
        if time.perf_counter() - t_start > cell_s:
            break
    p1 = proc_cpu_s(peer_pid)
    for c in coords:
        await c._close_source()
    done = len(walls)
    walls.sort()
    return {
        "n": n, "rounds": done, "first_ms": first_wall * 1e3, "first_cpu_dev_ms": first_cpu * 1e3 / n,
        "wall_ms": statistics.median(walls) * 1e3,
        "wall_p95_ms": walls[min(done - 1, int(0.95 * done))] * 1e3,
        "cpu_dev_ms": statistics.median(cpus) * 1e3 / n,
        "peer_cpu_dev_ms": None if p0 is None or p1 is None else (p1 - p0) * 1e3 / done / n,
        "readings_dev": readings / n,
    }


def run_cell(devices: list[tuple[DeviceSpec, Opener]], args: argparse.Namespace, peer_pid: int,
             record: Recorder | None = None) -> dict[str, Any]:
    """One cell on a fresh loop, with the thread pool the console's engine gets by default."""
    return asyncio.run(bench(devices, args.rounds, args.cell_seconds, peer_pid, record))


# ---------------------------------------------------------------- SNMP: engines and bare pysnmp
@contextlib.contextmanager
def engine_per_source() -> Iterator[None]:
    """The baseline: every SnmpSource gets an SnmpEngine of its own, as before sharing."""
    import protocols.snmp.client as snmp_client
    from protocols.snmp.engine import unshared

    shared = snmp_client.acquire
    snmp_client.acquire = unshared
    try:
        yield
    finally:
        snmp_client.acquire = shared


Request = tuple[str, int, list[str]]  # "get" | "bulk", max-repetitions, OIDs


class Recorder:
    """While entered, notes every GET/GETBULK the SNMP client sends, per device address."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], list[Request]] = {}
        self.auth: dict[tuple[str, int], tuple[Any, Any]] = {}  # auth data, context data
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Self:
        import protocols.snmp.client as snmp_client

        for name, kind in (("get_cmd", "get"), ("bulk_cmd", "bulk")):
            self._saved[name] = original = getattr(snmp_client, name)
            setattr(snmp_client, name, self._wrap(original, kind))
        return self

    def __exit__(self, *exc: object) -> None:
        import protocols.snmp.client as snmp_client

        for name, original in self._saved.items():
            setattr(snmp_client, name, original)

    def _wrap(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        async def call(engine: Any, auth: Any, target: Any, context: Any, *rest: Any, **options: Any) -> Any:
            result = await original(engine, auth, target, context, *rest, **options)
            varbinds = rest[2:] if kind == "bulk" else rest
            reps = int(rest[1]) if kind == "bulk" else 0
            address = tuple(target.transport_address[:2])
            self.requests.setdefault(address, []).append(
                (kind, reps, [str(vb[0].get_oid()) for vb in varbinds]))
            self.auth[address] = (auth, context)
            return result

        return call


async def bench_bare(rec: Recorder, rounds: int, cell_s: float) -> dict[str, Any]:
    """The recorded requests again, with pysnmp alone: one engine, one target per device."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_cmd,
        get_cmd,
    )

    engine = SnmpEngine()
    targets = {a: await UdpTransportTarget.create(a, timeout=TIMEOUT_S / 2, retries=1) for a in rec.requests}

    async def device_round(address: tuple[str, int]) -> int:
        auth, context = rec.auth[address]
        varbinds = 0
        for kind, reps, oids in rec.requests[address]:
            objs = [ObjectType(ObjectIdentity(o)) for o in oids]
            if kind == "get":
                err, status, _, vbs = await get_cmd(engine, auth, targets[address], context, *objs, lookupMib=False)
            else:
                err, status, _, vbs = await bulk_cmd(engine, auth, targets[address], context, 0, reps, *objs,
                                                     lookupMib=False)
            if err or int(status):
                raise SystemExit(f"bare pysnmp {kind} to {address}: {err or status.prettyPrint()}")
            varbinds += len(vbs)
        return varbinds

    await asyncio.gather(*(device_round(a) for a in rec.requests))  # first use: engine warm-up
    walls: list[float] = []
    cpus: list[float] = []
    t_start = time.perf_counter()
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(device_round(a) for a in rec.requests))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if time.perf_counter() - t_start > cell_s:
            break
    engine.close_dispatcher()
    n = len(rec.requests)
    return {"rounds": len(walls), "wall_ms": statistics.median(walls) * 1e3,
            "cpu_dev_ms": statistics.median(cpus) * 1e3 / n,
            "requests_dev": sum(len(r) for r in rec.requests.values()) / n}


def warm_imports() -> None:
    """Import every client stack (and parse the SNMP profiles) up front: the console does that
    once at start-up, so a first round should show connect/discovery, not Python imports."""
    for name in ("modbus.client", "nvml.client", "nvml.sim", "redfish.client", "snmp.client"):
        importlib.import_module(f"protocols.{name}")
    from protocols.snmp.profiles import load_profiles

    load_profiles()


# ---------------------------------------------------------------- main
def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=30, help="steady rounds per cell, at most (default 30)")
    ap.add_argument("--cell-seconds", type=float, default=10.0,
                    help="stop a cell's steady rounds after this long (default 10 s; at least one round)")
    ap.add_argument("--sizes", default="1,10,50", help="device counts N (default 1,10,50)")
    ap.add_argument("--protocols", default=",".join(PROTOCOLS), help=f"subset of {','.join(PROTOCOLS)}")
    ap.add_argument("--v3-sizes", default="10", help="N at which SNMP is also measured over v3 (default 10)")
    ap.add_argument("--nvml-sizes", default="50", help="N at which simulated NVML is measured (default 50)")
    ap.add_argument("--snmp-engines", choices=("shared", "per-source", "both"), default="both",
                    help="SNMP engines as heatrack shares them, one per source as before (the "
                         "baseline), or both in the same run (default)")
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(json.loads(args.serve)))
        return 0
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        ap.error(f"unknown protocol(s): {', '.join(sorted(unknown))}")
    v3_sizes, nvml_sizes = set(_ints(args.v3_sizes)), set(_ints(args.nvml_sizes))
    warm_imports()
    rows: list[tuple[str, dict[str, Any]]] = []
    bare_rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    engines = {"shared": [False], "per-source": [True], "both": [False, True]}[args.snmp_engines]
    t_all = time.perf_counter()
    for n in _ints(args.sizes):
        # Every network peer any cell at this N needs, all in one child process.
        counts = {p: n for p in NETWORKED if p in protocols or "mixed" in protocols}
        cells: list[tuple[str, bool, bool]] = []  # protocol, SNMPv3, SNMP engine per source
        for p in protocols:
            if p == "nvml" and n not in nvml_sizes:
                continue
            for v3 in (False, True) if p == "snmp" and n in v3_sizes else (False,):
                for per_source in engines if p == "snmp" else [False]:
                    cells.append((p, v3, per_source))
        peer = subprocess.Popen([sys.executable, __file__, "--serve", json.dumps(counts)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert peer.stdout is not None
            line = peer.stdout.readline()
            if not line:
                raise SystemExit("peer process failed to start")
            ports = json.loads(line)
            for p, v3, per_source in cells:
                label, devs = site(p, n, ports, v3, per_source)
                t0 = time.perf_counter()
                record = Recorder() if p == "snmp" and not per_source else None
                with engine_per_source() if per_source else contextlib.nullcontext():
                    row = run_cell(devs, args, peer.pid, record)
                rows.append((label, row))
                print(f"  {label:<22} N={n:<3} {row['rounds']:>3} rounds in {time.perf_counter() - t0:5.1f} s",
                      file=sys.stderr, flush=True)
                if record is not None:
                    bare = asyncio.run(bench_bare(record, args.rounds, args.cell_seconds))
                    bare_rows.append((label, row, bare))
        finally:
            assert peer.stdin is not None
            peer.stdin.close()
            peer.wait(30)
    total = time.perf_counter() - t_all
    workers = min(32, (os.cpu_count() or 1) + 4)
    print(f"\nOne concurrent poll round of N devices via console.engine Coordinator; peers in one child process "
          f"per N; {os.cpu_count()} CPUs, default thread pool {workers} workers; total {total:.0f} s")
    print("first round: includes connect/login (Redfish session + discovery, SNMP profile detection); "
          "CPU columns: ms per device per round (median), this process / the peer process")
    head = ("protocol", "N", "rounds", "first round ms", "first CPU/dev ms", "round ms (median)",
            "round ms (p95)", "CPU/dev/round ms", "peer CPU/dev/round ms", "readings/dev")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for label, r in rows:
        peer_cpu = "n/a" if r["peer_cpu_dev_ms"] is None else f"{r['peer_cpu_dev_ms']:.2f}"
        if label.startswith("nvml"):
            peer_cpu = "in-process"
        print(f"| {label} | {r['n']} | {r['rounds']} | {r['first_ms']:.1f} | {r['first_cpu_dev_ms']:.2f} | "
              f"{r['wall_ms']:.2f} | {r['wall_p95_ms']:.2f} | {r['cpu_dev_ms']:.3f} | {peer_cpu} | "
              f"{r['readings_dev']:.1f} |")
    if bare_rows:
        print("\nSNMP steady round, heatrack (SnmpSource + Coordinator) vs bare pysnmp sending the same "
              "requests on one engine; CPU ms per device per round (median)")
        bare_head = ("protocol", "N", "requests/dev", "heatrack CPU/dev", "bare pysnmp CPU/dev", "CPU ratio",
                     "heatrack round ms", "bare round ms", "wall ratio")
        print("| " + " | ".join(bare_head) + " |")
        print("|" + "|".join("---" for _ in bare_head) + "|")
        for label, r, b in bare_rows:
            print(f"| {label} | {r['n']} | {b['requests_dev']:.1f} | {r['cpu_dev_ms']:.3f} | {b['cpu_dev_ms']:.3f} | "
                  f"{r['cpu_dev_ms'] / b['cpu_dev_ms']:.2f} | {r['wall_ms']:.2f} | {b['wall_ms']:.2f} | "
                  f"{r['wall_ms'] / b['wall_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
