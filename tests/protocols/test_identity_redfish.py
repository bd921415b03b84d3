"""Redfish identity: the DMTF mockups served by sushy-static (software nobody here wrote), the
demo BMC, and a hostile BMC. Expected values are read from the mockup JSON files."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.base import Identity, Reading
from protocols.redfish.client import RedfishSource
from protocols.redfish.server import DemoRedfishService
from protocols.redfish.server_resources import BIOS_VERSION, BMC_FIRMWARE, BMC_MODEL
from tests.fakes.bmc import FakeBmc, tree
from tests.fakes.bmc import spec as fake_spec
from tests.fakes.redfish_model import PASSWORD, USER, FakeModel
from tests.fakes.sushy import Sushy, load, spec

pytestmark = pytest.mark.slow


def poll_and_identify(address: str, **options: Any) -> tuple[RedfishSource, list[Reading], Identity]:
    async def go() -> tuple[RedfishSource, list[Reading], Identity]:
        src = RedfishSource(spec(address, **options))
        try:
            return src, await src.poll(), await src.identify()
        finally:
            await src.close()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def mockups(peers_dir: Path) -> Path:
    return peers_dir / "redfish" / "mockups"


@pytest.mark.parametrize("name, system, chassis", [
    ("public-localstorage", "Systems/437XR1138R2", "Chassis/1U"),
    ("public-liquid-cooled-server", "Systems/437XR1138R2", "Chassis/1U"),
    ("public-tower", "Systems/437XR1238R2", "Chassis/Tower"),
])
def test_dmtf_mockups_system_and_bmc(mockups: Path, tmp_path: Path, name: str, system: str, chassis: str) -> None:
    sushy = Sushy(mockups / name, tmp_path / "sushy.log")
    try:
        src, readings, ident = poll_and_identify(sushy.address)
        sys_uri, chassis_uri = f"/redfish/v1/{system}", f"/redfish/v1/{chassis}"
        # discovery's payloads are reused: the system and chassis were read once, by discovery
        assert sushy.gets(sys_uri) == 1 and sushy.gets(chassis_uri) == 1
        assert sushy.gets("/redfish/v1/Managers/BMC") == 1
    finally:
        sushy.stop()
    sys_json, box, bmc = load(mockups / name, system), load(mockups / name, chassis), load(mockups / name, "Managers/BMC")
    assert readings
    assert ident.manufacturer == sys_json["Manufacturer"] == "Contoso"
    assert ident.model == sys_json["Model"]
    assert ident.serial == sys_json["SerialNumber"]
    assert ident.firmware == bmc["FirmwareVersion"]  # the BMC's firmware ...
    extra = dict(ident.extra)
    assert extra["bios_version"] == sys_json["BiosVersion"]  # ... and the host's BIOS beside it
    assert extra["part_number"] == sys_json["PartNumber"] and extra["sku"] == sys_json["SKU"]
    assert extra["bmc_model"] == bmc["Model"] == "Joo Janta 200"
    if box["Model"] != sys_json["Model"]:
        assert extra["chassis_model"] == box["Model"]  # 3500 in a 3500TX tower
    else:
        assert "chassis_model" not in extra


def test_a_second_identify_reads_again(mockups: Path, tmp_path: Path) -> None:
    """After a reconnect the engine asks again: the answer must be read anew, not remembered."""
    sushy = Sushy(mockups / "public-localstorage", tmp_path / "sushy.log")
    try:
        async def go() -> tuple[Identity, Identity]:
            src = RedfishSource(spec(sushy.address))
            try:
                await src.poll()
                return await src.identify(), await src.identify()
            finally:
                await src.close()

        first, second = asyncio.run(go())
        assert first == second and first.serial == "437XR1138R2"
        assert sushy.gets("/redfish/v1/Systems/437XR1138R2") == 2
    finally:
        sushy.stop()


def test_cooling_unit_without_a_system_uses_its_chassis(mockups: Path, tmp_path: Path) -> None:
    sushy = Sushy(mockups / "public-cooling-unit", tmp_path / "sushy.log")
    try:
        async def go() -> Identity:
            src = RedfishSource(spec(sushy.address))
            try:
                return await src.identify()  # before any poll: discovers, then identifies
            finally:
                await src.close()

        ident = asyncio.run(go())
    finally:
        sushy.stop()
    box, cdu = load(mockups / "public-cooling-unit", "Chassis/CDU"), load(mockups / "public-cooling-unit", "Managers/CDU")
    assert (ident.manufacturer, ident.model, ident.serial) == (box["Manufacturer"], box["Model"], box["SerialNumber"])
    assert ident.firmware == cdu["FirmwareVersion"] == "1.20b"
    assert dict(ident.extra)["part_number"] == "BRRR22" and "bios_version" not in dict(ident.extra)


@pytest.fixture
def demo_bmc() -> Iterator[tuple[DemoRedfishService, FakeModel]]:
    model = FakeModel()
    with DemoRedfishService(model.view, model, username=USER, password=PASSWORD) as svc:
        yield svc, model


def test_demo_bmc_serves_a_plausible_identity(demo_bmc: tuple[DemoRedfishService, FakeModel]) -> None:
    svc, model = demo_bmc
    view = model.view()

    async def go() -> Identity:
        src = RedfishSource(fake_spec(svc.url.split("//", 1)[1], password=PASSWORD))
        try:
            await src.poll()
            return await src.identify()
        finally:
            await src.close()

    ident = asyncio.run(go())
    assert (ident.manufacturer, ident.model, ident.serial) == ("heatrack demo", view.model, view.serial)
    assert ident.firmware == BMC_FIRMWARE
    assert dict(ident.extra)["bios_version"] == BIOS_VERSION and dict(ident.extra)["bmc_model"] == BMC_MODEL


def test_hostile_identity_is_cut_and_escaped() -> None:
    res = tree()
    box = res["/redfish/v1/Chassis/1"]
    box["Model"] = "M" * 1_000_000  # a 1 MB model name
    box["SerialNumber"] = "SN\x1b[2J\x07\r\nrm -rf"  # terminal escapes, bell, a fake second line
    box["Manufacturer"] = {"not": "text"}
    box["PartNumber"] = ["a", "list"]
    bmc = FakeBmc(res)
    try:
        async def go() -> Identity:
            src = RedfishSource(fake_spec(bmc.address))
            try:
                await src.poll()
                return await src.identify()
            finally:
                await src.close()

        ident = asyncio.run(go())
    finally:
        bmc.close()
    assert ident.model is not None and len(ident.model) == 128 and ident.model.endswith("…")
    assert ident.serial is not None and "\x1b" not in ident.serial and "\n" not in ident.serial
    assert ident.serial.startswith("SN\\x1b[2J") and ident.serial.isprintable()
    assert ident.manufacturer is None  # an object is not a name
    assert ident.firmware is None and "part_number" not in dict(ident.extra)  # no Managers: unknown
