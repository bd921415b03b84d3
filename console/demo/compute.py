"""Servers and GPUs: utilisation -> component power -> PSU losses -> AC input -> heat split.

Physics, per server:
- DC power = static base (board, memory, drives) + fans + CPUs + GPUs. Each component draws
  idle + utilisation x (TDP - idle); a GPU never exceeds its power limit (NVML SwPowerCap).
- A GPU runs into its slowdown temperature: the driver lowers clocks so that
  T_gpu = T_coolant + R_th x P stays at ``T_SLOW`` (SwThermal); when even idle power is too hot
  it clamps hard (HwSlowdown + HwThermal).
- The BMC's chassis power limit caps AC input: CPU/GPU dynamic power is scaled down to fit.
- Two load-sharing PSUs lose ``a + b P + c P^2`` each (80 PLUS Platinum-like: ~87 % at 10 %
  load, ~94.5 % at half load), so AC input = DC + losses.
- Every watt of AC input becomes heat. Cold plates take ``plate_capture`` of the CPU/GPU power
  into the server's coolant volume (one well-mixed node of heat capacity ``coolant_c_j_k``);
  the loop carries it away (m c_p (T_node - T_supply)) and a small chassis conductance, which
  grows with fan speed, leaks some to the room air. Everything else (base, fans, PSU losses)
  goes to the room air. The node is integrated with backward Euler, so any step is stable and
  the split closes exactly: q_gen dt = C dT + (q_loop + q_leak) dt.
"""
from __future__ import annotations

import dataclasses
import math
import uuid

from console.demo.workload import WorkloadSpec

CP_WATER = 4180.0  # J/(kg K)
CP_AIR = 1005.0
T_SLOW = 87.0  # GPU software thermal slowdown (°C)
THR_IDLE, THR_SW_POWER, THR_HW_SLOW, THR_SW_THERMAL, THR_HW_THERMAL = 0x1, 0x4, 0x8, 0x20, 0x40
_NS = uuid.UUID("6f1c0a52-5b0e-4c47-9a55-2a4e0a7b9d11")


@dataclasses.dataclass(frozen=True, slots=True)
class GpuSpec:
    name: str = "NVIDIA L40S"
    tdp_w: float = 350.0  # default power limit
    min_w: float = 100.0
    max_w: float = 350.0
    idle_w: float = 30.0
    memory_gib: float = 48.0
    r_th_k_w: float = 0.06  # die to coolant (cold plate) or to room air (fan-cooled)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSpec:
    id: str
    name: str
    model: str = "HR-2U-DLC"
    serial: str = ""
    outlet: int = 1  # PDU outlet feeding it
    gpus: tuple[GpuSpec, ...] = (GpuSpec(), GpuSpec())
    cpus: int = 2
    cpu_tdp_w: float = 150.0
    cpu_idle_w: float = 6.0
    cpu_r_th_k_w: float = 0.15
    base_w: float = 35.0
    psus: int = 2
    psu_loss_a_w: float = 6.0  # per PSU: fixed, linear and quadratic loss terms
    psu_loss_b: float = 0.025
    psu_loss_c_per_w: float = 2.5e-5
    plate_capture: float = 0.85  # share of CPU/GPU heat taken by the cold plates
    coolant_c_j_k: float = 15000.0  # coolant + plates + manifolds in the chassis
    leak_ua_w_k: tuple[float, float] = (0.5, 4.0)  # coolant node -> air, fans slow .. full
    power_limit_min_w: float = 300.0
    power_limit_max_w: float = 1600.0
    fans: int = 4
    fan_max_rpm: float = 16000.0
    inlet_offset_c: float = 0.5  # inlet above room air (recirculation)
    workload: WorkloadSpec = WorkloadSpec()


def psu_loss(p_dc_each: float, a: float, b: float, c: float) -> float:
    return a + b * p_dc_each + c * p_dc_each * p_dc_each


def gpu_uuid(machine: str, index: int) -> str:
    return f"GPU-{uuid.uuid5(_NS, f'{machine}/{index}')}"


class Gpu:
    """One GPU's state; power/temperature are set by the machine that holds it."""

    __slots__ = ("spec", "index", "uuid", "limit_w", "power_w", "temp_c", "energy_j", "util",
                 "mem_frac", "throttle", "fan_pct")

    def __init__(self, spec: GpuSpec, machine: str, index: int, temp_c: float) -> None:
        self.spec = spec
        self.index = index
        self.uuid = gpu_uuid(machine, index)
        self.limit_w = spec.tdp_w
        self.power_w = 0.0
        self.temp_c = temp_c
        self.energy_j = 0.0
        self.util = 0.0
        self.mem_frac = 0.0
        self.throttle = 0
        self.fan_pct: float | None = None

    def demand(self, util: float, sink_c: float) -> float:
        """Power the GPU draws at ``util`` with its die ``R_th`` above ``sink_c``."""
        s = self.spec
        p = s.idle_w + util * (s.tdp_w - s.idle_w)
        thr = THR_IDLE if util < 0.02 else 0
        if p > self.limit_w:
            p = self.limit_w
            thr |= THR_SW_POWER
        p_th = (T_SLOW - sink_c) / s.r_th_k_w
        if p > p_th:
            if p_th < s.idle_w:
                p = 0.7 * s.idle_w
                thr |= THR_HW_SLOW | THR_HW_THERMAL
            else:
                p = p_th
                thr |= THR_SW_THERMAL
        self.util = util
        self.throttle = thr
        self.power_w = p
        return p


class Server:
    """A liquid-cooled GPU server on one PDU outlet."""

    __slots__ = ("spec", "gpus", "limit_w", "powered", "node_c", "dc_w", "ac_w", "cpu_w",
                 "cpu_temps", "fan_frac", "energy_j", "psu_energy_j", "q_gen", "q_loop",
                 "q_leak", "q_room", "flow_kg_s", "supply_c", "inlet_c", "exhaust_c",
                 "input_v", "capped")

    def __init__(self, spec: ServerSpec, start_c: float) -> None:
        self.spec = spec
        self.gpus = [Gpu(g, spec.id, i, start_c) for i, g in enumerate(spec.gpus)]
        self.limit_w: float | None = None
        self.powered = True
        self.node_c = start_c
        self.dc_w = self.ac_w = self.cpu_w = 0.0
        self.cpu_temps = [start_c] * spec.cpus
        self.fan_frac = 0.3
        self.energy_j = 0.0
        self.psu_energy_j = [0.0] * spec.psus
        self.q_gen = self.q_loop = self.q_leak = self.q_room = 0.0
        self.flow_kg_s = 0.0
        self.supply_c = self.inlet_c = self.exhaust_c = start_c
        self.input_v = 0.0
        self.capped = False

    # --------------------------------------------------------------- power
    def dc_to_ac(self, dc: float) -> float:
        s = self.spec
        each = dc / s.psus
        return dc + s.psus * psu_loss(each, s.psu_loss_a_w, s.psu_loss_b, s.psu_loss_c_per_w)

    def ac_to_dc(self, ac: float) -> float:
        """Inverse of ``dc_to_ac`` (the positive root of the per-PSU quadratic)."""
        s = self.spec
        a, b, c = s.psu_loss_a_w, s.psu_loss_b, s.psu_loss_c_per_w
        ac_each = ac / s.psus
        disc = (1.0 + b) ** 2 - 4.0 * c * (a - ac_each)
        return max(0.0, s.psus * (-(1.0 + b) + math.sqrt(max(disc, 0.0))) / (2.0 * c))

    def step(self, dt: float, powered: bool, volts: float, gpu_util: float, cpu_util: float,
             mem_frac: float, supply_c: float, flow_kg_s: float, room_c: float) -> None:
        """Advance ``dt`` s with loop supply ``supply_c`` at ``flow_kg_s`` through the plates."""
        s = self.spec
        self.powered = powered
        self.input_v = volts if powered else 0.0
        self.supply_c = supply_c
        self.flow_kg_s = flow_kg_s
        inlet = room_c + s.inlet_offset_c
        self.inlet_c = inlet
        node = self.node_c
        gpus = self.gpus
        self.capped = False
        if powered:
            gsum = gidle = 0.0
            for g in gpus:
                gsum += g.demand(gpu_util, node)
                g.mem_frac = mem_frac
                gidle += g.spec.idle_w
            cpu_each = s.cpu_idle_w + cpu_util * (s.cpu_tdp_w - s.cpu_idle_w)
            csum = cpu_each * s.cpus
            fan_w = s.fans * (1.5 + 10.0 * self.fan_frac ** 3)
            dc = s.base_w + fan_w + gsum + csum
            ac = self.dc_to_ac(dc)
            lim = self.limit_w
            if lim is not None and ac > lim:
                dyn = (gsum - gidle) + (csum - s.cpu_idle_w * s.cpus)
                if dyn > 0.0:
                    floor = dc - dyn
                    x = (self.ac_to_dc(lim) - floor) / dyn
                    x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
                    gsum = 0.0
                    for g in gpus:
                        g.power_w = g.spec.idle_w + x * (g.power_w - g.spec.idle_w)
                        g.throttle |= THR_SW_POWER
                        gsum += g.power_w
                    cpu_each = s.cpu_idle_w + x * (cpu_each - s.cpu_idle_w)
                    csum = cpu_each * s.cpus
                    dc = s.base_w + fan_w + gsum + csum
                    ac = self.dc_to_ac(dc)
                    self.capped = True
            self.cpu_w = cpu_each
            q_gen = s.plate_capture * (gsum + csum)
        else:
            for g in gpus:
                g.power_w = 0.0
                g.util = 0.0
                g.mem_frac = 0.0
                g.throttle = 0
            dc = ac = q_gen = 0.0
            self.cpu_w = 0.0
        # coolant node, backward Euler against the loop supply and the room air
        lo, hi = s.leak_ua_w_k
        g_leak = lo + (hi - lo) * self.fan_frac
        g_loop = flow_kg_s * CP_WATER
        c = s.coolant_c_j_k
        new = (c * node + dt * (q_gen + g_loop * supply_c + g_leak * inlet)) / (c + dt * (g_loop + g_leak))
        self.node_c = new
        q_loop = g_loop * (new - supply_c)
        q_leak = g_leak * (new - inlet)
        self.q_gen, self.q_loop, self.q_leak = q_gen, q_loop, q_leak
        air = ac - q_gen
        self.q_room = air + q_leak
        self.dc_w, self.ac_w = dc, ac
        # component temperatures follow the coolant node
        for g in gpus:
            g.temp_c = new + g.spec.r_th_k_w * g.power_w
            g.energy_j += g.power_w * dt
        ct = new + s.cpu_r_th_k_w * self.cpu_w
        temps = self.cpu_temps
        for i in range(len(temps)):
            temps[i] = ct + 0.7 * i
        # fans: air heat and a hot coolant node push them up (explicit, next step's leak)
        if powered:
            want = 0.2 + 0.5 * (self.q_room / 400.0) + max(0.0, (new - 55.0) / 15.0)
            self.fan_frac = 0.2 if want < 0.2 else (1.0 if want > 1.0 else want)
            m_air = 0.012 + 0.09 * self.fan_frac
            self.exhaust_c = inlet + self.q_room / (m_air * CP_AIR)
        else:
            self.fan_frac = 0.0
            self.exhaust_c = inlet
        # counters
        self.energy_j += ac * dt
        share = ac * dt / s.psus
        pe = self.psu_energy_j
        for i in range(len(pe)):
            pe[i] += share

    @property
    def liquid_fraction(self) -> float:
        if self.ac_w < 1.0:
            return 0.0
        f = self.q_loop / self.ac_w
        return 0.0 if f < 0.0 else (1.0 if f > 1.0 else f)


@dataclasses.dataclass(frozen=True, slots=True)
class GpuHostSpec:
    """The workstation the console runs on: fan-cooled GPUs, all heat to the room, wall power."""

    id: str = "gpuhost"
    driver_version: str = "550.127.05"
    gpus: tuple[GpuSpec, ...] = (
        GpuSpec("NVIDIA RTX 6000 Ada Generation", 300.0, 100.0, 300.0, 20.0, 48.0, 0.12),
        GpuSpec("NVIDIA RTX 6000 Ada Generation", 300.0, 100.0, 300.0, 20.0, 48.0, 0.12),
    )
    base_w: float = 70.0
    psu_eff: float = 0.92
    card_offset_c: float = 8.0  # air inside the case above room
    workload: WorkloadSpec = WorkloadSpec(base_util=0.02, diurnal_util=0.3, jobs_per_h=0.1,
                                          job_mean_h=2.0)


class GpuHost:
    __slots__ = ("spec", "gpus", "ac_w", "energy_j")

    def __init__(self, spec: GpuHostSpec, start_c: float) -> None:
        self.spec = spec
        self.gpus = [Gpu(g, spec.id, i, start_c) for i, g in enumerate(spec.gpus)]
        self.ac_w = 0.0
        self.energy_j = 0.0

    def step(self, dt: float, util: float, mem_frac: float, room_c: float) -> None:
        s = self.spec
        case = room_c + s.card_offset_c
        total = s.base_w
        for g in self.gpus:
            p = g.demand(util, case)
            g.mem_frac = mem_frac
            g.temp_c = case + g.spec.r_th_k_w * p
            g.energy_j += p * dt
            f = 30.0 + 70.0 * max(0.0, (g.temp_c - 40.0) / 45.0)
            g.fan_pct = 100.0 if f > 100.0 else f
            total += p
        self.ac_w = total / s.psu_eff
        self.energy_j += self.ac_w * dt
