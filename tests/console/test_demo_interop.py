"""The running demo site through heatrack's real clients: every device answers over its
protocol, values agree with the model's views, control writes reach the model, faults show
on the wire. The model clock is stopped (``clock=False``) so a poll and a view see the same
instant; tests move time with ``runner.advance``."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from console.demo.runner import DemoRunner
from console.secrets import SecretError, resolve
from console.site import device_spec, parse_site
from protocols.base import Credentials, DeviceSpec, Reading, SetOutlet, SetPowerLimit, Unreachable
from protocols.modbus.client import ModbusSource
from protocols.redfish.client import RedfishSource
from protocols.snmp.client import SnmpSource
from tests.support import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def runner() -> Iterator[DemoRunner]:
    with DemoRunner(seed=3, clock=False) as r:
        yield r


def run(coro_fn: Any) -> Any:
    return asyncio.run(coro_fn())


def poll(src: Any) -> dict[str, Any]:
    async def go() -> list[Reading]:
        try:
            return await src.poll()
        finally:
            await src.close()
    return {f"{r.channel}/{r.quantity}": r.value for r in run(go) if r.quantity != "alarm"}


def spec_of(runner: DemoRunner, device_id: str, **changes: Any) -> DeviceSpec:
    dev = runner.site_model().device(device_id)
    spec = device_spec(dev, runner.resolve(dev.credentials))
    return DeviceSpec(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__}, **changes})


def test_site_file_validates_and_points_at_the_live_ports(runner: DemoRunner) -> None:
    text = runner.site_toml()
    site = parse_site(text, "<demo>")
    assert {d.id for d in site.devices} == set(runner.views())
    addrs = runner.addresses()
    for d in site.devices:
        if d.protocol != "nvml":
            assert d.address == addrs[d.id]
        assert d.credentials is None or d.credentials.startswith("demo:")
        resolve(d.credentials, demo=runner.credentials)  # every reference resolves
    assert {o.device for o in site.power_path.outlets} == {s.id for s in runner.config.servers}
    with pytest.raises(SecretError, match="no demo credentials"):
        resolve("demo:nope", demo=runner.credentials)


def test_every_device_answers_through_the_engine_sources(runner: DemoRunner) -> None:
    site = runner.site_model()
    got = {d.id: poll(runner.source_factory(spec_of(runner, d.id))) for d in site.devices}
    views = runner.views()
    for sid in ("srv1", "srv2", "srv3"):
        v, g = views[sid], got[sid]
        assert g["inlet/temperature"] == pytest.approx(v.inlet_c, abs=0.1)
        assert g["exhaust/temperature"] == pytest.approx(v.exhaust_c, abs=0.1)
        assert g["chassis/power"] == pytest.approx(v.chassis_power_w, abs=1)
        assert g["supply/temperature"] == pytest.approx(v.coolant_supply_c, abs=0.1)
        assert g["return/temperature"] == pytest.approx(v.coolant_return_c, abs=0.1)
        assert g["supply/flow"] == pytest.approx(v.coolant_flow_lpm, abs=0.01)
        heat = v.coolant_flow_lpm / 60 * 4186 * (v.coolant_return_c - v.coolant_supply_c)
        assert g["coolant/thermal_power"] == pytest.approx(heat, rel=0.05, abs=5)
        # Sensors quoted by excerpts are not read twice under other names.
        assert not [k for k in g if k.startswith("coolant_")]
        for gpu in v.gpus:
            assert g[f"gpu{gpu.index}/temperature"] == pytest.approx(gpu.temperature_c, abs=0.5)
            assert g[f"gpu{gpu.index}/power"] == pytest.approx(gpu.power_w, abs=1)
    host = views["gpuhost"]
    for gpu in host.gpus:
        assert got["gpuhost"][f"gpu{gpu.index}/power"] == pytest.approx(gpu.power_w, abs=0.01)
        assert got["gpuhost"][f"gpu{gpu.index}/temperature"] == pytest.approx(gpu.temperature_c, abs=1)
    ups = views["ups1"]
    assert got["ups1"]["ups/state"] == "online"
    assert got["ups1"]["battery/charge"] == pytest.approx(ups.battery_charge_pct, abs=1)
    assert got["ups1"]["output/power"] == pytest.approx(ups.output_power_w, abs=1)
    pdu = views["pdu1"]
    assert got["pdu1"]["total/power"] == pytest.approx(pdu.power_w, abs=10)
    for o in pdu.outlets:
        assert got["pdu1"][f"outlet{o.number}/state"] == ("on" if o.on else "off")
        assert got["pdu1"][f"outlet{o.number}/power"] == pytest.approx(o.power_w, abs=1)
    pts = views["heat1"].points
    assert got["heat1"]["tank_top/temperature"] == pytest.approx(pts["tank_top_temp"], abs=0.1)
    assert got["heat1"]["supply/temperature"] == pytest.approx(pts["supply_temp"], abs=0.1)
    assert got["heat1"]["loop/flow"] == pytest.approx(pts["flow"], abs=0.1)


@pytest.mark.parametrize("device", ["ups1", "pdu1"])
@pytest.mark.parametrize("creds", ["snmp-ro", "snmp-v3"])
def test_snmp_v2c_and_v3_with_detected_profiles(runner: DemoRunner, device: str, creds: str) -> None:
    c = runner.credentials(creds)
    assert runner.site_model().device(device).profile is None  # the site file relies on detection
    src = SnmpSource(spec_of(runner, device, credentials=c,
                             options={"version": "3" if c.username else "2c"}))
    got = poll(src)
    assert src.profile is not None
    assert src.profile.name == {"ups1": "ups-mib", "pdu1": "apc-rpdu2"}[device]
    if device == "ups1":
        assert got["output/power"] == pytest.approx(runner.ups_view().output_power_w, abs=1)
    else:
        assert got["total/power"] == pytest.approx(runner.pdu_view().power_w, abs=10)


def test_power_limit_round_trip_through_redfish(runner: DemoRunner) -> None:
    v = runner.server_view("srv1")
    watts = round((v.power_limit_min_w + v.power_limit_max_w) / 2)
    src = RedfishSource(spec_of(runner, "srv1"))

    async def go() -> Any:
        try:
            return await src.perform(SetPowerLimit(watts))
        finally:
            await src.close()
    result = run(go)
    assert result.ok and result.readback == pytest.approx(watts)
    assert runner.server_view("srv1").power_limit_w == pytest.approx(watts)
    runner.advance(600)
    assert runner.server_view("srv1").chassis_power_w <= watts * 1.02  # the model obeys
    got = poll(RedfishSource(spec_of(runner, "srv1")))
    assert got["chassis/power_limit"] == pytest.approx(watts)


def test_outlet_off_through_snmp_cuts_the_server(runner: DemoRunner) -> None:
    outlet = next(s.outlet for s in runner.config.servers if s.id == "srv1")
    assert runner.server_view("srv1").chassis_power_w > 0
    src = SnmpSource(spec_of(runner, "pdu1"))  # the site's pdu1 credentials: demo-rw

    async def go() -> Any:
        try:
            return await src.perform(SetOutlet(outlet, "off"))
        finally:
            await src.close()
    result = run(go)
    assert (result.ok, result.readback) == (True, "off")
    runner.advance(60)
    v = runner.server_view("srv1")
    assert (v.powered, v.chassis_power_w) == (False, 0.0)
    assert poll(SnmpSource(spec_of(runner, "pdu1")))[f"outlet{outlet}/power"] == 0


def test_bmc_unreachable_times_out_the_redfish_client(runner: DemoRunner) -> None:
    sid = runner.config.fault_server
    assert poll(RedfishSource(spec_of(runner, sid, timeout_s=1.0)))  # answers before the fault
    runner.inject("bmc-unreachable")
    src = RedfishSource(spec_of(runner, sid, timeout_s=1.0))
    t0 = time.monotonic()
    with pytest.raises(Unreachable, match=sid):
        poll(src)
    assert time.monotonic() - t0 < 1.0 * 3 + 1  # bounded by the client's timeout
    others = [s.id for s in runner.config.servers if s.id != sid]
    assert poll(RedfishSource(spec_of(runner, others[0])))  # the others keep answering


def test_ups_on_battery_shows_over_snmp(runner: DemoRunner) -> None:
    runner.inject("ups-on-battery")
    runner.advance(120)
    got = poll(SnmpSource(spec_of(runner, "ups1")))
    assert got["ups/state"] == "on_battery"
    assert got["battery/charge"] == pytest.approx(runner.ups_view().battery_charge_pct, abs=1)
    assert got["battery/charge"] < 100


def test_tank_sensor_stuck_freezes_the_modbus_value(runner: DemoRunner) -> None:
    runner.inject("tank-sensor-stuck")
    runner.advance(60)
    before = poll(ModbusSource(spec_of(runner, "heat1")))["tank_top/temperature"]
    truth0 = runner.site.plant.t_top
    runner.advance(4 * 3600)
    truth1 = runner.site.plant.t_top
    after = poll(ModbusSource(spec_of(runner, "heat1")))["tank_top/temperature"]
    assert abs(truth1 - truth0) > 0.5  # the water moved on...
    assert after == pytest.approx(before, abs=0.05)  # ...the sensor did not


def test_clock_steps_the_model_and_fires_scheduled_faults() -> None:
    fired: list[tuple[str, float]] = []
    with DemoRunner(speed=600, faults=[("ups-on-battery", 120)], tick_s=0.05) as r:
        r.on_fault(lambda name, epoch: fired.append((name, epoch)))
        t0 = r.sim_time
        wait_until(lambda: fired, timeout=10, what="the scheduled fault")
        assert fired[0][0] == "ups-on-battery"
        assert fired[0][1] == pytest.approx(r.site.start_epoch + 120, abs=1)
        assert r.sim_time > t0
        assert r.ups_view().on_battery


def test_demo_credentials_are_the_documented_ones() -> None:
    assert DemoRunner.credentials("bmc") == Credentials(username="admin", password="heatrack-demo")
    assert DemoRunner.credentials("snmp-ro").community == "demo-ro"
    assert DemoRunner.credentials("snmp-rw").community == "demo-rw"
    v3 = DemoRunner.credentials("snmp-v3")
    assert (v3.username, v3.auth_protocol, v3.priv_protocol) == ("heatrack", "SHA", "AES")


def test_redfish_over_https_pins_the_demo_certificate() -> None:
    with DemoRunner(tls=True, clock=False) as r:
        site = r.site_model()
        assert site.device("srv1").tls
        src = RedfishSource(spec_of(r, "srv1"))
        got = poll(src)
        assert got["chassis/power"] == pytest.approx(r.server_view("srv1").chassis_power_w, abs=1)
        assert src.pins.get(src.pin_key) == r.redfish["srv1"].certificate_fingerprint


def test_demo_heat_controller_with_plain_pymodbus_reads(runner: DemoRunner) -> None:
    """Issue #4 item 6: read the demo controller with pymodbus alone and the register map as
    written in the profile file (tomllib), not through heatrack's Modbus client."""
    import tomllib

    from pymodbus.client import AsyncModbusTcpClient

    from tests.support import REPO

    points = tomllib.loads((REPO / "resources/profiles/heat/heatrack-default.toml").read_text())["points"]
    host, port = runner.site_model().device("heat1").address.split(":")
    runner.advance(600)  # let the plant move away from its initial state

    async def read() -> dict[str, float]:
        client = AsyncModbusTcpClient(host, port=int(port), timeout=2, retries=1)
        await client.connect()
        try:
            rr = await client.read_input_registers(0, count=19, device_id=1)
            assert not rr.isError(), rr
            regs = rr.registers
            dt = client.DATATYPE
            out = {}
            for name in ("supply_temp", "return_temp", "tank_top_temp", "outdoor_temp"):
                p = points[name]
                out[name] = client.convert_from_registers(regs[p["address"]:p["address"] + 1], dt.INT16) * p["scale"]
            p = points["flow"]
            out["flow"] = client.convert_from_registers(regs[p["address"]:p["address"] + 2], dt.FLOAT32)
            p = points["thermal_power"]
            out["thermal_power"] = client.convert_from_registers(regs[p["address"]:p["address"] + 2], dt.FLOAT32)
            return out
        finally:
            client.close()

    got = asyncio.run(read())
    truth = runner.heat_view().points  # the fixture's clock is stopped: the plant holds still
    for name in ("supply_temp", "return_temp", "tank_top_temp", "outdoor_temp", "flow"):
        assert got[name] == pytest.approx(truth[name], abs=0.1), name
    assert got["thermal_power"] == pytest.approx(truth["thermal_power"], rel=1e-3, abs=1)


def test_demo_heat_controller_identity(runner: DemoRunner) -> None:
    src = ModbusSource(spec_of(runner, "heat1"))

    async def go() -> dict[str, str]:
        try:
            return await src.identity()
        finally:
            await src.close()

    ident = run(go)
    expected = runner.heat_view().identity
    assert ident["model"] == expected["model"] and ident["serial"] == expected["serial"]
    assert float(ident["firmware_version"]) == pytest.approx(float(expected["firmware_version"]))
