"""A stand-in for the demo model behind the SNMP agent: it serves UPS and PDU views and
implements DemoControl, with writes landing in the views as they do in the model."""
from __future__ import annotations

import dataclasses
from typing import Any

from protocols.demo_views import OutletView, PduView, UpsView


class ViewSite:
    def __init__(self, ups: UpsView, pdu: PduView) -> None:
        self.ups = ups
        self.pdu = pdu
        self.calls: list[tuple[Any, ...]] = []

    def ups_view(self) -> UpsView:
        return dataclasses.replace(self.ups, alarms=list(self.ups.alarms))

    def pdu_view(self) -> PduView:
        return dataclasses.replace(self.pdu, outlets=[dataclasses.replace(o) for o in self.pdu.outlets])

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        self.calls.append(("set_outlet", pdu_id, outlet, command))
        if command in ("on", "off"):
            self.pdu.outlets[outlet - 1].on = command == "on"

    def ups_self_test(self, ups_id: str) -> None:
        self.calls.append(("ups_self_test", ups_id))
        self.ups.self_test_result = "in_progress"

    def set_power_limit(self, server_id: str, watts: float | None) -> None: ...
    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None: ...
    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None: ...


RO, RW = "demo-ro", "demo-rw"
USER, AUTH, PRIV = "heatrack", "authpass123", "privpass123"


def demo_views() -> ViewSite:
    """A UPS on battery with alarms and an 8-outlet PDU with some outlets off."""
    ups = UpsView(id="ups1", model="Smart-UPS SRT 3000", on_battery=True, low_battery=True,
                  battery_charge_pct=23.0, runtime_s=420.0, battery_voltage_v=48.2,
                  battery_temp_c=29.0, input_voltage_v=0.0, input_frequency_hz=0.0,
                  output_voltage_v=230.0, output_power_w=1384.0, output_load_pct=46.0,
                  seconds_on_battery=95.0, self_test_result="none",
                  alarms=["OnBattery", "LowBattery"])
    outlets = [OutletView(number=i, name=f"srv{i}", on=i % 3 != 0, power_w=40.0 * i,
                          current_a=0.2 * i, energy_kwh=1.5 * i) for i in range(1, 9)]
    pdu = PduView(id="pdu1", model="AP8641", voltage_v=231.0, power_w=sum(o.power_w for o in outlets),
                  current_a=round(sum(o.current_a for o in outlets), 1),
                  energy_kwh=sum(o.energy_kwh for o in outlets), outlets=outlets)
    return ViewSite(ups, pdu)
