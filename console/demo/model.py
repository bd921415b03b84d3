"""The demo site's physical model: one deterministic, seeded simulation in simulated time.

``DemoSite`` ties weather, workloads, servers, GPU host, power path and heat plant together,
produces the ``protocols.demo_views`` the demo protocol servers render and implements
``protocols.demo_views.DemoControl`` for their writes. Qt-free, no I/O: the caller owns the clock.
What the devices *report* is not decided here: the protocol servers render the views and the
clients decode them, live or in process (``console.demo.readout``, for fast-forward).

Energy bookkeeping, tracked explicitly so that a test can close the balance:
IT energy (server AC input + GPU host) = heat into the loop + heat into the room air
+ change of heat held in the servers' coolant.
"""
from __future__ import annotations

import dataclasses
import datetime as dt_
import math
import random

from console.demo.compute import CP_WATER, GpuHost, GpuHostSpec, GpuSpec, Server, ServerSpec
from console.demo.faults import FAULTS, check
from console.demo.hydraulics import RHO_WATER, Plant, PlantSpec
from console.demo.power import Pdu, PduSpec, Ups, UpsSpec
from console.demo.weather import Weather, WeatherSpec
from console.demo.workload import Workload, WorkloadSpec, diurnal
from protocols.demo_views import (
    GpuHostView,
    GpuView,
    HeatControllerView,
    OutletView,
    PduView,
    PsuView,
    ServerView,
    UpsView,
)

_L40S = GpuSpec("NVIDIA L40S", 350.0, 100.0, 350.0, 30.0, 48.0, 0.06)
_H100 = GpuSpec("NVIDIA H100 PCIe", 350.0, 200.0, 350.0, 45.0, 80.0, 0.05)
GIB = 1024**3
DEFAULT_START = dt_.datetime(2025, 10, 1, tzinfo=dt_.UTC)  # a heating season starts

HEAT_WRITABLE: dict[str, tuple[float, float] | None] = {
    "valve_setpoint": (0.0, 100.0),
    "bypass_command": (0.0, 100.0),
    "pump_on": None,  # bool
    "supply_setpoint": (30.0, 70.0),
    "tank_max_temp": (40.0, 85.0),
}


def default_servers() -> tuple[ServerSpec, ...]:
    return (
        ServerSpec("srv1", "Render node 1", serial="HR24A00101", outlet=1, gpus=(_L40S, _L40S)),
        ServerSpec("srv2", "Render node 2", serial="HR24A00102", outlet=2, gpus=(_L40S, _L40S),
                   workload=WorkloadSpec(jobs_per_h=0.12, job_mean_h=4.0)),
        ServerSpec("srv3", "Training node", serial="HR24A00103", outlet=3, gpus=(_H100, _H100),
                   workload=WorkloadSpec(base_util=0.03, diurnal_util=0.1, jobs_per_h=0.08,
                                         job_mean_h=8.0, job_max_h=24.0)),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class DemoConfig:
    """The demo site's equipment. Every physical constant lives in the specs."""

    servers: tuple[ServerSpec, ...] = dataclasses.field(default_factory=default_servers)
    gpu_host: GpuHostSpec | None = GpuHostSpec()
    ups: UpsSpec = UpsSpec()
    pdu: PduSpec = PduSpec()
    plant: PlantSpec = PlantSpec()
    weather: WeatherSpec = WeatherSpec()
    fault_outlet: int = 2  # what outlet-tripped switches off
    fault_server: str = "srv3"  # whose BMC bmc-unreachable silences
    max_substep_s: float = 60.0


HEAT_CONTROLLER_IDENTITY: dict[str, str | float] = {"model": "HR-DEMO1", "serial": "HR000042", "firmware_version": 1.02}


class DemoSite:
    """The whole demo site. ``step(dt_s)`` advances simulated time; views/readings read it."""

    def __init__(self, config: DemoConfig | None = None, seed: int = 1,
                 start: dt_.datetime | None = None) -> None:
        self.config = cfg = config or DemoConfig()
        start = start or DEFAULT_START
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.seed = seed
        self.start_epoch = start.timestamp()
        self.t = 0.0
        self.faults: set[str] = set()
        noise_rng = random.Random(f"{seed}:noise")
        self._noise = [noise_rng.gauss(0.0, 1.0) for _ in range(4093)]
        self._ni = 0
        self.weather = Weather(cfg.weather, random.Random(f"{seed}:weather"), self.start_epoch)
        self.plant = Plant(cfg.plant)
        room = self.plant.room_c
        self.servers = [Server(s, 32.0) for s in cfg.servers]
        self._by_id = {s.spec.id: s for s in self.servers}
        self.workloads = [Workload(s.workload, random.Random(f"{seed}:{s.id}")) for s in cfg.servers]
        self.host = GpuHost(cfg.gpu_host, room) if cfg.gpu_host else None
        self.host_workload = (Workload(cfg.gpu_host.workload, random.Random(f"{seed}:{cfg.gpu_host.id}"))
                              if cfg.gpu_host else None)
        self.ups = Ups(cfg.ups)
        self.pdu = Pdu(cfg.pdu)
        self._outlet_of = [s.outlet - 1 for s in cfg.servers]
        self._outlet_names = [f"outlet{i + 1}" for i in range(cfg.pdu.outlets)]
        for s in cfg.servers:
            self._outlet_names[s.outlet - 1] = s.id
        self._pdu_total = 0.0
        # explicit energy integrals (J)
        self.it_energy_j = 0.0
        self.heat_to_loop_j = 0.0
        self.heat_to_room_j = 0.0
        self._stored0_j = self.server_stored_j()
        # a first step of zero length would leave views empty: settle one second
        self.step(1.0)

    # ------------------------------------------------------------- time
    @property
    def now(self) -> float:
        """UTC epoch seconds of simulated time."""
        return self.start_epoch + self.t

    def local_hour(self, epoch: float | None = None) -> float:
        e = self.now if epoch is None else epoch
        return (e / 3600.0 + self.config.weather.utc_offset_h) % 24.0

    def step(self, dt_s: float) -> None:
        """Advance ``dt_s`` simulated seconds (sub-steps of at most ``max_substep_s``)."""
        if not dt_s > 0.0 or math.isinf(dt_s):
            raise ValueError(f"step must be positive and finite, got {dt_s!r}")
        n = max(1, math.ceil(dt_s / self.config.max_substep_s - 1e-9))
        h = dt_s / n
        for _ in range(n):
            self._substep(h)

    def _substep(self, dt: float) -> None:
        faults = self.faults
        t = self.t + dt
        epoch = self.start_epoch + t
        outdoor = self.weather.step(dt, epoch)
        hour = (epoch / 3600.0 + self.config.weather.utc_offset_h) % 24.0
        day = diurnal(hour)
        noise = self._noise
        ni = self._ni
        jitter = noise[ni]
        ni = ni + 1 if ni + 1 < len(noise) else 0
        ups = self.ups
        ups.begin("ups-on-battery" not in faults)
        volts = ups.output_v
        pdu = self.pdu
        pdu.volts = volts
        plant = self.plant
        flow, t_ret = plant.pre(dt, "pump-failure" in faults)
        servers = self.servers
        share = flow / len(servers) if servers else 0.0
        room = plant.room_c
        tripped = self.config.fault_outlet if "outlet-tripped" in faults else None
        q_loop = q_room = it_w = node_sum = 0.0
        pw = pdu.power_w
        for i, srv in enumerate(servers):
            wl = self.workloads[i]
            wl.step(t, day, noise[(ni + 7 * i) % len(noise)])
            o = self._outlet_of[i]
            on = volts > 0.0 and pdu.is_on(o, t, tripped)
            srv.step(dt, on, volts, wl.gpu_util, wl.cpu_util, wl.mem_frac, t_ret, share, room)
            pw[o] = srv.ac_w
            q_loop += srv.q_loop
            q_room += srv.q_room
            it_w += srv.ac_w
            node_sum += srv.node_c
        total = 0.0
        ej = pdu.energy_j
        for o in range(len(pw)):
            ej[o] += pw[o] * dt
            total += pw[o]
        self._pdu_total = total
        ups.finish(dt, t, total)
        host = self.host
        hw = self.host_workload
        if host is not None and hw is not None:
            hw.step(t, day, jitter)
            host.step(dt, hw.gpu_util, hw.mem_frac, room)
            it_w += host.ac_w
            q_room += host.ac_w
        self.it_energy_j += it_w * dt
        self.heat_to_loop_j += q_loop * dt
        self.heat_to_room_j += q_room * dt
        mean_node = node_sum / len(servers) if servers else room
        plant.post(dt, q_loop, mean_node, q_room, ups.loss_w, outdoor, hour,
                   "no-heat-demand" not in faults, "valve-stuck" in faults,
                   "tank-sensor-stuck" in faults, t, jitter)
        self._ni = ni
        self.t = t

    # ------------------------------------------------------------- faults
    def inject(self, fault: str) -> None:
        self.faults.add(check(fault))

    def clear(self, fault: str) -> None:
        self.faults.discard(check(fault))

    @property
    def active_faults(self) -> frozenset[str]:
        return frozenset(self.faults)

    # ------------------------------------------------------------- energy
    def server_stored_j(self) -> float:
        """Heat held in the servers' coolant nodes (J above 0 °C)."""
        return sum(s.spec.coolant_c_j_k * s.node_c for s in self.servers)

    def energy_balance(self) -> dict[str, float]:
        """kWh since start: IT input, heat to loop, heat to room air, change held in servers."""
        k = 1.0 / 3.6e6
        return {
            "it_kwh": self.it_energy_j * k,
            "loop_kwh": self.heat_to_loop_j * k,
            "room_kwh": self.heat_to_room_j * k,
            "stored_kwh": (self.server_stored_j() - self._stored0_j) * k,
        }

    # ------------------------------------------------------------- views
    def _gpu_view(self, g) -> GpuView:  # noqa: ANN001 - servers.Gpu
        s = g.spec
        total = int(s.memory_gib * GIB)
        return GpuView(
            index=g.index, name=s.name, uuid=g.uuid, temperature_c=g.temp_c, power_w=g.power_w,
            energy_j=g.energy_j, power_limit_w=g.limit_w, power_limit_min_w=s.min_w,
            power_limit_max_w=s.max_w, power_limit_default_w=s.tdp_w,
            utilization_pct=100.0 * g.util, memory_used_b=int(g.mem_frac * total),
            memory_total_b=total, fan_pct=g.fan_pct, throttle_reasons=g.throttle,
        )

    def server_view(self, server_id: str) -> ServerView:
        srv = self._server(server_id)
        s = srv.spec
        n = s.psus
        psus = [PsuView(f"psu{i + 1}", srv.ac_w / n, srv.dc_w / n, srv.input_v,
                        srv.psu_energy_j[i] / 3.6e6) for i in range(n)]
        rpm = srv.fan_frac * s.fan_max_rpm
        return ServerView(
            id=s.id, name=s.name, model=s.model, serial=s.serial, powered=srv.powered,
            reachable=not ("bmc-unreachable" in self.faults and s.id == self.config.fault_server),
            inlet_c=srv.inlet_c, exhaust_c=srv.exhaust_c, cpu_temps_c=list(srv.cpu_temps),
            fans_rpm=[rpm * (1.0 + 0.012 * i) for i in range(s.fans)], psus=psus,
            chassis_power_w=srv.ac_w, energy_kwh=srv.energy_j / 3.6e6, power_limit_w=srv.limit_w,
            power_limit_min_w=s.power_limit_min_w, power_limit_max_w=s.power_limit_max_w,
            gpus=[self._gpu_view(g) for g in srv.gpus], coolant_supply_c=srv.supply_c,
            coolant_return_c=srv.node_c, coolant_flow_lpm=srv.flow_kg_s * 60.0 / RHO_WATER,
            liquid_fraction=srv.liquid_fraction,
        )

    def ups_view(self) -> UpsView:
        u = self.ups
        s = u.spec
        mains = not u.on_battery
        return UpsView(
            id=s.id, model=s.model, on_battery=u.on_battery, low_battery=u.low_battery,
            battery_charge_pct=u.charge, runtime_s=u.runtime_s, battery_voltage_v=u.battery_v,
            battery_temp_c=self.plant.room_c + 4.0, input_voltage_v=s.volts if mains else 0.0,
            input_frequency_hz=s.hz if mains else 0.0, output_voltage_v=u.output_v,
            output_power_w=u.load_w, output_load_pct=100.0 * u.load_w / s.rated_w,
            seconds_on_battery=u.seconds_on_battery, self_test_result=u.test_result,
            alarms=u.alarms(),
        )

    def pdu_view(self) -> PduView:
        p = self.pdu
        s = p.spec
        t = self.t
        tripped = self.config.fault_outlet if "outlet-tripped" in self.faults else None
        outlets = [OutletView(i + 1, self._outlet_names[i], p.is_on(i, t, tripped), p.power_w[i],
                              p.current_a(i), p.energy_j[i] / 3.6e6) for i in range(s.outlets)]
        total = sum(p.power_w)
        return PduView(
            id=s.id, model=s.model, voltage_v=p.volts, power_w=total,
            current_a=total / (p.volts * s.power_factor) if p.volts > 0 else 0.0,
            energy_kwh=sum(p.energy_j) / 3.6e6, outlets=outlets,
        )

    def heat_view(self) -> HeatControllerView:
        pl = self.plant
        j = self._noise[(self._ni + 101) % len(self._noise)] * 0.03
        pts: dict[str, float | int | bool] = {
            "supply_temp": pl.t_hot + j,
            "return_temp": pl.t_ret - j,
            "tank_top_temp": pl.top_meas,
            "tank_mid_temp": pl.t_mid + j,
            "tank_bottom_temp": pl.t_bot - j,
            "outdoor_temp": self.weather.outdoor_c,
            "room_temp": pl.room_c + j,
            "flow": pl.flow_lpm,
            "thermal_power": pl.q_loop,
            "thermal_energy": pl.thermal_energy_j / 3.6e6,
            "dump_power": pl.q_dump,
            "valve_position": pl.valve_pos,
            "valve_setpoint": pl.valve_sp,
            "bypass_position": pl.bypass_pos,
            "bypass_command": pl.bypass_cmd,
            "pump_on": pl.pump_on,
            "supply_setpoint": pl.supply_sp,
            "tank_max_temp": pl.tank_max,
            "pump_fault": pl.pump_fault,
            "overtemp": pl.overtemp,
            "low_flow": pl.low_flow,
            "sensor_fault": pl.sensor_fault,
            "valve_fault": pl.valve_fault,
        }
        return HeatControllerView(pl.spec.id, pts, dict(HEAT_CONTROLLER_IDENTITY))

    def gpu_host_view(self) -> GpuHostView:
        if self.host is None:
            raise ValueError("this demo site has no GPU host")
        h = self.host
        return GpuHostView(h.spec.id, h.spec.driver_version, [self._gpu_view(g) for g in h.gpus])

    def views(self) -> dict[str, object]:
        """Every device's view, keyed by device id."""
        out: dict[str, object] = {s.spec.id: self.server_view(s.spec.id) for s in self.servers}
        out[self.ups.spec.id] = self.ups_view()
        out[self.pdu.spec.id] = self.pdu_view()
        out[self.plant.spec.id] = self.heat_view()
        if self.host is not None:
            out[self.host.spec.id] = self.gpu_host_view()
        return out

    # ------------------------------------------------------------- DemoControl
    def _server(self, server_id: str) -> Server:
        try:
            return self._by_id[server_id]
        except KeyError:
            raise ValueError(f"no demo server {server_id!r}") from None

    def set_power_limit(self, server_id: str, watts: float | None) -> None:
        srv = self._server(server_id)
        if watts is not None:
            s = srv.spec
            if not s.power_limit_min_w <= watts <= s.power_limit_max_w:  # NaN fails too
                raise ValueError(f"{server_id}: power limit {watts} W not in "
                                 f"{s.power_limit_min_w:g}..{s.power_limit_max_w:g} W")
            watts = float(watts)
        srv.limit_w = watts

    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None:
        if self.host is not None and host_id == self.host.spec.id:
            gpus = self.host.gpus
        else:
            gpus = self._server(host_id).gpus
        if not 0 <= gpu_index < len(gpus):
            raise ValueError(f"{host_id}: no GPU {gpu_index}")
        g = gpus[gpu_index]
        if not g.spec.min_w <= watts <= g.spec.max_w:
            raise ValueError(f"{host_id} GPU {gpu_index}: power limit {watts} W not in "
                             f"{g.spec.min_w:g}..{g.spec.max_w:g} W")
        g.limit_w = float(watts)

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        if pdu_id != self.pdu.spec.id:
            raise ValueError(f"no demo PDU {pdu_id!r}")
        self.pdu.command(outlet, command, self.t)

    def ups_self_test(self, ups_id: str) -> None:
        if ups_id != self.ups.spec.id:
            raise ValueError(f"no demo UPS {ups_id!r}")
        self.ups.self_test(self.t)

    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None:
        pl = self.plant
        if controller_id != pl.spec.id:
            raise ValueError(f"no demo heat controller {controller_id!r}")
        if point not in HEAT_WRITABLE:
            raise ValueError(f"{controller_id}: point {point!r} is not writable")
        rng = HEAT_WRITABLE[point]
        if rng is None:
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise ValueError(f"{controller_id}: {point} takes a bool, got {value!r}")
            pl.pump_on = bool(value)
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{controller_id}: {point} takes a number, got {value!r}")
        lo, hi = rng
        if not lo <= value <= hi:
            raise ValueError(f"{controller_id}: {point}={value} not in {lo:g}..{hi:g}")
        v = float(value)
        if point == "valve_setpoint":
            pl.valve_sp = v
            pl.valve_manual = True
        elif point == "bypass_command":
            pl.bypass_cmd = v
        elif point == "supply_setpoint":
            pl.supply_sp = v
        else:
            pl.tank_max = v


__all__ = ["DemoConfig", "DemoSite", "FAULTS", "HEAT_WRITABLE", "CP_WATER"]
