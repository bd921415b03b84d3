"""ModbusSource against pymodbus' own simulator (the `pymodbus.simulator` console script, code
nobody here wrote) and against failure peers: closed port, exception answers, garbage.

Simulator values are encoded here with struct / the simulator's own float32/uint32 types, not
with the profile codec, so a word-order mistake in the client shows up."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from protocols.base import (
    QUANTITY_UNITS,
    Action,
    ActionRefused,
    ActionResult,
    BadData,
    DeviceSpec,
    Reading,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    Source,
    Unreachable,
    UpsSelfTest,
)
from protocols.modbus.client import ModbusSource, split_address
from protocols.modbus.profile import load_profile, thermal_power_w
from tests.fakes.modbus_sim import simulator
from tests.support import free_port

# ---------------------------------------------------------------- tests
DEFAULT_VALUES = {
    "supply_temp": 45.67, "return_temp": 38.12, "tank_top_temp": 61.3, "tank_mid_temp": 52.4,
    "tank_bottom_temp": 40.9, "outdoor_temp": 7.5, "room_temp": 20.8, "flow": 12.75,
    "thermal_power": 3456.5, "thermal_energy": 1234.56, "dump_power": 250.0, "valve_position": 42.5,
    "bypass_position": 0.0, "alarm_word": 0b00110, "valve_setpoint": 42.5, "bypass_command": 0.0,
    "supply_setpoint": 55.5, "tank_max_temp": 80.0, "pump_on": True,
    "firmware_version": 1.04, "model": "HR-SIM", "serial": "SN0042",
}


def _spec(port: int, profile: str = "heatrack-default", timeout: float = 2.0) -> DeviceSpec:
    return DeviceSpec(id="hc1", kind="heat_controller", protocol="modbus",
                      address=f"127.0.0.1:{port}", profile=profile, timeout_s=timeout)


def _by_key(readings: list[Reading]) -> dict[tuple[str, str], Reading]:
    out = {(r.channel, r.quantity): r for r in readings}
    assert len(out) == len(readings), "two readings for one series"
    return out


async def _poll_and_close(src: ModbusSource) -> list[Reading]:
    try:
        return await src.poll()
    finally:
        await src.close()


@pytest.mark.slow
@pytest.mark.parametrize("gaps", [True, False], ids=["contiguous", "gaps-undefined"])
def test_default_profile_against_pymodbus_simulator(tmp_path: Path, gaps: bool) -> None:
    prof = load_profile("heatrack-default")
    with simulator(tmp_path, prof, DEFAULT_VALUES, define_gaps=gaps) as port:
        src = ModbusSource(_spec(port))

        async def go() -> tuple[list[Reading], dict[str, str]]:
            try:
                return await src.poll(), await src.identity()
            finally:
                await src.close()

        readings, ident = asyncio.run(go())
    got = _by_key(readings)
    for name, value in DEFAULT_VALUES.items():
        p = prof.point(name)
        if p.identity or p.bits:
            continue
        r = got[(p.channel, p.quantity)]
        assert r.device_id == "hc1" and r.unit == QUANTITY_UNITS[p.quantity]
        if isinstance(value, bool):
            assert r.value == ("on" if value else "off")
        else:
            assert r.value == pytest.approx(value, abs=p.scale / 2 + 1e-4), name
    alarms = {ch: r.value for (ch, q), r in got.items() if q == "alarm"}
    want = {n: ("active" if DEFAULT_VALUES["alarm_word"] >> b & 1 else "clear")
            for b, n in prof.point("alarm_word").bits.items()}
    assert alarms == want
    assert ident == {"firmware_version": "1.04", "model": "HR-SIM", "serial": "SN0042"}


@pytest.mark.slow
def test_heat_meter_low_word_first_and_computed_power(tmp_path: Path) -> None:
    prof = load_profile("generic-heat-meter")
    values = {"supply_temp": 45.5, "return_temp": 38.0, "flow": 0.35, "thermal_energy": 12.345,
              "info_code": 0b10, "serial_number": 7788}
    with simulator(tmp_path, prof, values) as port:
        readings = asyncio.run(_poll_and_close(ModbusSource(_spec(port, "generic-heat-meter"))))
    got = _by_key(readings)
    assert got[("supply", "temperature")].value == pytest.approx(45.5)
    assert got[("return", "temperature")].value == pytest.approx(38.0)
    assert got[("loop", "flow")].value == pytest.approx(0.35 * 1000 / 60)  # m³/h -> L/min
    assert got[("loop", "thermal_energy")].value == pytest.approx(12345.0)  # MWh -> kWh
    power = got[("loop", "thermal_power")]
    assert power.unit == "W"
    assert power.value == pytest.approx(thermal_power_w(0.35 * 1000 / 60, 45.5, 38.0))
    assert power.value == pytest.approx(3020, rel=0.01)  # notes §6 worked example
    assert got[("low_flow", "alarm")].value == "active" and got[("leak", "alarm")].value == "clear"


@pytest.mark.slow
def test_write_and_read_back_on_simulator(tmp_path: Path) -> None:
    prof = load_profile("heatrack-default")

    async def go(port: int) -> list[ActionResult]:
        src = ModbusSource(_spec(port))
        try:
            out = [await src.perform(SetSetpoint("supply_setpoint", 61.25)),  # float32, FC16
                   await src.perform(SetValve(33.33)),  # uint16 ×0.01, FC6
                   await src.perform(SetPump(False))]  # coil, FC5
            got = _by_key(await src.poll())
            assert got[("supply", "setpoint")].value == pytest.approx(61.25)
            assert got[("valve_setpoint", "valve_position")].value == pytest.approx(33.33)
            assert got[("pump", "state")].value == "off"
            return out
        finally:
            await src.close()

    with simulator(tmp_path, prof, DEFAULT_VALUES) as port:
        results = asyncio.run(go(port))
    assert [r.ok for r in results] == [True, True, True], results
    assert results[0].readback == pytest.approx(61.25) and results[2].readback == "off"
    assert [(r.action, r.target) for r in results] == \
        [("set_setpoint", "supply_setpoint"), ("set_valve", "valve"), ("set_pump", "pump")]


@pytest.mark.slow
def test_exception_answer_is_bad_data(tmp_path: Path) -> None:
    prof = load_profile("heatrack-default")
    other = load_profile("generic-heat-meter")  # reads input 0..8, the simulator defines 0..2 only
    small = {n: p for n, p in prof.points.items() if p.table == "input" and p.address < 3}
    tiny = dataclasses.replace(prof, points=small)
    with simulator(tmp_path, tiny, {"supply_temp": 40.0}) as port:
        with pytest.raises(BadData, match=r"hc1 \(127\.0\.0\.1:\d+\).*exception 2 \(illegal data address\)"):
            asyncio.run(_poll_and_close(ModbusSource(_spec(port, "generic-heat-meter"), other)))


@pytest.mark.parametrize("action, needle", [
    (SetSetpoint("supply_setpoint", 71.0), "outside 30..70"),
    (SetSetpoint("supply_setpoint", float("nan")), "finite"),
    (SetValve(-0.5), "0 to 100"), (SetBypass(100.5), "0 to 100"),
    (SetSetpoint("supply_temp", 40.0), "not a writable setpoint"),
    (SetSetpoint("valve_setpoint", 40.0), "not a writable setpoint"),
    (SetPump("maybe"), "on \\(True\\) or off"), (SetPump(1), "on \\(True\\) or off"),
    (SetSetpoint("no_such_point", 1), "no point"),
    (SetPowerLimit(500), "takes SetSetpoint, SetValve, SetBypass and SetPump"),
    (SetOutlet(1, "off"), "takes SetSetpoint"), (UpsSelfTest(), "takes SetSetpoint"),
    ({"point": "pump_on"}, "not one of the actions"),
])
def test_out_of_bounds_or_unsupported_action_refused_before_sending(action: Action, needle: str) -> None:
    src = ModbusSource(_spec(free_port()))  # nothing listens: any send would fail as Unreachable
    assert isinstance(src, Source)
    with pytest.raises(ActionRefused, match=needle) as info:
        asyncio.run(src.perform(action))
    assert str(info.value).startswith("hc1 (127.0.0.1:")
    if isinstance(action, Action):
        assert action.describe() in str(info.value)
    assert src._client is None  # never connected


def test_a_heat_meter_without_actions_refuses_the_valve() -> None:
    src = ModbusSource(_spec(free_port(), "generic-heat-meter"))
    for action in (SetValve(50), SetBypass(0), SetPump(True)):
        with pytest.raises(ActionRefused, match=f"profile generic-heat-meter names no {action.target} point"):
            asyncio.run(src.perform(action))
    assert src._client is None


def test_unreachable_port_fails_fast() -> None:
    src = ModbusSource(_spec(free_port(), timeout=1.0))
    t0 = time.monotonic()
    with pytest.raises(Unreachable, match=r"hc1 \(127\.0\.0\.1:\d+\): connect"):
        asyncio.run(_poll_and_close(src))
    assert time.monotonic() - t0 < 1.0


def test_garbage_answer_is_bad_data() -> None:
    async def go() -> None:
        async def junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(260):
                    # echo the transaction id, then a frame whose byte count lies
                    writer.write(data[:2] + b"\x00\x00\x00\x05\x01\x04\x09\xff\xff" + b"junkjunk")
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(junk, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(BadData, match="no valid Modbus response"):
                await _poll_and_close(ModbusSource(_spec(port, timeout=0.3)))
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(go())


def test_silent_peer_is_unreachable_within_timeout() -> None:
    async def go() -> float:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.read()
            except (ConnectionError, asyncio.CancelledError):
                pass
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        t0 = time.monotonic()
        try:
            with pytest.raises(Unreachable, match="no response within 0.3s"):
                await _poll_and_close(ModbusSource(_spec(port, timeout=0.3)))
        finally:
            server.close()
        return time.monotonic() - t0

    assert asyncio.run(go()) < 2.5


def test_address_parsing() -> None:
    assert split_address("10.0.0.5:1502") == ("10.0.0.5", 1502)
    assert split_address("plc.local") == ("plc.local", 502)
    assert split_address("[fe80::1]:5020") == ("fe80::1", 5020)
