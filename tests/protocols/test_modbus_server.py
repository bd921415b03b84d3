"""The profile-driven demo heat-controller server: serves get_points(), forwards valid writes,
answers Modbus exceptions for the rest. Checked with ModbusSource and with a raw pymodbus client."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from protocols.base import DeviceSpec, Reading, SetBypass, SetPump, SetSetpoint
from protocols.modbus.client import ModbusSource
from protocols.modbus.profile import encode, load_profile
from protocols.modbus.server import HeatControllerServer

PROFILE = load_profile("heatrack-default")


class Plant:
    """A stand-in for the demo model: a dict of points and a write log; rejects like DemoControl."""

    def __init__(self) -> None:
        self.points: dict[str, Any] = {
            "supply_temp": 44.31, "return_temp": 37.02, "tank_top_temp": 58.2, "flow": 11.5,
            "thermal_power": 2950.0, "thermal_energy": 87.65, "valve_position": 40.0,
            "valve_setpoint": 40.0, "supply_setpoint": 50.0, "tank_max_temp": 80.0,
            "pump_on": True, "outdoor_temp": -4.5, "low_flow": True, "model": "HR-DEMO",
        }
        self.writes: list[tuple[str, Any]] = []
        self.requests = 0

    def get(self) -> dict[str, Any]:
        self.requests += 1
        return self.points

    def write(self, name: str, value: Any) -> None:
        if name == "tank_max_temp" and value > 82:
            raise ValueError("model refuses above 82 °C")
        self.writes.append((name, value))
        self.points[name] = value


def run(body: Callable[[HeatControllerServer, Plant, int], Awaitable[None]]) -> Plant:
    plant = Plant()

    async def go() -> None:
        server = HeatControllerServer(PROFILE, plant.get, plant.write)
        port = await server.start()
        assert port > 0
        try:
            await body(server, plant, port)
        finally:
            await server.stop()

    asyncio.run(go())
    return plant


def _source(port: int) -> ModbusSource:
    return ModbusSource(DeviceSpec(id="demo-heat", kind="heat_controller", protocol="modbus",
                                   address=f"127.0.0.1:{port}", profile="heatrack-default", timeout_s=2))


def _by_key(readings: list[Reading]) -> dict[tuple[str, str], Any]:
    return {(r.channel, r.quantity): r.value for r in readings}


def test_serves_current_points_and_forwards_writes() -> None:
    async def body(server: HeatControllerServer, plant: Plant, port: int) -> None:
        src = _source(port)
        try:
            got = _by_key(await src.poll())
            for name in ("supply_temp", "return_temp", "flow", "thermal_energy", "outdoor_temp"):
                p = PROFILE.point(name)
                assert got[(p.channel, p.quantity)] == pytest.approx(plant.points[name], abs=p.scale / 2 + 1e-4)
            assert got[("pump", "state")] == "on"
            assert got[("low_flow", "alarm")] == "active" and got[("overtemp", "alarm")] == "clear"
            # the model moves on: the next poll sees it
            plant.points["supply_temp"] = 47.5
            plant.points["low_flow"] = False
            got = _by_key(await src.poll())
            assert got[("supply", "temperature")] == pytest.approx(47.5)
            assert got[("low_flow", "alarm")] == "clear"
            res = await src.perform(SetSetpoint("supply_setpoint", 62.0))
            assert res.ok and res.readback == pytest.approx(62.0)
            res = await src.perform(SetPump(False))
            assert res.ok and res.readback == "off"
            res = await src.perform(SetBypass(12.34))
            assert res.ok and res.readback == pytest.approx(12.34)
            assert (await src.identity())["model"] == "HR-DEMO"
        finally:
            await src.close()

    plant = run(body)
    assert [n for n, _ in plant.writes] == ["supply_setpoint", "pump_on", "bypass_command"]
    assert plant.writes[1] == ("pump_on", False)
    assert plant.writes[2][1] == pytest.approx(12.34)


def test_rejects_read_only_partial_and_out_of_range_writes() -> None:
    async def body(server: HeatControllerServer, plant: Plant, port: int) -> None:
        c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=1)
        await c.connect()
        try:
            sp = PROFILE.point("supply_setpoint")
            tm = PROFILE.point("tank_max_temp")
            cases = [
                (c.write_registers(0, [100, 200, *encode(sp, 50.0)], device_id=1), None),  # two %s + setpoint
                (c.write_registers(sp.address, encode(sp, 90.0), device_id=1), 3),  # above max 70
                (c.write_register(sp.address, 0x4248, device_id=1), 2),  # half a float32
                (c.write_register(tm.address, encode(tm, 84.0)[0], device_id=1), 3),  # model refuses
                (c.write_register(0, 10001, device_id=1), 3),  # valve 100.01 %
                (c.write_registers(4, [800, 0], device_id=1), 2),  # runs past the last point
            ]
            for request, code in cases:
                rr = await request
                if code is None:
                    assert not rr.isError(), rr
                else:
                    assert rr.isError() and rr.exception_code == code, rr
            rr = await c.read_input_registers(0, count=1, device_id=1)
            assert rr.registers == encode(PROFILE.point("supply_temp"), plant.points["supply_temp"])
        finally:
            c.close()

    plant = run(body)
    assert [n for n, _ in plant.writes] == ["valve_setpoint", "bypass_command", "supply_setpoint"]
    assert plant.writes[0][1] == pytest.approx(1.0) and plant.writes[1][1] == pytest.approx(2.0)


def test_device_failure_when_the_model_breaks() -> None:
    async def body(server: HeatControllerServer, plant: Plant, port: int) -> None:
        def broken() -> dict[str, Any]:
            raise RuntimeError("model crashed")
        server.get_points = broken
        c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=1)
        await c.connect()
        try:
            rr = await c.read_input_registers(0, count=2, device_id=1)
            assert rr.isError() and rr.exception_code == 4
        finally:
            c.close()

    run(body)


def test_for_view_wires_a_heat_controller_view_to_demo_control() -> None:
    from protocols.demo_views import HeatControllerView

    view = HeatControllerView(id="heat1", points={"supply_temp": 41.5, "tank_max_temp": 75.0})
    calls: list[tuple[str, str, Any]] = []

    class Control:
        def heat_write(self, controller_id: str, point: str, value: Any) -> None:
            calls.append((controller_id, point, value))
            view.points[point] = value

    async def go() -> None:
        server = HeatControllerServer.for_view(lambda: view, Control())  # type: ignore[arg-type]
        port = await server.start()
        src = _source(port)
        try:
            assert _by_key(await src.poll())[("supply", "temperature")] == pytest.approx(41.5)
            res = await src.perform(SetSetpoint("tank_max_temp", 70.5))
            assert res.ok and res.readback == pytest.approx(70.5)
        finally:
            await src.close()
            await server.stop()

    asyncio.run(go())
    assert calls == [("heat1", "tank_max_temp", pytest.approx(70.5))]
