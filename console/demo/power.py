"""Power path: mains -> UPS (battery) -> switched, metered PDU outlets -> server PSUs.

- UPS: online double-conversion (~94 % efficient). On mains it floats/recharges the battery
  (full from empty in about three hours, tapering above 90 %); on mains loss it feeds the
  load from the battery, whose charge falls with load / (usable energy x inverter efficiency);
  runtime is the remaining energy over the load, shortened at high load (Peukert-like). At 0 %
  the output goes off, and comes back with the mains. A self-test runs 10 s.
- PDU: outlets switch on/off/reboot (off 5 s, then on); each outlet meters its load's AC power,
  current at a 0.97 power factor and energy. The PDU sees the UPS output voltage.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class UpsSpec:
    id: str = "ups1"
    model: str = "Smart-UPS SRT 5000"
    rated_w: float = 4500.0
    battery_wh: float = 1000.0  # usable
    cells: int = 48  # 96 V string
    efficiency: float = 0.94
    recharge_h: float = 3.0
    volts: float = 230.0
    hz: float = 50.0


@dataclasses.dataclass(frozen=True, slots=True)
class PduSpec:
    id: str = "pdu1"
    model: str = "AP8641"
    outlets: int = 8
    power_factor: float = 0.97
    reboot_s: float = 5.0


class Ups:
    __slots__ = ("spec", "charge", "on_battery", "output_on", "seconds_on_battery", "load_w",
                 "test_result", "test_until", "input_w", "loss_w")

    def __init__(self, spec: UpsSpec) -> None:
        self.spec = spec
        self.charge = 100.0
        self.on_battery = False
        self.output_on = True
        self.seconds_on_battery = 0.0
        self.load_w = 0.0
        self.test_result = "none"
        self.test_until = -1.0
        self.input_w = self.loss_w = 0.0

    def begin(self, mains: bool) -> None:
        """Before the load steps: is the output live (mains, or a battery with charge left)?"""
        if mains:
            self.on_battery = False
            self.output_on = True
        else:
            self.on_battery = True
            if self.charge <= 0.0:
                self.output_on = False

    def finish(self, dt: float, t: float, load_w: float) -> None:
        """After the load stepped: charge or discharge the battery for this step's load."""
        s = self.spec
        self.load_w = load_w if self.output_on else 0.0
        self.loss_w = self.load_w * (1.0 / s.efficiency - 1.0) + 15.0
        if not self.on_battery:
            self.seconds_on_battery = 0.0
            charger = 0.0
            if self.charge < 100.0:
                rate = 100.0 / (s.recharge_h * 3600.0) * (1.0 if self.charge < 90.0 else 0.35)
                self.charge = min(100.0, self.charge + rate * dt)
                charger = s.battery_wh * 3600.0 * rate / 100.0 / 0.85
            self.input_w = self.load_w + self.loss_w + charger
            if self.test_result == "in_progress" and t >= self.test_until:
                self.test_result = "pass" if self.charge >= 30.0 else "fail"
        else:
            self.seconds_on_battery += dt
            self.input_w = 0.0
            if self.test_result == "in_progress":
                self.test_result = "fail"
            if self.output_on:
                used = (self.load_w + self.loss_w) * dt / (s.battery_wh * 3600.0) * 100.0
                self.charge = max(0.0, self.charge - used)

    def self_test(self, t: float) -> None:
        if self.on_battery:
            raise ValueError(f"{self.spec.id}: cannot self-test while on battery")
        self.test_result = "in_progress"
        self.test_until = t + 10.0

    @property
    def runtime_s(self) -> float:
        s = self.spec
        load = self.load_w + self.loss_w
        if load < 50.0:
            load = 50.0
        frac = self.load_w / s.rated_w
        rt = s.battery_wh * 3600.0 * self.charge / 100.0 / load * (1.0 - 0.25 * min(frac, 1.0))
        return min(rt, 10 * 3600.0)

    @property
    def battery_v(self) -> float:
        cells = self.spec.cells
        if not self.on_battery:
            return cells * (2.27 if self.charge >= 99.9 else 2.35)  # float / bulk charge
        sag = 0.08 * self.load_w / self.spec.rated_w
        return cells * (1.90 + 0.22 * self.charge / 100.0 - sag)

    @property
    def output_v(self) -> float:
        return self.spec.volts if self.output_on else 0.0

    def alarms(self) -> list[str]:
        a = []
        if self.on_battery:
            a += ["OnBattery", "InputBad"]
        if self.low_battery:
            a.append("LowBattery")
        if self.charge <= 0.0:
            a.append("DepletedBattery")
        if not self.output_on:
            a.append("UpsOutputOff")
        if self.load_w > self.spec.rated_w:
            a.append("OutputOverload")
        if self.test_result == "in_progress":
            a.append("TestInProgress")
        elif self.test_result == "fail":
            a.append("DiagnosticTestFailed")
        return a

    @property
    def low_battery(self) -> bool:
        return self.charge < 25.0 or (self.on_battery and self.runtime_s < 300.0)


class Pdu:
    __slots__ = ("spec", "commanded", "reboot_until", "power_w", "energy_j", "volts")

    def __init__(self, spec: PduSpec) -> None:
        self.spec = spec
        self.commanded = [True] * spec.outlets
        self.reboot_until = [-1.0] * spec.outlets
        self.power_w = [0.0] * spec.outlets
        self.energy_j = [0.0] * spec.outlets
        self.volts = 0.0

    def command(self, outlet: int, command: str, t: float) -> None:
        if not 1 <= outlet <= self.spec.outlets:
            raise ValueError(f"{self.spec.id}: outlet {outlet} not in 1..{self.spec.outlets}")
        i = outlet - 1
        if command == "on":
            self.commanded[i] = True
            self.reboot_until[i] = -1.0
        elif command == "off":
            self.commanded[i] = False
            self.reboot_until[i] = -1.0
        elif command == "reboot":
            self.commanded[i] = True
            self.reboot_until[i] = t + self.spec.reboot_s
        else:
            raise ValueError(f"{self.spec.id}: outlet command {command!r} not on/off/reboot")

    def is_on(self, i: int, t: float, tripped: int | None) -> bool:
        """Outlet index ``i`` (0-based) relay state."""
        return self.commanded[i] and t >= self.reboot_until[i] and tripped != i + 1

    def current_a(self, i: int) -> float:
        return self.power_w[i] / (self.volts * self.spec.power_factor) if self.volts > 0 else 0.0
