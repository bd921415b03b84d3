"""Modbus identity: Read Device Identification (43/14) from the demo heat controller and from
pymodbus' own simulator (an independent peer configured with an identity), identity registers,
the profile's declared [identity], and a hostile answer."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pymodbus.pdu.device import ModbusControlBlock

from protocols.base import DeviceSpec, Identity
from protocols.demo_views import HeatControllerView
from protocols.modbus.client import ModbusSource, identity_from
from protocols.modbus.profile import ProfileError, load_profile, parse_profile
from protocols.modbus.server import HeatControllerServer
from tests.fakes.modbus_sim import simulator

DEMO_IDENTITY: dict[str, str | float] = {"model": "HR-DEMO1", "serial": "HR000042", "firmware_version": 1.02}


def spec(port: int, profile: str | Path = "heatrack-default") -> DeviceSpec:
    return DeviceSpec(id="hc1", kind="heat_controller", protocol="modbus", address=f"127.0.0.1:{port}",
                      profile=str(profile), timeout_s=2.0)


async def identify(src: ModbusSource) -> Identity:
    try:
        await src.poll()
        return await src.identify()
    finally:
        await src.close()


class Control:
    def heat_write(self, controller_id: str, point: str, value: Any) -> None: ...


def serve_demo(view: HeatControllerView, profile: Any = "heatrack-default") -> Identity:
    async def go() -> Identity:
        server = HeatControllerServer.for_view(lambda: view, Control(), profile=profile)  # type: ignore[arg-type]
        port = await server.start()
        try:
            return await identify(ModbusSource(spec(port), load_profile("heatrack-default")))
        finally:
            await server.stop()

    return asyncio.run(go())


def test_demo_controller_answers_43_14_and_its_registers() -> None:
    view = HeatControllerView("heat1", {"supply_temp": 45.0}, dict(DEMO_IDENTITY))
    ident = serve_demo(view)
    assert ident.manufacturer == "heatrack"  # VendorName
    assert ident.model == "HR-DEMO1"  # ModelName (ProductCode says the same)
    assert ident.firmware == "1.02"  # MajorMinorRevision
    assert ident.serial == "HR000042"  # only the registers carry it
    assert dict(ident.extra)["product_name"] == "heatrack reference heat-reuse controller"


def test_registers_and_declared_identity_where_43_14_is_not_offered(tmp_path: Path) -> None:
    """A profile without device_identification sends no 43/14; the map file's [identity] fills
    what the registers do not say."""
    text = (Path(load_profile("heatrack-default").path or "").read_text()
            .replace("device_identification = true", "device_identification = false")
            + '\n[identity]\nmanufacturer = "ACME Controls"\nmodel = "from the file"\n')
    prof_path = tmp_path / "acme.toml"
    prof_path.write_text(text)
    prof = load_profile(prof_path)
    assert not prof.device_identification and prof.identity["manufacturer"] == "ACME Controls"
    view = HeatControllerView("heat1", {"supply_temp": 45.0}, dict(DEMO_IDENTITY))

    async def go() -> Identity:
        server = HeatControllerServer.for_view(lambda: view, Control(), profile=prof)  # type: ignore[arg-type]
        port = await server.start()
        try:
            return await identify(ModbusSource(spec(port, prof_path), prof))
        finally:
            await server.stop()

    ident = asyncio.run(go())
    assert ident.manufacturer == "ACME Controls"  # declared: nothing on the wire says it
    assert ident.model == "HR-DEMO1"  # the register wins over the file
    assert (ident.serial, ident.firmware) == ("HR000042", "1.02")


def test_a_blank_43_14_answer_invents_nothing() -> None:
    """pymodbus answers 43/14 from one control block per process; a server without an
    identification answers empty objects: nothing is invented."""
    view = HeatControllerView("heat1", {"supply_temp": 45.0}, {"model": "M2", "serial": "S2", "firmware_version": 2.5})

    async def go() -> Identity:
        server = HeatControllerServer(load_profile("heatrack-default"), lambda: {**view.identity, **view.points},
                                      lambda n, v: None)
        server.identification = {}
        ModbusControlBlock().Identity.update({i: "" for i in range(7)})  # a blank control block
        port = await server.start()
        try:
            return await identify(ModbusSource(spec(port)))
        finally:
            await server.stop()

    ident = asyncio.run(go())
    assert (ident.manufacturer, ident.model, ident.serial, ident.firmware) == (None, "M2", "S2", "2.5")


@pytest.mark.slow
def test_pymodbus_simulator_identity(tmp_path: Path) -> None:
    prof = load_profile("heatrack-default")
    values = {"supply_temp": 45.0, "model": "HR-SIM", "serial": "SN0042", "firmware_version": 1.04}
    identity = {"VendorName": "Pymodbus Sim Ltd", "ProductCode": "PSIM-7", "MajorMinorRevision": "3.16",
                "ProductName": "simulated controller"}
    with simulator(tmp_path, prof, values, identity=identity) as port:
        ident = asyncio.run(identify(ModbusSource(spec(port), prof)))
    assert (ident.manufacturer, ident.model, ident.firmware) == ("Pymodbus Sim Ltd", "PSIM-7", "3.16")
    assert ident.serial == "SN0042"  # 43/14 has no serial: the registers say it
    assert dict(ident.extra)["product_name"] == "simulated controller"


def test_identity_from_precedence_and_hostile_text() -> None:
    mei = {0: "Vendor\x1b[31m", 1: "PC-1", 2: "1.0", 5: "Model " + "Z" * 10_000}
    ident = identity_from(mei, {"serial": "S\r\n1", "model": "reg-model", "hw_rev": "B"}, {"manufacturer": "File"})
    assert ident.manufacturer == "Vendor\\x1b[31m"  # the device's answer wins over the file, escaped
    assert ident.model is not None and len(ident.model) == 128 and ident.model.startswith("Model ZZ")
    assert ident.serial == "S\\r\\n1"
    assert dict(ident.extra) == {"product_code": "PC-1", "hw_rev": "B"}
    assert identity_from({}, {}, {}) == Identity() and Identity().empty


def test_profile_identity_keys_are_checked() -> None:
    base = {"points": {"t": {"table": "input", "address": 0, "type": "int16", "quantity": "temperature",
                             "unit": "degC"}}}
    with pytest.raises(ProfileError, match="unknown key 'colour'"):
        parse_profile({**base, "identity": {"colour": "red"}})
    with pytest.raises(ProfileError, match="non-empty text"):
        parse_profile({**base, "identity": {"model": 3}})
    with pytest.raises(ProfileError, match="device_identification must be true or false"):
        parse_profile({**base, "profile": {"device_identification": "yes"}})
    assert load_profile("heatrack-default").device_identification
    assert not load_profile("generic-heat-meter").device_identification
