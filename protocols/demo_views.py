"""Plain-data views of simulated equipment, the contract between the demo model and the
demo protocol servers beside each client.

The demo model (console/demo) produces these every step; each demo server
(protocols/*/server.py, protocols/snmp/agent.py, protocols/nvml/sim.py) renders them in its
protocol and forwards writes to a ``DemoControl``. Real equipment never sees these types.
Units are the canonical ones of protocols.base.QUANTITY_UNITS.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol


@dataclasses.dataclass(slots=True)
class GpuView:
    index: int
    name: str  # "NVIDIA H100 80GB HBM3"
    uuid: str
    temperature_c: float
    power_w: float
    energy_j: float  # since "driver load" (NVML: mJ; Redfish EnergyJoules)
    power_limit_w: float
    power_limit_min_w: float
    power_limit_max_w: float
    power_limit_default_w: float
    utilization_pct: float
    memory_used_b: int
    memory_total_b: int
    fan_pct: float | None  # None: passive (NotSupported)
    throttle_reasons: int  # NVML clock-event bitmask (0x4 SwPowerCap, 0x20 SwThermal, ...)


@dataclasses.dataclass(slots=True)
class PsuView:
    id: str
    input_w: float
    output_w: float
    input_v: float
    energy_kwh: float


@dataclasses.dataclass(slots=True)
class ServerView:
    id: str  # "srv1"
    name: str
    model: str
    serial: str
    powered: bool  # its PDU outlet is on
    reachable: bool  # False under the bmc-unreachable fault: the BMC stops answering
    inlet_c: float
    exhaust_c: float
    cpu_temps_c: list[float]
    fans_rpm: list[float]
    psus: list[PsuView]
    chassis_power_w: float  # input power at the PSUs
    energy_kwh: float  # cumulative chassis input energy
    power_limit_w: float | None  # None: capping disabled
    power_limit_min_w: float
    power_limit_max_w: float
    gpus: list[GpuView]
    coolant_supply_c: float  # to the cold plates
    coolant_return_c: float
    coolant_flow_lpm: float
    liquid_fraction: float  # share of heat into the water loop (0..1)


@dataclasses.dataclass(slots=True)
class UpsView:
    id: str
    model: str
    on_battery: bool
    low_battery: bool
    battery_charge_pct: float
    runtime_s: float
    battery_voltage_v: float
    battery_temp_c: float
    input_voltage_v: float
    input_frequency_hz: float
    output_voltage_v: float
    output_power_w: float
    output_load_pct: float
    seconds_on_battery: float
    self_test_result: str  # "none" | "in_progress" | "pass" | "fail"
    alarms: list[str]  # UPS-MIB well-known alarm names: "OnBattery", "LowBattery", ...


@dataclasses.dataclass(slots=True)
class OutletView:
    number: int  # 1-based
    name: str
    on: bool
    power_w: float
    current_a: float
    energy_kwh: float


@dataclasses.dataclass(slots=True)
class PduView:
    id: str
    model: str  # "AP8641"
    voltage_v: float
    power_w: float
    current_a: float
    energy_kwh: float
    outlets: list[OutletView]


@dataclasses.dataclass(slots=True)
class HeatControllerView:
    """Values of the default heat-controller profile, keyed by point name
    (resources/profiles/heat/heatrack-default.toml), in engineering units."""

    id: str
    points: dict[str, float | int | bool]
    # Identity points (model, serial, firmware_version): fixed for the device's life.
    identity: dict[str, str | float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class GpuHostView:
    id: str
    driver_version: str
    gpus: list[GpuView]


class DemoControl(Protocol):
    """Writes that demo servers forward to the model. Each raises ValueError when out of range
    (the server turns that into its protocol's error) and returns nothing: the server reads
    back from the next view."""

    def set_power_limit(self, server_id: str, watts: float | None) -> None: ...
    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None: ...
    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        """command: "on" | "off" | "reboot"."""
    def ups_self_test(self, ups_id: str) -> None: ...
    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None: ...
