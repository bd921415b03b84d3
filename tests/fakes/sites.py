"""Minimal valid site files around [[devices]] blocks, and a store that records what the engine gives it."""
from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterable
from typing import Any

from console.site import Site, parse_site
from protocols.base import Reading


def site_toml(devices: Iterable[str]) -> str:
    """A minimal valid site around the given [[devices]] blocks."""
    devs = "\n".join(devices)
    return f"""
[site]
name = "test"
{devs}
[heat_path]
servers = ["srv1"]
loop = "heat1"
tank = {{ volume_l = 100 }}
consumers = [{{ name = "radiators", kind = "space_heating" }}]
[limits]
max_loop_temp_c = 65
max_tank_temp_c = 75
min_flow_lpm = 4
max_circuit_current_a = 16
[tariffs]
electricity_price_per_kwh = 0.2
displaced_fuel = "gas"
fuel_price_per_kwh = 0.06
displaced_efficiency = 0.85
co2_grid_kg_per_kwh = 0.2
co2_fuel_kg_per_kwh = 0.18
[comfort]
min_room_temp_c = 19
max_room_temp_c = 23
"""


def device(dev_id: str, kind: str, protocol: str, port: int, extra: str = "") -> str:
    return (f'[[devices]]\nid = "{dev_id}"\nkind = "{kind}"\nprotocol = "{protocol}"\n'
            f'address = "127.0.0.1:{port}"\npoll_interval = "50ms"\ntimeout = "40ms"\n{extra}\n')


def three_device_site(extra_srv1: str = "") -> Site:
    return parse_site(site_toml([
        device("srv1", "server", "redfish", 1, extra_srv1),
        device("ups1", "ups", "snmp", 2),
        device("heat1", "heat_controller", "modbus", 3),
    ]))


class FakeStore:
    """Same methods as console.store.Store; records what it is given (thread-safe)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.devices: list[tuple[str, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def add_readings(self, readings: Iterable[Reading]) -> None:
        with self.lock:
            self.readings.extend(readings)

    def register_device(self, device_id: str, kind: str, protocol: str, address: str, name: str = "") -> None:
        self.devices.append((device_id, kind, protocol, address))

    def add_event(self, ts: float, severity: str, device_id: str, kind: str,
                  message: str) -> concurrent.futures.Future[int]:
        with self.lock:
            self.events.append((ts, severity, device_id, kind, message))
        f: concurrent.futures.Future[int] = concurrent.futures.Future()
        f.set_result(len(self.events))
        return f

    def by_device(self) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for r in self.readings:
                out[r.device_id] = out.get(r.device_id, 0) + 1
            return out
