"""One demo server behind the demo BMC, without the physics: a fixed view tests can change
and power-limit writes that are range-checked and stored (the demo BMC and validator tests)."""
from __future__ import annotations

import dataclasses
import threading

from protocols.demo_views import GpuView, PsuView, ServerView

USER, PASSWORD = "admin", "s3cret-pw"


def make_view() -> ServerView:
    gpus = [
        GpuView(index=i, name="NVIDIA H100 80GB HBM3", uuid=f"GPU-1b2c3d4e-0000-4000-8000-00000000000{i}",
                temperature_c=55.5 + i, power_w=310.25 + 10 * i, energy_j=1.5e6 + i,
                power_limit_w=650.0, power_limit_min_w=200.0, power_limit_max_w=700.0,
                power_limit_default_w=700.0, utilization_pct=87.0 - i, memory_used_b=10 << 30,
                memory_total_b=80 << 30, fan_pct=None, throttle_reasons=0x4 if i == 0 else 0)
        for i in range(2)
    ]
    return ServerView(
        id="srv1", name="Rack server 1", model="HR-2U-H100", serial="SN-0001", powered=True,
        reachable=True, inlet_c=21.5, exhaust_c=38.25, cpu_temps_c=[61.0, 63.5],
        fans_rpm=[8200.0, 8350.0, 7900.0],
        psus=[PsuView("PSU1", 905.5, 860.0, 231.2, 1234.5), PsuView("PSU2", 899.0, 851.5, 230.8, 1200.25)],
        chassis_power_w=1804.5, energy_kwh=2434.75, power_limit_w=1800.0, power_limit_min_w=600.0,
        power_limit_max_w=2400.0, gpus=gpus, coolant_supply_c=35.0, coolant_return_c=45.5,
        coolant_flow_lpm=6.0, liquid_fraction=0.7,
    )


class FakeModel:
    """One server whose power-limit writes are range-checked and stored, and whose view
    (reachability included) tests can change. Implements DemoControl."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view = make_view()
        self.calls: list[tuple[str, float | None]] = []

    def view(self) -> ServerView:
        with self._lock:
            return dataclasses.replace(self._view)

    def update(self, **changes: object) -> None:
        with self._lock:
            self._view = dataclasses.replace(self._view, **changes)

    def set_power_limit(self, server_id: str, watts: float | None) -> None:
        self.calls.append((server_id, watts))
        with self._lock:
            v = self._view
            if server_id != v.id:
                raise ValueError(f"no server {server_id}")
            if watts is not None and not v.power_limit_min_w <= watts <= v.power_limit_max_w:
                raise ValueError(f"{watts} W outside {v.power_limit_min_w}..{v.power_limit_max_w} W")
            self._view = dataclasses.replace(v, power_limit_w=watts)

    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None:
        raise ValueError("not a GPU host")

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        raise ValueError("not a PDU")

    def ups_self_test(self, ups_id: str) -> None:
        raise ValueError("not a UPS")

    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None:
        raise ValueError("not a heat controller")
